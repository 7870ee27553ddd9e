/**
 * The whole-file BLAKE3 (the content id) computed while the download runs, so finishing needs no second pass
 * over the file: chunks are fed in index order as soon as they are verified and written. Chunks that land
 * ahead of the hashed prefix are held in memory up to a small bound; beyond it (and for chunks a previous run
 * left on disk) they are read back from the partial file when the prefix reaches them. The bytes hashed are
 * the bytes that were verified and written, so a match proves the file on disk is the content.
 *
 * BLAKE3 is a tree hash, but blake3-wasm exposes only root digests, not the chaining values that would let
 * per-chunk hashes combine into the file's; hence one more linear pass, overlapped with the transfer.
 */
import { blake3Hasher, type Blake3Hasher } from '../../protocol/hash.js';
import { CHUNK_SIZE } from '../../protocol/content.js';

export interface PrefixHasherInit {
  size: number;
  chunkCount: number;
  /** Is chunk i verified and on disk (the download's bitmap)? */
  has: (index: number) => boolean;
  /** Reads chunk i back from the partial file (with `release` when the memory must be handed back once hashed). */
  read: (index: number) => Promise<Uint8Array | { bytes: Uint8Array; release(): void }>;
  /** Chunks ahead of the prefix kept in memory (default 16, i.e. 4 MiB). */
  maxHeld?: number;
  /**
   * Takes back the bytes of a held chunk once hashed (or dropped): pooled chunk buffers go back to their pool
   * instead of dying here (a dropped 256 KiB buffer is external memory to V8: enough of them and it runs full
   * mark-compacts, ~30 per GiB downloaded before this).
   */
  release?: (bytes: Uint8Array) => void;
  hasher?: () => Blake3Hasher;
}

export class PrefixHasher {
  readonly #init: PrefixHasherInit;
  readonly #hasher: Blake3Hasher;
  readonly #held = new Map<number, Uint8Array>();
  readonly #maxHeld: number;
  #next = 0;
  #pumping: Promise<void> | undefined;
  #error: unknown;
  #digest: Uint8Array | undefined;

  constructor(init: PrefixHasherInit) {
    this.#init = init;
    this.#hasher = (init.hasher ?? blake3Hasher)();
    this.#maxHeld = init.maxHeld ?? 16;
  }

  /** Chunks hashed so far (the prefix length). */
  get hashedChunks(): number {
    return this.#next;
  }

  /**
   * A chunk was verified and written: hash it now if it extends the prefix, else hold it while there is room.
   * Returns false when it keeps `bytes` (held for later: `release` gets them back), true when the caller may reuse
   * them at once.
   */
  add(index: number, bytes: Uint8Array): boolean {
    if (index < this.#next || this.#error !== undefined || this.#digest || this.#held.has(index)) return true;
    if (index !== this.#next || this.#pumping) {
      const hold = this.#held.size < this.#maxHeld;
      if (hold) this.#held.set(index, bytes);
      if (!this.#pumping) this.#pump();
      return !hold; // a held chunk goes back through `release` once hashed
    }
    try {
      this.#take(bytes);
    } catch (err) {
      this.#error = err;
      return true;
    }
    if (this.#held.size > 0 || this.#init.has(this.#next)) this.#pump();
    return true;
  }

  /** After every chunk is on disk: hashes what is left (reading it back) and returns the content digest. */
  async finish(): Promise<Uint8Array> {
    if (this.#digest) return this.#digest;
    while (this.#pumping) await this.#pumping;
    if (this.#error !== undefined) throw this.#error;
    this.#pump();
    while (this.#pumping) await this.#pumping;
    if (this.#error !== undefined) throw this.#error;
    if (this.#next !== this.#init.chunkCount) throw new Error(`prefix hasher stopped at chunk ${this.#next} of ${this.#init.chunkCount}`);
    this.#digest = this.#hasher.digest();
    return this.#digest;
  }

  /** Gives back the chunks it holds and takes no more: the download stopped short of its digest. */
  dispose(): void {
    this.#error ??= new Error('prefix hasher disposed');
    for (const b of this.#held.values()) this.#init.release?.(b);
    this.#held.clear();
  }

  #take(bytes: Uint8Array): void {
    const expected = Math.min(CHUNK_SIZE, this.#init.size - this.#next * CHUNK_SIZE);
    if (bytes.length !== expected) throw new Error(`chunk ${this.#next} has ${bytes.length} bytes, expected ${expected}`);
    this.#hasher.update(bytes);
    this.#next++;
  }

  /** Advances the prefix over held chunks (synchronously) and on-disk chunks (one read at a time). */
  #pump(): void {
    if (this.#pumping) return;
    const run = async (): Promise<void> => {
      try {
        while (this.#next < this.#init.chunkCount && this.#error === undefined) {
          const held = this.#held.get(this.#next);
          if (held) {
            this.#held.delete(this.#next);
            try {
              this.#take(held);
            } finally {
              this.#init.release?.(held);
            }
          } else if (this.#init.has(this.#next)) {
            const index = this.#next;
            const got = await this.#init.read(index);
            const bytes = got instanceof Uint8Array ? got : got.bytes;
            try {
              if (this.#next === index) this.#take(bytes);
            } finally {
              if (!(got instanceof Uint8Array)) got.release();
            }
          } else break;
        }
      } catch (err) {
        this.#error = err;
        for (const b of this.#held.values()) this.#init.release?.(b);
        this.#held.clear();
      }
    };
    const p = run().finally(() => {
      if (this.#pumping === p) this.#pumping = undefined;
    });
    this.#pumping = p;
  }
}
