/**
 * Where the search index keeps its durable state: one record per indexed share, and one per item holding
 * the item and its index tokens, i.e. the inverted index's postings stored by item (each item's slice
 * of every posting list it is on). The index writes through it on every manifest change, inside one
 * `batch` so a crash never leaves half a share behind, and reads everything back at start.
 *
 * Why postings are stored by item, not as one list (or one key) per token: an update writes one value per
 * added/changed/removed item and nothing for unchanged ones, and recovery is one sequential scan of
 * ~1 value per item. One key per (token, item) was measured at 100,000 items: ~1M keys, 10 s to read back.
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

/** An item with the index keys it is filed under (its postings). */
export interface IndexedItemRecord {
  item: StoredItem;
  tokens: string[];
}

export interface IndexStoreWriter {
  putShare(share: StoredShare): void;
  removeShare(shareId: string): void;
  /** Writes the item and replaces its postings with `tokens`. */
  putItem(item: StoredItem, tokens: readonly string[]): void;
  /** Removes the item and all its postings. */
  removeItem(shareId: string, contentId: string): void;
}

export interface IndexStore {
  /** Runs `fn` and commits all of its writes atomically; when `fn` throws nothing is written. */
  batch(fn: (w: IndexStoreWriter) => void): void;
  getShare(shareId: string): StoredShare | undefined;
  getItem(shareId: string, contentId: string): IndexedItemRecord | undefined;
  shares(): Iterable<StoredShare>;
  items(): Iterable<IndexedItemRecord>;
}

type Op =
  | { k: 'putShare'; v: StoredShare }
  | { k: 'removeShare'; id: string }
  | { k: 'putItem'; v: IndexedItemRecord }
  | { k: 'removeItem'; key: string };

/**
 * Collects a batch's writes so that a throwing batch leaves the store untouched. Records are taken by
 * reference: the index never mutates a StoredItem/StoredShare after handing it over.
 */
export function collectOps(fn: (w: IndexStoreWriter) => void): Op[] {
  const ops: Op[] = [];
  fn({
    putShare: (v) => ops.push({ k: 'putShare', v }),
    removeShare: (id) => ops.push({ k: 'removeShare', id }),
    putItem: (item, tokens) => ops.push({ k: 'putItem', v: { item, tokens: [...tokens] } }),
    removeItem: (s, c) => ops.push({ k: 'removeItem', key: itemKey(s, c) }),
  });
  return ops;
}
export type { Op as IndexStoreOp };

export class MemoryIndexStore implements IndexStore {
  private readonly shareMap = new Map<string, StoredShare>();
  private readonly itemMap = new Map<string, IndexedItemRecord>();
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
          this.itemMap.set(itemKey(op.v.item.shareId, op.v.item.contentId), op.v);
          break;
        case 'removeItem':
          this.itemMap.delete(op.key);
          break;
      }
    }
  }

  getShare(shareId: string): StoredShare | undefined {
    const s = this.shareMap.get(shareId);
    return s && copyShare(s);
  }
  getItem(shareId: string, contentId: string): IndexedItemRecord | undefined {
    const it = this.itemMap.get(itemKey(shareId, contentId));
    return it && copyRecord(it);
  }
  *shares(): Iterable<StoredShare> {
    for (const s of this.shareMap.values()) yield copyShare(s);
  }
  *items(): Iterable<IndexedItemRecord> {
    for (const it of this.itemMap.values()) yield copyRecord(it);
  }
}

const copyRecord = (r: IndexedItemRecord): IndexedItemRecord => ({ item: { ...r.item, tags: [...r.item.tags] }, tokens: [...r.tokens] });
const copyShare = (s: StoredShare): StoredShare => ({ ...s, contentIds: [...s.contentIds] });
