import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CloseCode, ConnectionCore } from '../../../src/actors/session/connection-core.js';
import { encodeEnvelopeFrame } from '../../../src/protocol/envelope.js';
import { MessageType } from '../../../src/protocol/registry.js';
import { getManifestCodec } from '../../../src/protocol/transfer-messages.js';
import { Pair, T0 } from './pair.js';

/** Arbitrary corruption of a legitimate frame. */
const mutation = (len: number): fc.Arbitrary<(b: Uint8Array) => Uint8Array> =>
  fc.oneof(
    fc.tuple(fc.nat(len - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => (b: Uint8Array) => {
      const c = b.slice();
      c[i] = c[i]! ^ x;
      return c;
    }),
    fc.nat(len).map((n) => (b: Uint8Array) => b.slice(0, n)),
    fc.tuple(fc.nat(len), fc.uint8Array({ maxLength: 64 })).map(([i, junk]) => (b: Uint8Array) => Uint8Array.from([...b.slice(0, i), ...junk, ...b.slice(i)])),
    fc.uint8Array({ maxLength: 600 }).map((junk) => () => junk),
    fc.tuple(fc.nat(len - 5), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([i, junk]) => (b: Uint8Array) => {
      const c = b.slice();
      c.set(junk.subarray(0, Math.min(junk.length, c.length - 4 - i)), 4 + i);
      return c;
    }),
  );

/** Splits bytes into chunks at the given cut points. */
function split(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const pts = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...pts, b.length]) {
    if (p > prev) out.push(b.subarray(prev, p));
    prev = Math.max(prev, p);
  }
  return out;
}

const HANDSHAKE_CLOSES: CloseCode[] = ['handshake-failed', 'handshake-timeout', 'remote-closed'];

function settle(core: ConnectionCore, now: number): { codes: CloseCode[]; established: boolean } {
  const codes: CloseCode[] = [];
  let established = false;
  for (let t = core.pollTransmit(); t !== undefined; t = core.pollTransmit());
  for (let e = core.pollEffect(); e !== undefined; e = core.pollEffect()) {
    if (e.kind === 'close') codes.push(e.reason.code);
    if (e.kind === 'established') established = true;
  }
  void now;
  return { codes, established };
}

/** Feeds chunks, then eof, then the handshake deadline; the core must end established or closed with a typed reason. */
function feedHandshake(core: ConnectionCore, chunks: Uint8Array[], now: number): void {
  const seen: CloseCode[] = [];
  let established = false;
  const collect = (): void => {
    const r = settle(core, now);
    seen.push(...r.codes);
    established ||= r.established;
  };
  for (const c of chunks) {
    core.handle({ kind: 'bytes', data: c }, now);
    collect();
  }
  core.handleTimeout(now + 10_000);
  collect();
  expect(seen.length).toBeLessThanOrEqual(1);
  if (established) expect(['open', 'closed']).toContain(core.state);
  else {
    expect(core.state).toBe('closed');
    expect(HANDSHAKE_CLOSES).toContain(seen[0]);
  }
  expect(core.queuedBytes).toBeLessThan(4_096);
}

describe('fuzz: every handshake step', () => {
  it('ClientHello → responder', () => {
    const ref = new Pair();
    ref.a.core.start(T0);
    const hello = ref.a.core.pollTransmit()!;
    fc.assert(
      fc.property(mutation(hello.length), fc.array(fc.nat(), { maxLength: 4 }), (mutate, cuts) => {
        const p = new Pair();
        p.b.core.start(T0);
        feedHandshake(p.b.core, split(mutate(hello), cuts), T0);
      }),
      { numRuns: 80 },
    );
  });

  it('ServerHello → initiator', () => {
    const ref = new Pair();
    ref.a.core.start(T0);
    ref.b.core.start(T0);
    ref.b.core.handle({ kind: 'bytes', data: ref.a.core.pollTransmit()! }, T0);
    const serverHello = ref.b.core.pollTransmit()!;
    fc.assert(
      fc.property(mutation(serverHello.length), fc.array(fc.nat(), { maxLength: 4 }), (mutate, cuts) => {
        const p = new Pair(); // same seeds: the initiator's nonce matches the recorded ServerHello's echo
        p.a.core.start(T0);
        p.a.core.pollTransmit();
        feedHandshake(p.a.core, split(mutate(serverHello), cuts), T0);
      }),
      { numRuns: 80 },
    );
  });

  it('ClientAck → responder', () => {
    const ref = new Pair().start();
    const ack = ref.a.wire[1]!;
    const hello = ref.a.wire[0]!;
    fc.assert(
      fc.property(mutation(ack.length), fc.array(fc.nat(), { maxLength: 4 }), (mutate, cuts) => {
        const p = new Pair();
        p.b.core.start(T0);
        p.b.core.handle({ kind: 'bytes', data: hello }, T0);
        p.b.core.pollTransmit();
        feedHandshake(p.b.core, split(mutate(ack), cuts), T0);
      }),
      { numRuns: 80 },
    );
  });
});

