/**
 * The whole-file BLAKE3 (the content id) computed while the download runs, so finishing needs no second pass
 * over the file: chunks are fed in index order as soon as they are verified. Chunks that land ahead of the
 * hashed prefix are held in memory up to a bound; beyond it (and for chunks a previous run left on disk) they
 * are read back from the partial file when the prefix reaches them, a few reads at a time. The bytes hashed are
 * those verified and handed to the writer (a failed write fails the download) or read back from the file, so a
 * match proves the file on disk is the content.
 *
 * BLAKE3 is a tree hash, but a chunk's hash cannot stand in for its subtree of the file's: BLAKE3 numbers its
 * 1 KiB blocks by their position in the input, and a chunk hashed alone starts at 0. Hence one more linear pass,
 * overlapped with the transfer.
 */
import { blake3Hasher, type Blake3Hasher } from '../../protocol/hash.js';
import { CHUNK_SIZE } from '../../protocol/content.js';

export interface PrefixHasherInit {
  size: number;
  chunkCount: number;
  /** Is chunk i verified and on disk (the download's bitmap)? */
  has: (index: number) => boolean;
  /** Reads chunk i back from the partial file (with `release` when the memory must be handed back once hashed). */
  read: (index: number) => Promise<ReadBack>;
  /** Chunks ahead of the prefix kept in memory (default MAX_HELD). */
  maxHeld?: number;
  /**
   * Takes back the bytes of a held chunk once hashed (or dropped): pooled chunk buffers go back to their pool
   * instead of dying here (a dropped 256 KiB buffer is external memory to V8: enough of them and it runs full
   * mark-compacts, ~30 per GiB downloaded before this).
   */
  release?: (bytes: Uint8Array) => void;
  hasher?: () => Blake3Hasher;
}

/**
 * Chunks held ahead of the prefix by default: 7 MiB. A download keeps at most 32 chunks in flight
 * (`maxParallelChunks`) in the session's 96-slot slab, so 28 held leave room for the writes. With 16, one provider
 * late by ~10 ms (a preempted seeder, 4 seeders on 2 cores) made the prefix fall behind, and every chunk after it
 * that did not fit was read back from disk: 500–3,200 of a 1 GiB file's 4,096 chunks in most 4 → 1 runs, none
 * with 28.
 */
const MAX_HELD = 28;
/**
 * Read-backs in flight while the prefix catches up. One at a time, a prefix behind the download could advance
 * more slowly than chunks arrived, and stayed behind to the end.
 */
const READ_AHEAD = 4;

type ReadBack = Uint8Array | { bytes: Uint8Array; release(): void };

const releaseRead = (got: ReadBack): void => {
  if (!(got instanceof Uint8Array)) got.release();
};

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
    this.#maxHeld = init.maxHeld ?? MAX_HELD;
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

  /** Advances the prefix over held chunks (synchronously) and on-disk chunks (up to READ_AHEAD reads at once). */
  #pump(): void {
    if (this.#pumping) return;
    const run = async (): Promise<void> => {
      // Reads started for chunks at and after the prefix, by index; each is taken in order or released unused.
      const ahead = new Map<number, Promise<ReadBack>>();
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
            continue;
          }
          if (!ahead.has(this.#next) && !this.#init.has(this.#next)) break;
          this.#readAhead(ahead);
          const index = this.#next;
          const pending = ahead.get(index) ?? this.#init.read(index);
          ahead.delete(index);
          const got = await pending;
          try {
            if (this.#next === index) this.#take(got instanceof Uint8Array ? got : got.bytes);
          } finally {
            releaseRead(got);
          }
        }
      } catch (err) {
        this.#error = err;
        for (const b of this.#held.values()) this.#init.release?.(b);
        this.#held.clear();
      } finally {
        for (const p of ahead.values()) p.then(releaseRead, () => undefined);
      }
    };
    const p = run().finally(() => {
      if (this.#pumping === p) this.#pumping = undefined;
    });
    this.#pumping = p;
  }

  /** Starts reads for the on-disk chunks from the prefix on (held ones skipped) until READ_AHEAD are in flight. */
  #readAhead(ahead: Map<number, Promise<ReadBack>>): void {
    const end = Math.min(this.#init.chunkCount, this.#next + READ_AHEAD + this.#held.size);
    for (let i = this.#next; i < end && ahead.size < READ_AHEAD; i++) {
      if (ahead.has(i) || this.#held.has(i)) continue;
      if (!this.#init.has(i)) break;
      const read = this.#init.read(i);
      read.catch(() => undefined); // a read failing while an earlier one is awaited is seen when its turn comes
      ahead.set(i, read);
    }
  }
}
