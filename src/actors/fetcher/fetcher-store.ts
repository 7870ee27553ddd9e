/**
 * What the fetcher keeps across restarts, behind a small key-value seam so that download orchestration runs
 * in tests against memory and in the worker against its lmdb sub-databases:
 *
 * - `fetcher/downloads`: `d:<id>` → StoredDownload (the registry record plus what is needed to restart it),
 *   `b:<id>` → the serialised ChunkBitmap of an unfinished download, `h:<contentId>` → its verified chunk list.
 * - `fetcher/seeds`: `<contentId hex>` → StoredSeed (what we serve, from where).
 *
 * Values hold numbers, strings and Uint8Arrays only (msgpack-friendly; no bigint).
 */
import type { Database } from 'lmdb';
import type { DownloadRecord } from './download-registry.js';

export interface KeyValue<V> {
  get(key: string): V | undefined;
  put(key: string, value: V): Promise<unknown>;
  remove(key: string): Promise<unknown>;
  /** Entries whose key starts with `prefix`. */
  entries(prefix: string): Iterable<[string, V]>;
}

/** How to restart a download: the item's expected shape and where else to look for providers. */
export interface DownloadSpec {
  size: number | null;
  chunkCount: number | null;
  /** Hex; null when the caller knew only the content id. */
  chunkListHash: string | null;
  /** Explicit provider addresses ("tcp://ip:port[@hex]"). */
  peers: string[];
}

export interface StoredDownload {
  record: DownloadRecord;
  spec: DownloadSpec;
}

export interface StoredSeed {
  contentId: string;
  path: string;
  size: number;
  /** The 32-byte chunk hashes concatenated; null until computed (GET_CHUNK_HASHES computes and caches them). */
  chunkHashes: Uint8Array | null;
  addedAt: number;
}

export class MemoryKeyValue<V> implements KeyValue<V> {
  readonly #m = new Map<string, V>();
  get(key: string): V | undefined {
    return this.#m.get(key);
  }
  async put(key: string, value: V): Promise<void> {
    this.#m.set(key, structuredClone(value));
  }
  async remove(key: string): Promise<void> {
    this.#m.delete(key);
  }
  *entries(prefix: string): Iterable<[string, V]> {
    for (const [k, v] of [...this.#m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) if (k.startsWith(prefix)) yield [k, v];
  }
}

export function lmdbKeyValue<V>(db: Database<V, string>): KeyValue<V> {
  return {
    get: (key) => db.get(key),
    put: (key, value) => db.put(key, value),
    remove: (key) => db.remove(key),
    *entries(prefix) {
      // Keys are ASCII; U+FFFF sorts after anything a prefix can be followed by.
      for (const { key, value } of db.getRange({ start: prefix, end: `${prefix}\uffff` })) yield [key, value];
    },
  };
}

/** Typed access to `fetcher/downloads`. */
export class DownloadStore {
  readonly #kv: KeyValue<unknown>;
  constructor(kv: KeyValue<unknown>) {
    this.#kv = kv;
  }
  list(): StoredDownload[] {
    const out: StoredDownload[] = [];
    for (const [, v] of this.#kv.entries('d:')) if (isStoredDownload(v)) out.push(v);
    return out;
  }
  get(id: string): StoredDownload | undefined {
    const v = this.#kv.get(`d:${id}`);
    return isStoredDownload(v) ? v : undefined;
  }
  put(d: StoredDownload): Promise<unknown> {
    return this.#kv.put(`d:${d.record.id}`, d);
  }
  bitmap(id: string): Uint8Array | undefined {
    const v = this.#kv.get(`b:${id}`);
    return v instanceof Uint8Array ? v : undefined;
  }
  putBitmap(id: string, bytes: Uint8Array): Promise<unknown> {
    return this.#kv.put(`b:${id}`, bytes);
  }
  removeBitmap(id: string): Promise<unknown> {
    return this.#kv.remove(`b:${id}`);
  }
  /** Verified chunk list of a content id (concatenated hashes), kept while any download of it is unfinished. */
  hashes(contentId: string): Uint8Array | undefined {
    const v = this.#kv.get(`h:${contentId}`);
    return v instanceof Uint8Array ? v : undefined;
  }
  putHashes(contentId: string, concat: Uint8Array): Promise<unknown> {
    return this.#kv.put(`h:${contentId}`, concat);
  }
  removeHashes(contentId: string): Promise<unknown> {
    return this.#kv.remove(`h:${contentId}`);
  }
}

function isStoredDownload(v: unknown): v is StoredDownload {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Partial<StoredDownload>;
  return typeof d.record === 'object' && d.record !== null && typeof d.spec === 'object' && d.spec !== null;
}
