/**
 * Which chunks of one content item are verified and on disk, one bit each (100,000 chunks = 12.5 KiB), plus
 * the flush policy that decides when the worker persists it to lmdb.
 *
 * Crash guarantee (kill -9, restart, actor crash): a chunk's bit is set only after its positional write has
 * completed, and the bitmap is persisted at most `maxDirtyChunks` verified chunks or `maxDirtyMs` after the
 * first unsaved one, whichever comes first (and always on pause, cancel, completion and stop). So after a
 * kill -9 nothing verified is fetched again *except* the chunks of the last un-flushed window: by default at
 * most 64 chunks (16 MiB) or 200 ms of transfer. The partial file's page cache survives a process kill, so the
 * flushed bits always describe bytes that are really in the file; a power loss needs `fdatasync` before
 * each flush (FileWriter.sync()), which the worker can opt into.
 *
 * Wire format (version 1): `0x01 | chunkCount u32 BE | ceil(chunkCount / 8) bytes`, bit i at byte i>>3,
 * mask 1 << (i & 7). Trailing bits past chunkCount must be zero.
 */
import { ScpError } from '../../errors.js';

const FORMAT_VERSION = 1;
const HEADER_BYTES = 5;
/** PROTOCOL.md §6.6: a manifest carries at most 100,000 chunk hashes; allow headroom for a lone item anyway. */
export const MAX_BITMAP_CHUNKS = 0xffff_ffff;

export class ChunkBitmap {
  readonly size: number;
  readonly #bits: Uint8Array;
  #count = 0;

  constructor(chunkCount: number, verified?: Iterable<number>) {
    if (!Number.isInteger(chunkCount) || chunkCount < 0 || chunkCount > MAX_BITMAP_CHUNKS) {
      throw ScpError.badInput(`chunk count must be an integer in [0, ${MAX_BITMAP_CHUNKS}], got ${chunkCount}`);
    }
    this.size = chunkCount;
    this.#bits = new Uint8Array(Math.ceil(chunkCount / 8));
    if (verified) for (const i of verified) this.set(i);
  }

  /** Number of set bits. */
  get count(): number {
    return this.#count;
  }

  get complete(): boolean {
    return this.#count === this.size;
  }

  has(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) return false;
    return ((this.#bits[index >> 3] as number) & (1 << (index & 7))) !== 0;
  }

  /** Sets bit `index`; true when it was newly set. */
  set(index: number): boolean {
    this.#check(index);
    const byte = index >> 3;
    const mask = 1 << (index & 7);
    const old = this.#bits[byte] as number;
    if ((old & mask) !== 0) return false;
    this.#bits[byte] = old | mask;
    this.#count++;
    return true;
  }

  /** Clears bit `index` (a chunk found bad on the final check); true when it was set. */
  clear(index: number): boolean {
    this.#check(index);
    const byte = index >> 3;
    const mask = 1 << (index & 7);
    const old = this.#bits[byte] as number;
    if ((old & mask) === 0) return false;
    this.#bits[byte] = old & ~mask;
    this.#count--;
    return true;
  }

  /** Indices with no bit set, ascending. Skips full bytes, so a nearly complete bitmap is cheap to scan. */
  *missing(from = 0): Generator<number> {
    for (let byte = Math.max(0, from) >> 3; byte < this.#bits.length; byte++) {
      const b = this.#bits[byte] as number;
      if (b === 0xff) continue;
      for (let bit = 0; bit < 8; bit++) {
        const i = (byte << 3) | bit;
        if (i >= this.size) return;
        if (i >= from && (b & (1 << bit)) === 0) yield i;
      }
    }
  }

  *verified(): Generator<number> {
    for (let byte = 0; byte < this.#bits.length; byte++) {
      const b = this.#bits[byte] as number;
      if (b === 0) continue;
      for (let bit = 0; bit < 8; bit++) if ((b & (1 << bit)) !== 0) yield (byte << 3) | bit;
    }
  }

  serialise(): Uint8Array {
    const out = new Uint8Array(HEADER_BYTES + this.#bits.length);
    out[0] = FORMAT_VERSION;
    new DataView(out.buffer).setUint32(1, this.size, false);
    out.set(this.#bits, HEADER_BYTES);
    return out;
  }

  /** Parses `serialise()` output; with `expectedChunks`, a bitmap for a different item is refused. */
  static deserialise(bytes: Uint8Array, expectedChunks?: number): ChunkBitmap {
    if (bytes.length < HEADER_BYTES || bytes[0] !== FORMAT_VERSION) {
      throw ScpError.badInput('stored chunk bitmap is not a version-1 bitmap; the download restarts from its partial file check');
    }
    const size = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, false);
    const len = Math.ceil(size / 8);
    if (bytes.length !== HEADER_BYTES + len) {
      throw ScpError.badInput(`stored chunk bitmap has ${bytes.length - HEADER_BYTES} bytes, expected ${len} for ${size} chunks`);
    }
    if (expectedChunks !== undefined && size !== expectedChunks) {
      throw ScpError.badInput(`stored chunk bitmap covers ${size} chunks, the item has ${expectedChunks}`);
    }
    const bm = new ChunkBitmap(size);
    const body = bytes.subarray(HEADER_BYTES);
    const tail = size & 7;
    if (tail !== 0 && ((body[len - 1] as number) & ~((1 << tail) - 1) & 0xff) !== 0) {
      throw ScpError.badInput('stored chunk bitmap has bits set past its chunk count');
    }
    bm.#bits.set(body);
    let n = 0;
    for (const b of body) n += POPCOUNT[b] as number;
    bm.#count = n;
    return bm;
  }

  #check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw ScpError.badInput(`chunk index ${index} is out of range for ${this.size} chunks`);
    }
  }
}

const POPCOUNT = (() => {
  const t = new Uint8Array(256);
  for (let i = 1; i < 256; i++) t[i] = (t[i >> 1] as number) + (i & 1);
  return t;
})();

export interface FlushPolicyInit {
  /** Persist once this many chunks are verified but unsaved. Default 64 (16 MiB). */
  maxDirtyChunks?: number;
  /** Persist at the latest this long after the first unsaved chunk. Default 200 ms. */
  maxDirtyMs?: number;
}

/**
 * When to persist a dirty bitmap: pure, `now` in ms. The worker calls `markDirty(now)` after each verified
 * chunk (true = flush now), arms its timer at `nextDeadline()`, calls `due(now)` when it fires, and
 * `flushed()` once the lmdb write was issued.
 */
export class BitmapFlushPolicy {
  readonly maxDirtyChunks: number;
  readonly maxDirtyMs: number;
  #dirty = 0;
  #firstDirtyAt: number | undefined;

  constructor(init: FlushPolicyInit = {}) {
    this.maxDirtyChunks = Math.max(1, init.maxDirtyChunks ?? 64);
    this.maxDirtyMs = Math.max(0, init.maxDirtyMs ?? 200);
  }

  get dirtyChunks(): number {
    return this.#dirty;
  }

  markDirty(now: number): boolean {
    this.#dirty++;
    this.#firstDirtyAt ??= now;
    return this.due(now);
  }

  due(now: number): boolean {
    if (this.#dirty === 0) return false;
    return this.#dirty >= this.maxDirtyChunks || now - (this.#firstDirtyAt as number) >= this.maxDirtyMs;
  }

  nextDeadline(): number | undefined {
    return this.#firstDirtyAt === undefined ? undefined : this.#firstDirtyAt + this.maxDirtyMs;
  }

  flushed(): void {
    this.#dirty = 0;
    this.#firstDirtyAt = undefined;
  }
}
