import { describe, expect, it } from 'vitest';
import { encodeEnvelopeFrame, encodeEnvelopeFrameHead, FLAG_RESPONSE } from '../../src/protocol/envelope.js';
import { claimFrameBuffer, encodeFrame, FrameReader } from '../../src/protocol/frame.js';
import { allocChunkData, chunkDataCodec } from '../../src/protocol/transfer-messages.js';

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

describe('copy-free paths for large payloads', () => {
  it('frame head + payload is byte-for-byte the one-piece frame', () => {
    for (const n of [0, 1, 23, 24, 255, 256, 65_535, 65_536, 262_144 + 45]) {
      const payload = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
      const env = { type: 105, reqId: 0xdead_beef, flags: FLAG_RESPONSE, payload };
      expect(concat(encodeEnvelopeFrameHead(env), payload)).toEqual(encodeEnvelopeFrame(env));
    }
  });

  it('allocChunkData filled through its view equals the encoded CHUNK_DATA', () => {
    const contentId = Uint8Array.from({ length: 32 }, (_, i) => i);
    for (const [index, len] of [[0, 0], [3, 1], [70_000, 262_144]] as const) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 13) & 0xff);
      const r = allocChunkData(contentId, index, len);
      expect(r.bytes.length).toBe(len);
      r.bytes.set(bytes);
      expect(r.payload).toEqual(chunkDataCodec.encode({ contentId, chunkIndex: index, bytes }));
    }
    expect(() => allocChunkData(contentId, 0, 262_145)).toThrow();
  });

  it('claimFrameBuffer: once, and only for bodies the reader assembled itself', () => {
    const body = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const stream = encodeFrame(body);
    const whole = new FrameReader();
    whole.push(stream);
    const inSlice = whole.pull()!;
    expect(inSlice).toEqual(body);
    expect(claimFrameBuffer(inSlice)).toBe(false); // a view of the pushed slice

    const split = new FrameReader();
    split.push(stream.subarray(0, 100));
    split.push(stream.subarray(100));
    const assembled = split.pull()!;
    expect(assembled).toEqual(body);
    expect(claimFrameBuffer(assembled.subarray(10))).toBe(true);
    expect(claimFrameBuffer(assembled)).toBe(false); // already claimed
  });
});
