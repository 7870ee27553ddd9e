import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, ScpError } from '../../src/errors.js';
import { encodeFrame, FrameReader, HANDSHAKE_MAX_BYTES, MAX_ENVELOPE_FRAME_BYTES } from '../../src/protocol/index.js';

const concat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

/** Splits `stream` at the given cut points (taken modulo its length). */
function split(stream: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => (stream.length ? c % (stream.length + 1) : 0)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, stream.length]) {
    out.push(stream.subarray(prev, c)); // empty slices are pushed too
    prev = c;
  }
  return out;
}

function readAll(max: number, slices: Uint8Array[]): Uint8Array[] {
  const r = new FrameReader(max);
  const frames: Uint8Array[] = [];
  for (const s of slices) {
    r.push(s);
    for (const f of r.frames()) frames.push(Uint8Array.from(f));
  }
  r.end();
  return frames;
}

describe('encodeFrame', () => {
  it('writes a 4-byte big-endian prefix', () => {
    expect(Buffer.from(encodeFrame(new Uint8Array([0xaa, 0xbb]))).toString('hex')).toBe('00000002aabb');
  });
  it('refuses bodies over the limit', () => {
    expect(() => encodeFrame(new Uint8Array(HANDSHAKE_MAX_BYTES + 1), HANDSHAKE_MAX_BYTES)).toThrow(ScpError);
    expect(encodeFrame(new Uint8Array(HANDSHAKE_MAX_BYTES), HANDSHAKE_MAX_BYTES).length).toBe(HANDSHAKE_MAX_BYTES + 4);
  });
});

describe('FrameReader', () => {
  const frameList = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 });

  it('yields identical frames however the stream is split', () => {
    fc.assert(
      fc.property(frameList, fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
        const stream = concat(frames.map((f) => encodeFrame(f)));
        expect(readAll(1024, split(stream, cuts))).toEqual(frames);
      }),
      { numRuns: 300 },
    );
  });

  it('one byte at a time', () => {
    const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(1000).fill(9)];
    const stream = concat(frames.map((f) => encodeFrame(f)));
    expect(readAll(2048, [...stream].map((b) => Uint8Array.of(b)))).toEqual(frames);
  });

  it('returns a view, not a copy, for a frame inside one pushed slice', () => {
    const stream = concat([encodeFrame(new Uint8Array([1, 2])), encodeFrame(new Uint8Array([3]))]);
    const r = new FrameReader(16);
    r.push(stream);
    const a = r.pull()!;
    const b = r.pull()!;
    expect(a.buffer).toBe(stream.buffer);
    expect(b.buffer).toBe(stream.buffer);
    expect([...a, ...b]).toEqual([1, 2, 3]);
    expect(r.pull()).toBeUndefined();
  });

  it('rejects an oversize prefix before buffering any body', () => {
    for (const max of [HANDSHAKE_MAX_BYTES, MAX_ENVELOPE_FRAME_BYTES]) {
      const r = new FrameReader(max, 'test frame');
      const prefix = new Uint8Array(4);
      new DataView(prefix.buffer).setUint32(0, max + 1);
      r.push(prefix.subarray(0, 3));
      expect(r.partialBytes).toBe(3);
      expect(() => r.push(prefix.subarray(3))).toThrow(ProtocolError);
      expect(r.partialBytes).toBe(0);
      // Dead from now on: more bytes are refused, not buffered.
      expect(() => r.push(new Uint8Array(10))).toThrow(/exceeds/);
      expect(r.partialBytes).toBe(0);
    }
    const huge = new FrameReader();
    expect(() => huge.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toThrow(ProtocolError);
  });

  it('accepts a frame of exactly the limit and keeps only one partial frame', () => {
    const r = new FrameReader(HANDSHAKE_MAX_BYTES);
    const f = encodeFrame(new Uint8Array(HANDSHAKE_MAX_BYTES).fill(1), HANDSHAKE_MAX_BYTES);
    r.push(f.subarray(0, 1000));
    expect(r.partialBytes).toBe(1000);
    expect(r.pull()).toBeUndefined();
    r.push(f.subarray(1000));
    expect(r.pull()!.length).toBe(HANDSHAKE_MAX_BYTES);
    expect(r.partialBytes).toBe(0);
  });

  it('frames completed before a bad prefix can still be pulled', () => {
    const r = new FrameReader(8);
    const bad = Uint8Array.of(0, 0, 0, 9);
    expect(() => r.push(concat([encodeFrame(Uint8Array.of(5)), bad]))).toThrow(ProtocolError);
    expect(r.pull()).toEqual(Uint8Array.of(5));
  });

  it('end() reports a stream that stops inside a frame', () => {
    const r = new FrameReader(16);
    r.push(Uint8Array.of(0, 0, 0, 2, 1));
    expect(() => r.end()).toThrow(ProtocolError);
    const ok = new FrameReader(16);
    ok.push(encodeFrame(Uint8Array.of(1)));
    expect(() => ok.end()).not.toThrow();
  });

  it('random byte streams give frames or a ProtocolError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 10 }), fc.integer({ min: 0, max: 512 }), (s, cuts, max) => {
        const r = new FrameReader(max);
        try {
          for (const part of split(s, cuts)) {
            r.push(part);
            for (const f of r.frames()) expect(f.length).toBeLessThanOrEqual(max);
          }
          r.end();
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
});
