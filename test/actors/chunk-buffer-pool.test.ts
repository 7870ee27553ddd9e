import { describe, expect, it } from 'vitest';
import { CHUNK_BUFFER_BYTES as FRAME_BUFFER_BYTES, ChunkBufferPool as FrameBufferPool } from '../../src/actors/runtime/chunk-buffer-pool.js';
import { CHUNK_SIZE } from '../../src/protocol/content.js';
import { FrameReader, claimFrameBuffer, encodeFrame } from '../../src/protocol/frame.js';

describe('FrameBufferPool: chunk frames assembled in recycled buffers', () => {
  it('a chunk-sized frame split across slices lands in a pooled buffer, is claimable, and its buffer is reused once given back', () => {
    const pool = new FrameBufferPool(4);
    const reader = new FrameReader(undefined, 'envelope frame', (len) => pool.take(len));
    const body = new Uint8Array(CHUNK_SIZE + 60).map((_, i) => (i * 31) & 0xff);
    const framed = encodeFrame(body);
    for (let o = 0; o < framed.length; o += 16_384) reader.push(framed.subarray(o, o + 16_384));
    const got = reader.pull() as Uint8Array;
    expect(Buffer.from(got).equals(Buffer.from(body))).toBe(true);
    expect(got.buffer.byteLength).toBe(FRAME_BUFFER_BYTES);
    expect(claimFrameBuffer(got)).toBe(true);
    // The fetcher hands it back; the next chunk frame is assembled in the very same memory.
    pool.give([got.buffer as ArrayBuffer]);
    expect(pool.free).toBe(1);
    const again = pool.take(CHUNK_SIZE + 60);
    expect(again.buffer).toBe(got.buffer);
    expect(pool.free).toBe(0);
  });

  it('small frames get buffers of their own size; foreign buffers and overflow are not kept', () => {
    const pool = new FrameBufferPool(2);
    expect(pool.take(100).buffer.byteLength).toBe(100);
    expect(pool.take(FRAME_BUFFER_BYTES + 1).buffer.byteLength).toBe(FRAME_BUFFER_BYTES + 1);
    pool.give([new ArrayBuffer(CHUNK_SIZE), new ArrayBuffer(FRAME_BUFFER_BYTES), new ArrayBuffer(FRAME_BUFFER_BYTES), new ArrayBuffer(FRAME_BUFFER_BYTES)]);
    expect(pool.free).toBe(2);
  });
});
