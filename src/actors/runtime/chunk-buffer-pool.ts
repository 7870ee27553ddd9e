/**
 * Recycled chunk-sized buffers, moved between two actors and back. Fresh 256 KiB buffers cost page faults,
 * zeroing and GC pressure on every chunk — several times the copy itself (5–7× in a microbenchmark here) — while
 * a returned batch costs one message. Two round trips use it:
 *   - downloading: the session assembles CHUNK_DATA frames in them, the fetcher hands each back once the chunk is
 *     verified, written and hashed (session mailbox `recycleBuffers`);
 *   - seeding: the fetcher reads chunks from disk into them as CHUNK_DATA replies, the session hands each back
 *     once the socket has taken it (fetcher mailbox `recycleBuffers`).
 */
import { CHUNK_SIZE } from '../../protocol/content.js';

/** Room for a full chunk and its CHUNK_DATA payload and envelope (contentId, index, CBOR heads). */
export const CHUNK_BUFFER_BYTES = CHUNK_SIZE + 1024;
/** Anything smaller gets a buffer of its own size (nothing to gain from a 257 KiB one). */
const MIN_POOLED_LENGTH = CHUNK_SIZE / 2;

export class ChunkBufferPool {
  readonly #free: ArrayBuffer[] = [];

  constructor(readonly maxFree = 64) {}

  get free(): number {
    return this.#free.length;
  }

  /** A view of `len` bytes; a recycled buffer when `len` fits the pooled size class. */
  take(len: number): Uint8Array {
    if (len < MIN_POOLED_LENGTH || len > CHUNK_BUFFER_BYTES) return new Uint8Array(len);
    const buf = this.#free.pop() ?? new ArrayBuffer(CHUNK_BUFFER_BYTES);
    return new Uint8Array(buf, 0, len);
  }

  /** Buffers handed back (only whole, attached buffers of the pooled size are kept). */
  give(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers) {
      if (this.#free.length >= this.maxFree) return;
      if (b instanceof ArrayBuffer && b.byteLength === CHUNK_BUFFER_BYTES) this.#free.push(b);
    }
  }
}