const ALLOWED_ENVELOPE_CLOSES: CloseCode[] = ['oversize-frame', 'bad-envelope', 'unexpected-response', 'overload', 'truncated-frame', 'remote-closed'];

const envelopeFrame = fc
  .record({
    type: fc.oneof(fc.constantFrom(...Object.values(MessageType)), fc.integer({ min: 0, max: 0xffff })),
    reqId: fc.integer({ min: 0, max: 0xffff_ffff }),
    flags: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
    payload: fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.constant(getManifestCodec.encode({ manifestId: new Uint8Array(32).fill(7) }))),
  })
  .map((e) => encodeEnvelopeFrame(e));

const streamPiece = fc.oneof(
  { weight: 4, arbitrary: envelopeFrame },
  { weight: 2, arbitrary: envelopeFrame.chain((f) => mutation(f.length).map((m) => m(f))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 0xffff_ffff }), fc.uint8Array({ maxLength: 16 })).map(([n, b]) => Uint8Array.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255, ...b])) },
);

describe('fuzz: the frame path after the handshake', () => {
  it('random and mutated frames → only typed closes, never an exception, never unbounded buffering', () => {
    const limits = { maxInboundInFlight: 4, maxBufferedInboundBytes: 8_192, maxQueuedOutboundBytes: 16_384 };
    fc.assert(
      fc.property(
        fc.array(streamPiece, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        fc.boolean(),
        (pieces, cuts, answers, withEof) => {
          const p = new Pair({ b: { limits, responderRequests: 'always' } }).start();
          p.take(p.b, 'established');
          // a couple of our own requests outstanding, so responses can match or not
          p.b.core.request({ type: MessageType.FIND_NODE, payload: new Uint8Array(0) }, p.now);
          p.b.core.request({ type: MessageType.GET_CHUNK, payload: new Uint8Array(0) }, p.now);
          const bytes = Uint8Array.from(pieces.flatMap((x) => [...x]));
          const core = p.b.core;
          const closes: CloseCode[] = [];
          let k = 0;
          const pump = (): void => {
            for (let t = core.pollTransmit(); t !== undefined; t = core.pollTransmit());
            for (let e = core.pollEffect(); e !== undefined; e = core.pollEffect()) {
              if (e.kind === 'close') closes.push(e.reason.code);
              if (e.kind === 'inbound-request' && answers[k++ % Math.max(1, answers.length)]) core.respond(e.id, { payload: new Uint8Array(3) }, p.now);
            }
          };
          for (const c of split(bytes, cuts)) {
            core.handle({ kind: 'bytes', data: c }, p.now);
            pump();
            if (core.state !== 'closed') {
              expect(core.bufferedInboundBytes).toBeLessThanOrEqual(limits.maxBufferedInboundBytes);
              expect(core.inboundInFlight).toBeLessThanOrEqual(limits.maxInboundInFlight);
              expect(core.queuedBytes).toBeLessThanOrEqual(limits.maxQueuedOutboundBytes + 2 * 1024 * 1024);
            }
          }
          if (withEof) core.handle({ kind: 'eof' }, p.now);
          core.handleTimeout(p.now + 60_000);
          pump();
          core.handleTimeout(p.now + 120_000);
          pump();
          expect(closes.length).toBeLessThanOrEqual(1);
          for (const c of closes) expect([...ALLOWED_ENVELOPE_CLOSES, 'request-stalled', 'frame-timeout', 'local']).toContain(c);
        },
      ),
      { numRuns: 200 },
    );
  });
});
