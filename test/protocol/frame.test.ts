import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, ScpError } from '../../src/errors.js';
import { encodeFrame, FrameReader, HANDSHAKE_MAX_BYTES, MAX_ENVELOPE_FRAME_BYTES } from '../../src/protocol/index.js';
import { claimFrameBuffer } from '../../src/protocol/frame.js';

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

/**
 * Direct reads: a transport that writes at most `reads[k]` bytes (and never more than the target holds) into
 * whatever `writable()` names, then reports them with `wrote`. Scratch bytes go back through push(…, true), as the
 * connection core does. The scratch is scribbled over after every read, so a frame that kept a view of it shows.
 */
function readDirect(max: number, stream: Uint8Array, reads: number[], eager: (len: number) => boolean): Uint8Array[] {
  const r = new FrameReader(max, 'frame', (len) => new Uint8Array(len), eager);
  const frames: Uint8Array[] = [];
  let off = 0;
  for (let k = 0; off < stream.length; k++) {
    const t = r.writable();
    expect(t.length).toBeGreaterThan(0);
    const n = Math.min(t.length, stream.length - off, Math.max(1, reads[k % Math.max(1, reads.length)] ?? 1));
    t.set(stream.subarray(off, off + n));
    off += n;
    const scratch = r.wrote(n);
    if (scratch) {
      r.push(scratch, true);
      scratch.fill(0xee); // the next read reuses this memory
    }
    for (const f of r.frames()) frames.push(f);
  }
  r.end();
  return frames.map((f) => f.slice());
}

describe('FrameReader direct reads (writable / wrote)', () => {
  const frameBody = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.integer({ min: 60_000, max: 300_000 }).map((n) => new Uint8Array(n).map((_, i) => (i * 7 + n) & 0xff)),
  );

  it('yields the frames push() yields, whatever the read sizes and the eager-body policy', () => {
    fc.assert(
      fc.property(
        fc.array(frameBody, { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        (bodies, reads, eager) => {
          const stream = Buffer.concat(bodies.map((b) => encodeFrame(b)));
          const direct = readDirect(MAX_ENVELOPE_FRAME_BYTES, stream, reads, () => eager);
          expect(direct.length).toBe(bodies.length);
          direct.forEach((f, i) => expect(Buffer.compare(f, bodies[i] as Uint8Array)).toBe(0));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a large frame the caller expects gets its body at once, and its bytes land in place', () => {
    const body = new Uint8Array(262_200).map((_, i) => i & 0xff);
    const frame = encodeFrame(body);
    const r = new FrameReader(MAX_ENVELOPE_FRAME_BYTES, 'frame', (len) => new Uint8Array(len), (len) => len === body.length);
    const first = r.writable(); // scratch: the prefix and the first bytes
    first.set(frame.subarray(0, 100));
    r.push(r.wrote(100) as Uint8Array, true);
    expect(r.heldBytes).toBe(body.length); // allocated at once (without eagerness: only after half arrived)
    let off = 100;
    while (off < frame.length) {
      const t = r.writable();
      expect(t.length).toBe(frame.length - off); // the rest of the body itself
      const n = Math.min(16_384, t.length);
      t.set(frame.subarray(off, off + n));
      expect(r.wrote(n)).toBeUndefined(); // taken in place: nothing to push
      off += n;
    }
    expect(Buffer.compare(r.pull() as Uint8Array, body)).toBe(0);
  });

  it('transient pushes copy what they keep: frames inside the slice and the pieces of a pending large frame', () => {
    const r = new FrameReader(MAX_ENVELOPE_FRAME_BYTES);
    const small = encodeFrame(Uint8Array.of(1, 2, 3));
    const big = encodeFrame(new Uint8Array(200_000).fill(9));
    const slice = Buffer.concat([small, big.subarray(0, 1000)]);
    r.push(slice, true);
    slice.fill(0); // reused by the transport
    r.push(big.subarray(1000), true);
    expect(r.pull()).toEqual(Uint8Array.of(1, 2, 3));
    expect(Buffer.compare(r.pull() as Uint8Array, new Uint8Array(200_000).fill(9))).toBe(0);
  });

  it('tells the allocator which bodies are an expected bulk answer; shared bodies are never claimable; discard hands back what it holds', () => {
    const asked: Array<[number, boolean]> = [];
    const shared = new SharedArrayBuffer(1 << 20);
    const r = new FrameReader(
      MAX_ENVELOPE_FRAME_BYTES,
      'frame',
      (len, bulk) => {
        asked.push([len, bulk]);
        return bulk ? new Uint8Array(shared, 0, len) : new Uint8Array(len);
      },
      (len) => len === 200_000,
    );
    const small = encodeFrame(new Uint8Array(30_000).fill(1));
    const bulk = encodeFrame(new Uint8Array(200_000).fill(2));
    const other = encodeFrame(new Uint8Array(150_000).fill(3));
    for (const f of [small, bulk, other]) for (let o = 0; o < f.length; o += 16_384) r.push(f.subarray(o, o + 16_384));
    expect(asked).toEqual([
      [30_000, false],
      [200_000, true],
      [150_000, false], // not expected: allocated once half had arrived
    ]);
    const [a, b, c] = [r.pull()!, r.pull()!, r.pull()!];
    expect(b.buffer).toBe(shared);
    expect(claimFrameBuffer(a)).toBe(true);
    expect(claimFrameBuffer(b)).toBe(false); // the lender's memory: moving it would detach nothing and share everything
    expect(claimFrameBuffer(c)).toBe(true);
    // A frame in progress and frames not pulled come back from discard(), and the reader holds nothing after.
    r.push(bulk);
    r.push(bulk.subarray(0, 50_000));
    const held = r.discard();
    expect(held.map((f) => f.length)).toEqual([200_000, 200_000]);
    expect(held[1]!.buffer).toBe(shared);
    expect(r.readyCount).toBe(0);
    expect(r.heldBytes).toBe(0);
  });
});
