/**
 * The local search index (PROTOCOL.md §11): an incremental inverted index over the items of indexed shares,
 * keyed by (shareId, contentId), written through an `IndexStore` on every change and recovered from it at
 * start. Search never leaves the shares the caller puts in `scope` (the subscriptions).
 *
 * Shape, for 100,000+ items:
 * - item tokens (name, path, tags) → posting sets of doc numbers; a sorted vocabulary array answers prefix
 *   lookups by binary search, kept up to date by merging the tokens added/removed since the last query;
 * - title/description tokens live once per share (share postings), not once per item;
 * - a share update diffs old and new items and writes only changed items and postings.
 * Candidates: items with a token that starts with a query token (the reference matches whole tokens only;
 * prefixes find a superset, and every candidate is then scored exactly as the reference scores it), else the
 * reference's fallback: items whose normalised name contains the whole query.
 */
import { ScpError } from '../../../errors.js';
import type { SearchHit as MailboxHit, ShareItemView as MailboxItemView, Trust } from '../../../messages/index-mailbox.js';
import type { ManifestV1 } from '../../../protocol/manifest.js';
import { itemKey, type IndexStore, type IndexStoreWriter, type StoredItem, type StoredShare } from './index-store.js';
import { analyseItem, manifestToStored, sameItem, scoredFields, shareTokensOf } from './item-analysis.js';
import { normaliseText, tokenizeNormalised, indexKey } from './normalize.js';
import { itemScore, shareBonus, type ScoredFields } from './scoring.js';
import { makeSnippet } from './snippet.js';
import { topK } from './top-k.js';

export { analyseItem, itemTokens, manifestToStored, scoredFields } from './item-analysis.js';
export { topK } from './top-k.js';

export const SEARCH_DEFAULT_LIMIT = 20;
export const SEARCH_MAX_LIMIT = 200;
/** Results kept after sorting (the reference's hard cap); `total` never exceeds it. */
export const SEARCH_HARD_CAP = 2_000;

export type TrustFilter = Trust | 'all' | 'default' | readonly Trust[];

export interface ShareScope {
  trust: Trust;
  /** Share weight (default 1, floored at 0): multiplies every score of the share. */
  weight?: number;
}

export interface Blocklist {
  shareIds: ReadonlySet<string>;
  contentIds: ReadonlySet<string>;
}

export interface SearchOptions {
  /** The shares search may look at (the subscriptions), hex share id → trust and weight. */
  scope: ReadonlyMap<string, ShareScope>;
  trust?: TrustFilter;
  /** Narrow to these shares (still within scope). */
  shareIds?: readonly string[];
  offset?: number;
  limit?: number;
  blocked?: Blocklist;
  /** Default true. */
  snippets?: boolean;
}

/** The mailbox's item view (messages/index-mailbox.ts), so replies need no mapping. */
export type ShareItemView = MailboxItemView;

/** The mailbox's hit plus the share's trust level. */
export interface SearchHit extends MailboxHit {
  trust: Trust;
}

export interface SearchResult {
  hits: SearchHit[];
  total: number;
}

/** What a share update changed (for SearchIndexUpdated events and tests). */
export interface IndexChange {
  shareId: string;
  added: number;
  removed: number;
  changed: number;
  /** Store writes in the batch (item records with their postings, share record). */
  writes: number;
}

interface ShareEntry {
  record: StoredShare;
  titleNorm: string | null;
  descriptionNorm: string | null;
  shareTokens: string[];
  docs: number[];
  /** Query stamp: equals the running query's number while the share is allowed in it. */
  mark: number;
  /** Rank of shareId among indexed shares (tie-break order). */
  ord: number;
  /** The running query's title/description score for this share, weighted. */
  bonus: number;
  weight: number;
  trust: Trust;
}

interface Doc extends ScoredFields {
  key: string;
  item: StoredItem;
  share: ShareEntry;
  tokens: string[];
}

/** The share record and items a manifest contributes, deduplicated by content id (first occurrence kept). */
function trustAllowed(filter: TrustFilter | undefined, t: Trust): boolean {
  if (filter === undefined || filter === 'default') return t === 'trusted' || t === 'normal';
  if (filter === 'all') return true;
  if (typeof filter === 'string') return filter === t;
  return filter.includes(t);
}

function clampInt(v: number | undefined, lo: number, hi: number, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v)) throw ScpError.badInput(`search ${what} must be a number`);
  return Math.min(hi, Math.max(lo, Math.floor(v)));
}

