/**
 * Content description (PROTOCOL.md §5.1, §6.6, §8): fixed 256 KiB chunks, BLAKE3 per chunk, BLAKE3 of the whole
 * file as the content id, BLAKE3 of the concatenated chunk hashes as `chunk_list_hash`.
 *
 * The whole-file hash and the chunk hashes are two separate BLAKE3 computations (a chunk's BLAKE3 root is not a
 * chaining value of the file's tree), so describing content costs two passes over the bytes; `ContentDescriber`
 * does both in one read of the data with constant memory (one chunk buffer), for hashing files of any size.
 */
import { ScpError } from '../errors.js';
import { bytesEqual } from './bytes.js';
import { blake3, blake3Hasher, type Blake3Hasher } from './hash.js';
import { CHUNK_SIZE } from './limits.js';

export { CHUNK_SIZE };

export interface ContentDescription {
  contentId: Uint8Array;
  chunkHashes: Uint8Array[];
  chunkCount: number;
  chunkListHash: Uint8Array;
  /** Total bytes described. */
  size: bigint;
}

/** BLAKE3 of the raw 32-byte hashes concatenated; BLAKE3("") for an empty list. */
export function chunkListHash(hashes: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(hashes.length * 32);
  hashes.forEach((h, i) => {
    if (h.length !== 32) throw ScpError.badInput(`chunk hash ${i} must be 32 bytes`);
    all.set(h, i * 32);
  });
  return blake3(all);
}

export function chunkCountForSize(size: number | bigint): number {
  const s = BigInt(size);
  return Number((s + BigInt(CHUNK_SIZE) - 1n) / BigInt(CHUNK_SIZE));
}

/** Byte range [start, end) of chunk `index` in content of `size` bytes; throws BAD_INPUT past the end. */
export function chunkRange(index: number, size: number | bigint): { start: number; end: number } {
  const total = Number(size);
  if (!Number.isInteger(index) || index < 0 || index >= chunkCountForSize(size)) {
    throw ScpError.badInput(`chunk index ${index} is out of range for ${total} bytes`);
  }
  const start = index * CHUNK_SIZE;
  return { start, end: Math.min(start + CHUNK_SIZE, total) };
}

export function verifyChunk(expectedHash: Uint8Array, bytes: Uint8Array): boolean {
  return bytesEqual(blake3(bytes), expectedHash);
}

/** Streaming describer: feed `update` with slices of any size, then `finish` once. */
export class ContentDescriber {
  private readonly whole: Blake3Hasher = blake3Hasher();
  private readonly pending = new Uint8Array(CHUNK_SIZE);
  private pendingLen = 0;
  private readonly hashes: Uint8Array[] = [];
  private total = 0n;
  private done = false;

  update(data: Uint8Array): this {
    if (this.done) throw ScpError.badInput('ContentDescriber.update after finish');
    this.whole.update(data);
    this.total += BigInt(data.length);
    let o = 0;
    if (this.pendingLen > 0) {
      const take = Math.min(CHUNK_SIZE - this.pendingLen, data.length);
      this.pending.set(data.subarray(0, take), this.pendingLen);
      this.pendingLen += take;
      o = take;
      if (this.pendingLen === CHUNK_SIZE) {
        this.hashes.push(blake3(this.pending));
        this.pendingLen = 0;
      }
    }
    // Whole chunks straight from the caller's buffer: no copy.
    while (data.length - o >= CHUNK_SIZE) {
      this.hashes.push(blake3(data.subarray(o, o + CHUNK_SIZE)));
      o += CHUNK_SIZE;
    }
    if (o < data.length) {
      this.pending.set(data.subarray(o), this.pendingLen);
      this.pendingLen += data.length - o;
    }
    return this;
  }

  finish(): ContentDescription {
    if (this.done) throw ScpError.badInput('ContentDescriber.finish called twice');
    this.done = true;
    if (this.pendingLen > 0) this.hashes.push(blake3(this.pending.subarray(0, this.pendingLen)));
    return {
      contentId: this.whole.digest(),
      chunkHashes: this.hashes,
      chunkCount: this.hashes.length,
      chunkListHash: chunkListHash(this.hashes),
      size: this.total,
    };
  }
}

/** One-shot description of bytes already in memory (synchronous; callers may await it per API.md §2). */
export function describeContent(bytes: Uint8Array): ContentDescription {
  return new ContentDescriber().update(bytes).finish();
}
