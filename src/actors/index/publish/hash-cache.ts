/**
 * Re-publishing an unchanged folder must not re-hash unchanged files: a file's content description is
 * cached under its absolute path together with the fingerprint (size, mtimeNs, inode) it had when hashed,
 * and reused only while all three still match. A cached entry holds the chunk hashes too, since seeding
 * needs them (GET_CHUNK_HASHES).
 *
 * Storage is a small interface (`HashCacheStore`); `MemoryHashCacheStore` for tests and
 * `LmdbHashCacheStore` over one lmdb sub-database for the worker.
 */
import type { Database } from 'lmdb';
import { fromHex, toHex } from '../../../protocol/bytes.js';
import type { ContentDescription } from '../../../protocol/content.js';

export interface FileFingerprint {
  absPath: string;
  size: bigint;
  mtimeNs: bigint;
  ino: bigint;
}

/** Persisted form: decimal strings for u64s, hex ids, chunk hashes concatenated (32 bytes each). */
export interface CachedDescription {
  size: string;
  mtimeNs: string;
  ino: string;
  contentId: string;
  chunkCount: number;
  chunkListHash: string;
  chunkHashes: Uint8Array;
}

export interface HashCacheStore {
  get(absPath: string): CachedDescription | undefined;
  put(absPath: string, v: CachedDescription): void;
  remove(absPath: string): void;
  keys(): Iterable<string>;
}

export class MemoryHashCacheStore implements HashCacheStore {
  private readonly m = new Map<string, CachedDescription>();
  get(k: string): CachedDescription | undefined {
    return this.m.get(k);
  }
  put(k: string, v: CachedDescription): void {
    this.m.set(k, v);
  }
  remove(k: string): void {
    this.m.delete(k);
  }
  keys(): Iterable<string> {
    return [...this.m.keys()];
  }
}

export class LmdbHashCacheStore implements HashCacheStore {
  // Key type left open so a worker's sub-database (string keys) and a plain openDB() both fit; keys written are strings.
  constructor(private readonly db: Database<CachedDescription, any>) {} // eslint-disable-line @typescript-eslint/no-explicit-any
  get(k: string): CachedDescription | undefined {
    const v = this.db.get(k);
    // msgpack hands binary back as a Buffer; keep the interface's plain Uint8Array.
    return v && { ...v, chunkHashes: new Uint8Array(v.chunkHashes) };
  }
  put(k: string, v: CachedDescription): void {
    this.db.putSync(k, v);
  }
  remove(k: string): void {
    this.db.removeSync(k);
  }
  keys(): Iterable<string> {
    return [...this.db.getKeys()] as string[];
  }
}

export function toCached(f: FileFingerprint, d: ContentDescription): CachedDescription {
  const all = new Uint8Array(d.chunkHashes.length * 32);
  d.chunkHashes.forEach((h, i) => all.set(h, i * 32));
  return {
    size: f.size.toString(),
    mtimeNs: f.mtimeNs.toString(),
    ino: f.ino.toString(),
    contentId: toHex(d.contentId),
    chunkCount: d.chunkCount,
    chunkListHash: toHex(d.chunkListHash),
    chunkHashes: all,
  };
}

export function fromCached(c: CachedDescription): ContentDescription {
  const chunkHashes: Uint8Array[] = [];
  for (let i = 0; i < c.chunkCount; i++) chunkHashes.push(c.chunkHashes.slice(i * 32, i * 32 + 32));
  return {
    contentId: fromHex(c.contentId, 32),
    chunkHashes,
    chunkCount: c.chunkCount,
    chunkListHash: fromHex(c.chunkListHash, 32),
    size: BigInt(c.size),
  };
}

export class HashCache {
  hits = 0;
  misses = 0;

  constructor(private readonly store: HashCacheStore) {}

  /** The cached description when the file's fingerprint is unchanged. */
  lookup(f: FileFingerprint): ContentDescription | undefined {
    const c = this.store.get(f.absPath);
    if (!c || c.size !== f.size.toString() || c.mtimeNs !== f.mtimeNs.toString() || c.ino !== f.ino.toString()) return undefined;
    if (c.chunkHashes.length !== c.chunkCount * 32) return undefined; // a damaged entry: hash again
    return fromCached(c);
  }

  record(f: FileFingerprint, d: ContentDescription): void {
    this.store.put(f.absPath, toCached(f, d));
  }

  /** Cached description, or `hash(absPath)` recorded for next time. */
  async describe(
    f: FileFingerprint,
    hash: (absPath: string) => Promise<ContentDescription>,
  ): Promise<{ description: ContentDescription; cached: boolean }> {
    const hit = this.lookup(f);
    if (hit) {
      this.hits++;
      return { description: hit, cached: true };
    }
    this.misses++;
    const d = await hash(f.absPath);
    if (d.size !== f.size) {
      // The file changed while it was read: describe what was read, but do not cache it under this fingerprint.
      return { description: d, cached: false };
    }
    this.record(f, d);
    return { description: d, cached: false };
  }

  /** Forgets every entry whose path is not in `live` (call after a publish with the scanned paths). */
  prune(live: Iterable<string>): number {
    const keep = new Set(live);
    let n = 0;
    for (const k of [...this.store.keys()]) {
      if (!keep.has(k)) {
        this.store.remove(k);
        n++;
      }
    }
    return n;
  }
}