function lowerBound(arr: readonly string[], x: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arr[mid] as string) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SearchIndex {
  private readonly docs: (Doc | undefined)[] = [];
  private readonly freeDocs: number[] = [];
  private readonly docByKey = new Map<string, number>();
  /** token → doc numbers (unordered, unique). Arrays, not Sets: a tenth of the memory and GC work at 100k items. */
  private readonly postings = new Map<string, number[]>();
  private readonly sharePostings = new Map<string, Set<string>>();
  private readonly shareMap = new Map<string, ShareEntry>();
  private vocab: string[] = [];
  private readonly vocabAdded = new Set<string>();
  private readonly vocabRemoved = new Set<string>();
  private queryNo = 0;
  private shareOrdDirty = false;
  private seen = new Uint32Array(0);

  private constructor(private readonly store: IndexStore) {}

  /** Opens the index over `store`, recovering shares, items and their postings from it (tokens are read back, not recomputed). */
  static open(store: IndexStore): SearchIndex {
    const idx = new SearchIndex(store);
    idx.recover();
    return idx;
  }

  get itemCount(): number {
    return this.docByKey.size;
  }

  shareIds(): string[] {
    return [...this.shareMap.keys()].sort();
  }

  hasShare(shareId: string): boolean {
    return this.shareMap.has(shareId);
  }

  /** The indexed share's record (title, description, seq, manifest id, content ids in manifest order). */
  shareRecord(shareId: string): StoredShare | undefined {
    const e = this.shareMap.get(shareId);
    return e && structuredClone(e.record);
  }

  /** `listShareItems`: the share's items in manifest order, or undefined when the share is not indexed. */
  shareItems(shareId: string): ShareItemView[] | undefined {
    const e = this.shareMap.get(shareId);
    if (!e) return undefined;
    return e.docs.map((d) => view((this.docs[d] as Doc).item));
  }

  /** Indexes a verified manifest, replacing whatever the share had (incrementally). */
  indexManifest(m: ManifestV1, manifestIdHex: string | null = null): IndexChange {
    const { share, items } = manifestToStored(m, manifestIdHex);
    return this.replaceShare(share, items);
  }

  /**
   * Replaces a share's record and items. Writes only what differs from the indexed version: removed and
   * changed items lose their stale postings, added and changed items gain new ones, unchanged items are left.
   */
  replaceShare(share: StoredShare, items: readonly StoredItem[]): IndexChange {
    const shareId = share.shareId;
    const old = this.shareMap.get(shareId);
    const next = new Map<string, StoredItem>();
    for (const it of items) {
      if (it.shareId !== shareId) throw ScpError.badInput(`item ${it.contentId} belongs to share ${it.shareId}, not ${shareId}`);
      if (!next.has(it.contentId)) next.set(it.contentId, it);
    }
    const record: StoredShare = { ...share, contentIds: [...next.keys()] };

    type Plan = { key: string; item: StoredItem; fields: ScoredFields; tokens: string[]; add: string[]; drop: string[]; docNo: number | undefined };
    const removed: number[] = [];
    const upserts: Plan[] = [];
    let changed = 0;
    if (old) {
      for (const d of old.docs) {
        const doc = this.docs[d] as Doc;
        if (!next.has(doc.item.contentId)) removed.push(d);
      }
    }
    for (const it of next.values()) {
      const key = itemKey(shareId, it.contentId);
      const docNo = this.docByKey.get(key);
      const doc = docNo === undefined ? undefined : this.docs[docNo];
      if (doc && sameItem(doc.item, it)) continue;
      const { fields, tokens } = analyseItem(it);
      if (doc) {
        changed++;
        const before = new Set(doc.tokens);
        const after = new Set(tokens);
        upserts.push({ key, item: it, fields, tokens, add: tokens.filter((t) => !before.has(t)), drop: doc.tokens.filter((t) => !after.has(t)), docNo });
      } else {
        upserts.push({ key, item: it, fields, tokens, add: tokens, drop: [], docNo: undefined });
      }
    }
    const shareChanged = !old || JSON.stringify(old.record) !== JSON.stringify(record);
    if (!shareChanged && removed.length === 0 && upserts.length === 0) {
      return { shareId, added: 0, removed: 0, changed: 0, writes: 0 };
    }

    let writes = 0;
    this.store.batch((w: IndexStoreWriter) => {
      for (const d of removed) {
        w.removeItem(shareId, (this.docs[d] as Doc).item.contentId);
        writes++;
      }
      for (const u of upserts) {
        w.putItem(u.item, u.tokens);
        writes++;
      }
      if (shareChanged) {
        w.putShare(record);
        writes++;
      }
    });

    // The store committed: now mirror it in memory.
    const entry = old ?? this.newShareEntry(record);
    if (old) this.setShareRecord(old, record);
    // Stale postings go first, in one pass per affected token, before any freed doc number is reused.
    const stale = new Map<string, Set<number>>();
    const mark = (t: string, d: number): void => {
      let set = stale.get(t);
      if (!set) stale.set(t, (set = new Set()));
      set.add(d);
    };
    for (const d of removed) for (const t of (this.docs[d] as Doc).tokens) mark(t, d);
    for (const u of upserts) if (u.docNo !== undefined) for (const t of u.drop) mark(t, u.docNo);
    this.unpostMany(stale);
    for (const d of removed) this.freeDoc(d);
    for (const u of upserts) {
      if (u.docNo !== undefined) {
        const doc = this.docs[u.docNo] as Doc;
        for (const t of u.add) this.post(t, u.docNo);
        Object.assign(doc, u.fields, { item: u.item, tokens: u.tokens });
      } else {
        const n = this.newDoc(u.key, u.item, entry, u.tokens, u.fields);
        for (const t of u.tokens) this.post(t, n);
      }
    }
    entry.docs = record.contentIds.map((c) => this.docByKey.get(itemKey(shareId, c)) as number);
    return { shareId, added: upserts.length - changed, removed: removed.length, changed, writes };
  }

  /** Drops a share and all its items (unsubscribe, unpublish). Returns false when it was not indexed. */
  removeShare(shareId: string): boolean {
    const e = this.shareMap.get(shareId);
    if (!e) return false;
    this.store.batch((w) => {
      for (const d of e.docs) w.removeItem(shareId, (this.docs[d] as Doc).item.contentId);
      w.removeShare(shareId);
    });
    const stale = new Map<string, Set<number>>();
    for (const d of e.docs) {
      for (const t of (this.docs[d] as Doc).tokens) {
        let set = stale.get(t);
        if (!set) stale.set(t, (set = new Set()));
        set.add(d);
      }
    }
    this.unpostMany(stale);
    for (const d of e.docs) this.freeDoc(d);
    for (const t of e.shareTokens) this.unpostShare(t, shareId);
    this.shareMap.delete(shareId);
    this.shareOrdDirty = true;
    return true;
  }

  search(query: string, opts: SearchOptions): SearchResult {
    const limit = clampInt(opts.limit, 1, SEARCH_MAX_LIMIT, SEARCH_DEFAULT_LIMIT, 'limit');
    const offset = clampInt(opts.offset, 0, Number.MAX_SAFE_INTEGER, 0, 'offset');
    const q = normaliseText(query).trim();
    if (q === '') return { hits: [], total: 0 };

    const stamp = this.nextQueryNo();
    const only = opts.shareIds ? new Set(opts.shareIds) : null;
    const allowed: ShareEntry[] = [];
    for (const [shareId, sc] of opts.scope) {
      const e = this.shareMap.get(shareId);
      if (!e || !trustAllowed(opts.trust, sc.trust)) continue;
      if (only && !only.has(shareId)) continue;
      if (opts.blocked?.shareIds.has(shareId)) continue;
      const weight = Math.max(0, sc.weight ?? 1);
      if (!(weight > 0)) continue;
      e.mark = stamp;
      e.weight = weight;
      e.trust = sc.trust;
      allowed.push(e);
    }
    if (allowed.length === 0) return { hits: [], total: 0 };

    const cands = this.candidates(q, stamp, allowed);
    const blockedContent = opts.blocked && opts.blocked.contentIds.size > 0 ? opts.blocked.contentIds : null;
    for (const e of allowed) e.bonus = shareBonus(e.titleNorm, e.descriptionNorm, q) * e.weight;
    // Scores in a typed array beside the candidate doc numbers: no per-candidate allocation.
    const scores = new Float64Array(cands.length);
    let kept = 0;
    for (let i = 0; i < cands.length; i++) {
      const d = cands[i] as number;
      const doc = this.docs[d] as Doc;
      if (blockedContent !== null && blockedContent.has(doc.item.contentId)) continue;
      const sh = doc.share;
      const score = sh.weight === 1 ? itemScore(doc, q, sh.bonus) : itemScore(doc, q, 0) * sh.weight + sh.bonus;
      if (score > 0) {
        cands[kept] = d;
        scores[kept++] = score;
      }
    }
    const total = Math.min(kept, SEARCH_HARD_CAP);
    if (this.shareOrdDirty) this.rankShares();
    const order = topK(scores, kept, Math.min(offset + limit, total), (a, b) => this.keyCompare(cands[a] as number, cands[b] as number));
    const withSnippets = opts.snippets !== false;
    const hits = order.slice(Math.min(offset, total)).map((i): SearchHit => {
      const doc = this.docs[cands[i] as number] as Doc;
      return {
        ...view(doc.item),
        shareTitle: doc.share.record.title,
        score: scores[i] as number,
        trust: doc.share.trust,
        snippet: withSnippets ? makeSnippet(query, [doc.share.record.title, doc.share.record.description, doc.item.name]) : null,
      };
    });
    return { hits, total };
  }

  /** (shareId, contentId) order of two docs: share rank (an integer) first, so most compares are cheap. */
  private keyCompare(a: number, b: number): number {
    const da = this.docs[a] as Doc;
    const db = this.docs[b] as Doc;
    const o = da.share.ord - db.share.ord;
    if (o !== 0) return o;
    const ca = da.item.contentId;
    const cb = db.item.contentId;
    return ca < cb ? -1 : ca > cb ? 1 : 0;
  }

  private rankShares(): void {
    this.shareIds().forEach((id, i) => ((this.shareMap.get(id) as ShareEntry).ord = i));
    this.shareOrdDirty = false;
  }

  /** Canonical dump of the in-memory state (tests compare an incrementally updated index with a rebuilt one). */
  snapshot(): { shares: StoredShare[]; items: StoredItem[]; postings: [string, string[]][] } {
    const shares = this.shareIds().map((s) => (this.shareMap.get(s) as ShareEntry).record);
    const items = [...this.docByKey.keys()].sort().map((k) => (this.docs[this.docByKey.get(k) as number] as Doc).item);
    const postings: [string, string[]][] = [...this.postings.entries()]
      .map(([t, set]): [string, string[]] => [t, [...set].map((d) => (this.docs[d] as Doc).key).sort()])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { shares, items, postings };
  }

  // ---------------------------------------------------------------------------------------------------------

  private candidates(q: string, stamp: number, allowed: readonly ShareEntry[]): number[] {
    this.flushVocab();
    if (this.seen.length < this.docs.length) this.seen = new Uint32Array(Math.max(this.docs.length, this.seen.length * 2, 1024));
    const seen = this.seen;
    const out: number[] = [];
    const qTokens = [...new Set(tokenizeNormalised(q).map(indexKey))];
    for (const qt of qTokens) {
      for (let i = lowerBound(this.vocab, qt); i < this.vocab.length; i++) {
        const tok = this.vocab[i] as string;
        if (!tok.startsWith(qt)) break;
        for (const d of this.postings.get(tok) ?? []) {
          if (seen[d] === stamp) continue;
          if ((this.docs[d] as Doc).share.mark !== stamp) continue;
          seen[d] = stamp;
          out.push(d);
        }
      }
      // Title/description tokens are per share: a hit there makes every item of the share a candidate.
      for (const [tok, shares] of this.sharePostings) {
        if (!tok.startsWith(qt)) continue;
        for (const s of shares) {
          const e = this.shareMap.get(s) as ShareEntry;
          if (e.mark !== stamp) continue;
          for (const d of e.docs) {
            if (seen[d] === stamp) continue;
            seen[d] = stamp;
            out.push(d);
          }
        }
      }
    }
    if (out.length === 0) {
      for (const e of allowed) for (const d of e.docs) if ((this.docs[d] as Doc).nameNorm.includes(q)) out.push(d);
    }
    return out;
  }

  private nextQueryNo(): number {
    this.queryNo = (this.queryNo + 1) >>> 0;
    if (this.queryNo === 0) {
      // Wrapped around 2^32 queries: clear the stamps so none is mistaken for the new one.
      this.seen.fill(0);
      for (const e of this.shareMap.values()) e.mark = 0;
      this.queryNo = 1;
    }
    return this.queryNo;
  }

  private recover(): void {
    for (const s of this.store.shares()) this.newShareEntry(s);
    const docsOf = new Map<string, Map<string, number>>();
    for (const { item: it, tokens } of this.store.items()) {
      const e = this.shareMap.get(it.shareId);
      if (!e) continue; // an orphan (cannot happen with atomic batches): ignored
      const { pathNorm: _pathNorm, ...fields } = scoredFields(it);
      const n = this.newDoc(itemKey(it.shareId, it.contentId), it, e, tokens, fields);
      for (const t of tokens) this.post(t, n);
      let m = docsOf.get(it.shareId);
      if (!m) docsOf.set(it.shareId, (m = new Map()));
      m.set(it.contentId, n);
    }
    for (const e of this.shareMap.values()) {
      const m = docsOf.get(e.record.shareId);
      e.docs = e.record.contentIds.map((c) => m?.get(c)).filter((d): d is number => d !== undefined);
    }
    this.flushVocab();
  }

  private newShareEntry(record: StoredShare): ShareEntry {
    const e: ShareEntry = {
      record,
      titleNorm: null,
      descriptionNorm: null,
      shareTokens: [],
      docs: [],
      mark: 0,
      ord: 0,
      bonus: 0,
      weight: 1,
      trust: 'normal',
    };
    this.shareMap.set(record.shareId, e);
    this.shareOrdDirty = true;
    this.setShareRecord(e, record);
    return e;
  }

  private setShareRecord(e: ShareEntry, record: StoredShare): void {
    for (const t of e.shareTokens) this.unpostShare(t, record.shareId);
    e.record = record;
    e.titleNorm = record.title === null ? null : normaliseText(record.title);
    e.descriptionNorm = record.description === null ? null : normaliseText(record.description);
    e.shareTokens = shareTokensOf(record.title, record.description);
    for (const t of e.shareTokens) {
      let s = this.sharePostings.get(t);
      if (!s) this.sharePostings.set(t, (s = new Set()));
      s.add(record.shareId);
    }
  }

  private unpostShare(token: string, shareId: string): void {
    const s = this.sharePostings.get(token);
    if (!s) return;
    s.delete(shareId);
    if (s.size === 0) this.sharePostings.delete(token);
  }

  private newDoc(key: string, item: StoredItem, share: ShareEntry, tokens: string[], fields: ScoredFields): number {
    const n = this.freeDocs.pop() ?? this.docs.length;
    this.docs[n] = { key, item, share, tokens, ...fields };
    this.docByKey.set(key, n);
    return n;
  }

  /** Forgets a doc whose postings are already gone (unpostMany). */
  private freeDoc(d: number): void {
    const doc = this.docs[d] as Doc;
    this.docByKey.delete(doc.key);
    this.docs[d] = undefined;
    this.freeDocs.push(d);
  }

  private post(token: string, d: number): void {
    const arr = this.postings.get(token);
    if (arr) arr.push(d);
    else {
      this.postings.set(token, [d]);
      if (!this.vocabRemoved.delete(token)) this.vocabAdded.add(token);
    }
  }

  /** Removes docs from postings: one filter pass per affected token, O(that posting's length). */
  private unpostMany(stale: ReadonlyMap<string, ReadonlySet<number>>): void {
    for (const [token, docs] of stale) {
      const arr = this.postings.get(token);
      if (!arr) continue;
      const kept = arr.filter((d) => !docs.has(d));
      if (kept.length > 0) this.postings.set(token, kept);
      else {
        this.postings.delete(token);
        if (!this.vocabAdded.delete(token)) this.vocabRemoved.add(token);
      }
    }
  }

  /** Brings the sorted vocabulary up to date: O(V + k log k) for k tokens added since the last query. */
  private flushVocab(): void {
    if (this.vocabAdded.size === 0 && this.vocabRemoved.size === 0) return;
    const kept = this.vocabRemoved.size === 0 ? this.vocab : this.vocab.filter((t) => !this.vocabRemoved.has(t));
    const added = [...this.vocabAdded].sort();
    const merged: string[] = new Array(kept.length + added.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < kept.length && j < added.length) merged[k++] = (kept[i] as string) < (added[j] as string) ? (kept[i++] as string) : (added[j++] as string);
    while (i < kept.length) merged[k++] = kept[i++] as string;
    while (j < added.length) merged[k++] = added[j++] as string;
    this.vocab = merged;
    this.vocabAdded.clear();
    this.vocabRemoved.clear();
  }
}

function view(item: StoredItem): ShareItemView {
  return {
    shareId: item.shareId,
    contentId: item.contentId,
    name: item.name,
    path: item.path,
    size: BigInt(item.size),
    mime: item.mime,
    tags: [...item.tags],
    chunkCount: item.chunkCount,
    chunkListHash: item.chunkListHash,
  };
}
