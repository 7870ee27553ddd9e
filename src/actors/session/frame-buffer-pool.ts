/**
 * Recycled buffers for large envelope frames (CHUNK_DATA: a 256 KiB chunk plus its envelope). Such a frame body
 * is assembled in a buffer of its own and moved to the fetcher by transfer; the fetcher hands the buffer back once
 * the chunk is verified and written (session mailbox `recycleBuffers`). Fresh 256 KiB buffers cost page faults,
 * zeroing and GC pressure on every chunk — several times the copy itself (measured 5–7× in a microbenchmark
 * here) — and returned buffers cost one message per batch.
 */
import { CHUNK_SIZE } from '../../protocol/content.js';

/** Room for a full chunk and its CHUNK_DATA envelope (contentId, index, CBOR heads). */
export const FRAME_BUFFER_BYTES = CHUNK_SIZE + 1024;
/** Frames smaller than this get a buffer of their own size (nothing to gain from a 257 KiB one). */
const MIN_POOLED_FRAME = CHUNK_SIZE / 2;

export class FrameBufferPool {
  readonly #free: ArrayBuffer[] = [];

  constructor(readonly maxFree = 64) {}

  get free(): number {
    return this.#free.length;
  }

  /** A view of `len` bytes; a recycled buffer when `len` fits the pooled size class. */
  take(len: number): Uint8Array {
    if (len < MIN_POOLED_FRAME || len > FRAME_BUFFER_BYTES) return new Uint8Array(len);
    const buf = this.#free.pop() ?? new ArrayBuffer(FRAME_BUFFER_BYTES);
    return new Uint8Array(buf, 0, len);
  }

  /** Buffers handed back (only whole, attached buffers of the pooled size are kept). */
  give(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers) {
      if (this.#free.length >= this.maxFree) return;
      if (b instanceof ArrayBuffer && b.byteLength === FRAME_BUFFER_BYTES) this.#free.push(b);
    }
  }
}
