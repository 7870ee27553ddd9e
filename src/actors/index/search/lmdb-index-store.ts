/**
 * IndexStore on an lmdb database (one sub-database of the node's environment, owned by the index actor).
 * Key layout, all string keys in one database so one write transaction covers a whole share update:
 *   `s:<shareId>`                      → StoredShare
 *   `i:<shareId><contentId>`           → StoredItem
 *   `p:<token> <shareId><contentId>`   → 1   (one key per posting: an update writes only what changed)
 * Tokens hold only alphanumerics (never a space) and are cut to 64 code points, well under lmdb's key limit.
 * Printable separators only: lmdb's ordered-binary key encoding treats NUL specially.
 * The database must use lmdb's default msgpack value encoding.
 */
import type { Database } from 'lmdb';
import { collectOps, itemKey, type IndexStore, type IndexStoreWriter, type StoredItem, type StoredShare } from './index-store.js';

const S = 's:';
const I = 'i:';
const P = 'p:';
// ';' sorts right after ':', '!' right after ' ': the exclusive ends of the prefix ranges.

// lmdb's Database is generic over value/key; this store writes three value shapes into one database.
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
            this.db.putSync(I + itemKey(op.v.shareId, op.v.contentId), op.v);
            break;
          case 'removeItem':
            this.db.removeSync(I + op.key);
            break;
          case 'addPosting':
            this.db.putSync(P + op.token + ' ' + op.key, 1);
            break;
          case 'removePosting':
            this.db.removeSync(P + op.token + ' ' + op.key);
            break;
        }
      }
    });
  }

  getShare(shareId: string): StoredShare | undefined {
    return this.db.get(S + shareId) as StoredShare | undefined;
  }
  getItem(shareId: string, contentId: string): StoredItem | undefined {
    return this.db.get(I + itemKey(shareId, contentId)) as StoredItem | undefined;
  }
  getPosting(token: string): string[] {
    const start = P + token + ' ';
    const out: string[] = [];
    for (const k of this.db.getKeys({ start, end: P + token + '!' })) out.push((k as string).slice(start.length));
    return out;
  }
  *shares(): Iterable<StoredShare> {
    for (const { value } of this.db.getRange({ start: S, end: 's;' })) yield value as StoredShare;
  }
  *items(): Iterable<StoredItem> {
    for (const { value } of this.db.getRange({ start: I, end: 'i;' })) yield value as StoredItem;
  }
  *postings(): Iterable<{ token: string; itemKey: string }> {
    for (const k of this.db.getKeys({ start: P, end: 'p;' })) {
      const s = k as string;
      const sep = s.indexOf(' ', P.length);
      yield { token: s.slice(P.length, sep), itemKey: s.slice(sep + 1) };
    }
  }
}
