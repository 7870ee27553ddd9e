/**
 * IndexStore on an lmdb database (one sub-database of the node's environment, owned by the index actor).
 * Key layout, string keys in one database so one write transaction covers a whole share update:
 *   `s:<shareId>`             → StoredShare
 *   `i:<shareId><contentId>`  → IndexedItemRecord (the item and its postings)
 * The database must use lmdb's default msgpack value encoding and default (ordered) string keys.
 */
import type { Database } from 'lmdb';
import { collectOps, itemKey, type IndexedItemRecord, type IndexStore, type IndexStoreWriter, type StoredShare } from './index-store.js';

const S = 's:';
const I = 'i:';
// ';' sorts right after ':': the exclusive end of a prefix range.

// This store writes two value shapes into one database.
type AnyDb = Database<any, string>; // eslint-disable-line @typescript-eslint/no-explicit-any

export class LmdbIndexStore implements IndexStore {
  constructor(private readonly db: AnyDb) {}

  batch(fn: (w: IndexStoreWriter) => void): void {
    const ops = collectOps(fn);
    if (ops.length === 0) return;
    this.db.transactionSync(() => {
      for (const op of ops) {
        switch (op.k) {
          case 'putShare':
            this.db.putSync(S + op.v.shareId, op.v);
            break;
          case 'removeShare':
            this.db.removeSync(S + op.id);
            break;
          case 'putItem':
            this.db.putSync(I + itemKey(op.v.item.shareId, op.v.item.contentId), op.v);
            break;
          case 'removeItem':
            this.db.removeSync(I + op.key);
            break;
        }
      }
    });
  }

  getShare(shareId: string): StoredShare | undefined {
    return this.db.get(S + shareId) as StoredShare | undefined;
  }
  getItem(shareId: string, contentId: string): IndexedItemRecord | undefined {
    return this.db.get(I + itemKey(shareId, contentId)) as IndexedItemRecord | undefined;
  }
  *shares(): Iterable<StoredShare> {
    for (const { value } of this.db.getRange({ start: S, end: 's;' })) yield value as StoredShare;
  }
  *items(): Iterable<IndexedItemRecord> {
    for (const { value } of this.db.getRange({ start: I, end: 'i;' })) yield value as IndexedItemRecord;
  }
}
