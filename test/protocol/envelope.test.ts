import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, ScpError } from '../../src/errors.js';
import {
  CborWriter,
  decodeEnvelope,
  encodeEnvelope,
  encodeEnvelopeFrame,
  errorEnvelope,
  errorText,
  FLAG_ERROR,
  FLAG_RESPONSE,
  isError,
  isResponse,
  MAX_ENVELOPE_PAYLOAD_BYTES,
  responseEnvelope,
} from '../../src/protocol/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function rawEnvelope(entries: [string, (w: CborWriter) => void][]): Uint8Array {
  const w = new CborWriter();
  w.map(entries.length);
  for (const [k, f] of entries) {
    w.text(k);
    f(w);
  }
  return w.finish();
}

describe('envelope', () => {
  it('flags and helpers', () => {
    expect(FLAG_RESPONSE).toBe(1);
    expect(FLAG_ERROR).toBe(2);
    const e = errorEnvelope(500, 9, 'chunk not found');
    expect(e.flags).toBe(3);
    expect(isError(e) && isResponse(e)).toBe(true);
    expect(errorText(e)).toBe('chunk not found');
    const r = responseEnvelope(501, 9, new Uint8Array([1]));
    expect(r.flags).toBe(1);
    expect(isError(r)).toBe(false);
    expect(responseEnvelope(202, 1).payload.length).toBe(0);
  });

  it('decoded payload is a zero-copy view of the input', () => {
    const payload = new Uint8Array(256 * 1024).fill(7);
    const bytes = encodeEnvelope({ type: 501, reqId: 10_000, flags: 1, payload });
    const env = decodeEnvelope(bytes);
    expect(env.payload.buffer).toBe(bytes.buffer);
    expect(env.payload.byteOffset + env.payload.length).toBe(bytes.length);
    expect(env.payload).toEqual(payload);
  });

  it('frame encoding is prefix + envelope', () => {
    const env = { type: 101, reqId: 7, flags: 0, payload: new Uint8Array([1, 2, 3]) };
    const f = encodeEnvelopeFrame(env);
    const body = encodeEnvelope(env);
    expect(new DataView(f.buffer).getUint32(0)).toBe(body.length);
    expect(hex(f.subarray(4))).toBe(hex(body));
  });

  it('accepts any key order, ignores unknown keys, accepts an int-array payload', () => {
    const bytes = rawEnvelope([
      ['payload', (w) => w.intArray(new Uint8Array([9, 200]))],
      ['extra', (w) => w.array(1).text('x')],
      ['flags', (w) => w.uint(1)],
      ['req_id', (w) => w.uint(0xffff_ffff)],
      ['type', (w) => w.uint(453)],
    ]);
    expect(decodeEnvelope(bytes)).toEqual({ type: 453, reqId: 0xffff_ffff, flags: 1, payload: new Uint8Array([9, 200]) });
  });

  it('rejects a payload above 1 MiB, missing keys, out-of-range fields, trailing bytes', () => {
    const big = encodeEnvelope({ type: 1, reqId: 1, flags: 0, payload: new Uint8Array(MAX_ENVELOPE_PAYLOAD_BYTES) });
    expect(decodeEnvelope(big).payload.length).toBe(MAX_ENVELOPE_PAYLOAD_BYTES);
    const tooBig = rawEnvelope([
      ['type', (w) => w.uint(1)],
      ['req_id', (w) => w.uint(1)],
      ['flags', (w) => w.uint(0)],
      ['payload', (w) => w.bytes(new Uint8Array(MAX_ENVELOPE_PAYLOAD_BYTES + 1))],
    ]);
    expect(() => decodeEnvelope(tooBig)).toThrow(ProtocolError);
    expect(() => decodeEnvelope(rawEnvelope([['type', (w) => w.uint(1)]]))).toThrow(/Envelope.*missing/);
    const wide = rawEnvelope([
      ['type', (w) => w.uint(70_000)],
      ['req_id', (w) => w.uint(1)],
      ['flags', (w) => w.uint(0)],
      ['payload', (w) => w.bytes(new Uint8Array(0))],
    ]);
    expect(() => decodeEnvelope(wide)).toThrow(/Envelope.type/);
    const ok = encodeEnvelope({ type: 1, reqId: 1, flags: 0, payload: new Uint8Array(0) });
    expect(() => decodeEnvelope(Uint8Array.from([...ok, 0]))).toThrow(ProtocolError);
    expect(() => decodeEnvelope(new Uint8Array(0))).toThrow(ProtocolError);
  });

  it('refuses to encode what the wire cannot carry (local BAD_INPUT)', () => {
    const bad = [
      { type: 65_536, reqId: 1, flags: 0, payload: new Uint8Array(0) },
      { type: 1, reqId: -1, flags: 0, payload: new Uint8Array(0) },
      { type: 1, reqId: 1, flags: 0, payload: new Uint8Array(MAX_ENVELOPE_PAYLOAD_BYTES + 1) },
    ];
    for (const env of bad) {
      const e = (() => {
        try {
          encodeEnvelope(env);
        } catch (x) {
          return x;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(ScpError);
      expect((e as ScpError).code).toBe('BAD_INPUT');
    }
  });

  it('shortest integer heads across boundaries', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 23, 24, 255, 256, 65_535), fc.constantFrom(0, 23, 24, 255, 256, 65_535, 65_536, 0xffff_ffff), (t, r) => {
        const env = { type: t, reqId: r, flags: 0, payload: new Uint8Array(0) };
        expect(decodeEnvelope(encodeEnvelope(env))).toEqual(env);
      }),
    );
  });
});
