/**
 * IndexStore on an lmdb database (one sub-database of the node's environment, owned by the index actor).
 * Key layout, string keys in one database so one write transaction covers a whole share update:
 *   `s:<shareId>`             → StoredShare
 *   `i:<shareId><contentId>`  → [name, path, mime, size, tags, chunkCount, chunkListHash, tokens]
 * Items are positional arrays (ids come from the key): at 100,000 items that halves encode/decode time.
 * The database must use lmdb's default msgpack value encoding and default (ordered) string keys.
 */
import type { Database } from 'lmdb';
import { collectOps, itemKey, type IndexedItemRecord, type IndexStore, type IndexStoreWriter, type StoredShare } from './index-store.js';

const S = 's:';
const I = 'i:';
// ';' sorts right after ':': the exclusive end of a prefix range.

// This store writes two value shapes into one database.
type AnyDb = Database<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- any key type: string keys are what it writes

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
            this.db.putSync(I + itemKey(op.v.item.shareId, op.v.item.contentId), packItem(op.v));
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
    const key = itemKey(shareId, contentId);
    const v = this.db.get(I + key) as PackedItem | undefined;
    return v && unpackItem(key, v);
  }
  *shares(): Iterable<StoredShare> {
    for (const { value } of this.db.getRange({ start: S, end: 's;' })) yield value as StoredShare;
  }
  *items(): Iterable<IndexedItemRecord> {
    for (const { key, value } of this.db.getRange({ start: I, end: 'i;' })) yield unpackItem((key as string).slice(I.length), value as PackedItem);
  }
}

type PackedItem = [string, string | null, string | null, string, string[], number, string, string[]];

function packItem(r: IndexedItemRecord): PackedItem {
  const it = r.item;
  return [it.name, it.path, it.mime, it.size, it.tags, it.chunkCount, it.chunkListHash, r.tokens];
}

function unpackItem(key: string, v: PackedItem): IndexedItemRecord {
  return {
    item: {
      shareId: key.slice(0, 64),
      contentId: key.slice(64),
      name: v[0],
      path: v[1],
      mime: v[2],
      size: v[3],
      tags: v[4],
      chunkCount: v[5],
      chunkListHash: v[6],
    },
    tokens: v[7],
  };
}
