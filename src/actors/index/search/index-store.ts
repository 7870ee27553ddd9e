/**
 * Where the search index keeps its durable state: item records, one record per indexed share, and the
 * inverted index's postings (token → item keys). The index writes through it on every manifest change,
 * inside one `batch` so a crash never leaves half a share behind, and reads everything back at start.
 *
 * Two implementations: `MemoryIndexStore` (tests, simulator) and `LmdbIndexStore` (lmdb-index-store.ts).
 */

/** An indexed item, as persisted. Ids are lowercase hex; `size` is a decimal string (u64). */
export interface StoredItem {
  shareId: string;
  contentId: string;
  name: string;
  path: string | null;
  mime: string | null;
  size: string;
  tags: string[];
  chunkCount: number;
  chunkListHash: string;
}

/** An indexed share: the manifest-level fields search needs, and its items' content ids in manifest order. */
export interface StoredShare {
  shareId: string;
  title: string | null;
  description: string | null;
  /** The indexed manifest's seq (decimal string) and id (hex); informational. */
  seq: string;
  manifestId: string | null;
  contentIds: string[];
}

/** 64 hex share id + 64 hex content id: fixed width, so string order is (shareId, contentId) order. */
export function itemKey(shareId: string, contentId: string): string {
  return shareId + contentId;
}

export interface IndexStoreWriter {
  putShare(share: StoredShare): void;
  removeShare(shareId: string): void;
  putItem(item: StoredItem): void;
  removeItem(shareId: string, contentId: string): void;
  addPosting(token: string, itemKey: string): void;
  removePosting(token: string, itemKey: string): void;
}

export interface IndexStore {
  /** Runs `fn` and commits all of its writes atomically; when `fn` throws nothing is written. */
  batch(fn: (w: IndexStoreWriter) => void): void;
  getShare(shareId: string): StoredShare | undefined;
  getItem(shareId: string, contentId: string): StoredItem | undefined;
  /** Item keys filed under exactly `token`, in key order. */
  getPosting(token: string): string[];
  shares(): Iterable<StoredShare>;
  items(): Iterable<StoredItem>;
  postings(): Iterable<{ token: string; itemKey: string }>;
}

type Op =
  | { k: 'putShare'; v: StoredShare }
  | { k: 'removeShare'; id: string }
  | { k: 'putItem'; v: StoredItem }
  | { k: 'removeItem'; key: string }
  | { k: 'addPosting'; token: string; key: string }
  | { k: 'removePosting'; token: string; key: string };

/**
 * Collects a batch's writes so that a throwing batch leaves the store untouched. Records are taken by
 * reference: the index never mutates a StoredItem/StoredShare after handing it over.
 */
export function collectOps(fn: (w: IndexStoreWriter) => void): Op[] {
  const ops: Op[] = [];
  fn({
    putShare: (v) => ops.push({ k: 'putShare', v }),
    removeShare: (id) => ops.push({ k: 'removeShare', id }),
    putItem: (v) => ops.push({ k: 'putItem', v }),
    removeItem: (s, c) => ops.push({ k: 'removeItem', key: itemKey(s, c) }),
    addPosting: (token, key) => ops.push({ k: 'addPosting', token, key }),
    removePosting: (token, key) => ops.push({ k: 'removePosting', token, key }),
  });
  return ops;
}
export type { Op as IndexStoreOp };

export class MemoryIndexStore implements IndexStore {
  private readonly shareMap = new Map<string, StoredShare>();
  private readonly itemMap = new Map<string, StoredItem>();
  private readonly postingMap = new Map<string, Set<string>>();
  /** Number of committed batches (tests use it to check that a change wrote incrementally). */
  batches = 0;
  /** Number of single writes committed so far. */
  writes = 0;

  batch(fn: (w: IndexStoreWriter) => void): void {
    const ops = collectOps(fn);
    this.batches++;
    this.writes += ops.length;
    for (const op of ops) {
      switch (op.k) {
        case 'putShare':
          this.shareMap.set(op.v.shareId, op.v);
          break;
        case 'removeShare':
          this.shareMap.delete(op.id);
          break;
        case 'putItem':
          this.itemMap.set(itemKey(op.v.shareId, op.v.contentId), op.v);
          break;
        case 'removeItem':
          this.itemMap.delete(op.key);
          break;
        case 'addPosting': {
          let s = this.postingMap.get(op.token);
          if (!s) this.postingMap.set(op.token, (s = new Set()));
          s.add(op.key);
          break;
        }
        case 'removePosting': {
          const s = this.postingMap.get(op.token);
          if (s) {
            s.delete(op.key);
            if (s.size === 0) this.postingMap.delete(op.token);
          }
          break;
        }
      }
    }
  }

  getShare(shareId: string): StoredShare | undefined {
    const s = this.shareMap.get(shareId);
    return s && copyShare(s);
  }
  getItem(shareId: string, contentId: string): StoredItem | undefined {
    const it = this.itemMap.get(itemKey(shareId, contentId));
    return it && copyItem(it);
  }
  getPosting(token: string): string[] {
    return [...(this.postingMap.get(token) ?? [])].sort();
  }
  *shares(): Iterable<StoredShare> {
    for (const s of this.shareMap.values()) yield copyShare(s);
  }
  *items(): Iterable<StoredItem> {
    for (const it of this.itemMap.values()) yield copyItem(it);
  }
  *postings(): Iterable<{ token: string; itemKey: string }> {
    for (const [token, keys] of this.postingMap) for (const k of keys) yield { token, itemKey: k };
  }
}

const copyItem = (it: StoredItem): StoredItem => ({ ...it, tags: [...it.tags] });
const copyShare = (s: StoredShare): StoredShare => ({ ...s, contentIds: [...s.contentIds] });
