/**
 * Properties of every wire codec: decode(encode(x)) = x; u64 fields accept number or bigint with identical
 * bytes; random and mutated bytes only ever give a value or a ProtocolError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { WIRE_CODECS, type MessageCodec } from '../../src/protocol/index.js';
import { MESSAGE_ARBS, withNumberU64s } from './wire-arbitraries.js';

const names = Object.keys(WIRE_CODECS) as (keyof typeof WIRE_CODECS)[];
const codec = (n: string): MessageCodec<unknown> => WIRE_CODECS[n as keyof typeof WIRE_CODECS] as MessageCodec<unknown>;

/** Runs a decoder; anything but a value or a ProtocolError fails the property. */
function decodeOrProtocolError(c: MessageCodec<unknown>, b: Uint8Array): void {
  try {
    c.decode(b);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw new Error(`${c.name} threw ${String(e)} for ${Buffer.from(b).toString('hex')}`);
  }
}

/** A byte-level mutation of a valid encoding. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
);

type Mutation = { kind: 'flip' | 'set' | 'truncate' | 'insert' | 'delete'; at: number; bit?: number; value?: number };

function mutate(b: Uint8Array, ms: Mutation[]): Uint8Array {
  let out = Uint8Array.from(b);
  for (const m of ms) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === 'flip' && out.length) out[at] = out[at]! ^ (1 << m.bit!);
    else if (m.kind === 'set' && out.length) out[at] = m.value!;
    else if (m.kind === 'truncate') out = out.slice(0, at);
    else if (m.kind === 'insert') out = Uint8Array.from([...out.subarray(0, at), m.value!, ...out.subarray(at)]);
    else if (m.kind === 'delete' && out.length) out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + 1)]);
  }
  return out;
}

describe('every wire codec has an arbitrary', () => {
  it('no codec is left untested', () => {
    expect(names.filter((n) => !(n in MESSAGE_ARBS))).toEqual([]);
  });
});

describe.each(names)('%s', (name) => {
  const c = codec(name);
  const arb = MESSAGE_ARBS[name]!;

  it('decode(encode(x)) = x', () => {
    fc.assert(fc.property(arb, (x) => {
      expect(c.decode(c.encode(x))).toEqual(x);
    }), { numRuns: 200 });
  });

  it('u64 fields given as numbers encode identically', () => {
    fc.assert(fc.property(arb, (x) => {
      expect(Buffer.from(c.encode(withNumberU64s(x)))).toEqual(Buffer.from(c.encode(x)));
    }), {
      numRuns: 100,
    });
  });

  it('random bytes give a value or a ProtocolError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => decodeOrProtocolError(c, b)), { numRuns: 300 });
  });

  it('mutated encodings give a value or a ProtocolError', () => {
    fc.assert(
      fc.property(arb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (x, ms) => decodeOrProtocolError(c, mutate(c.encode(x), ms))),
      { numRuns: 300 },
    );
  });
});
