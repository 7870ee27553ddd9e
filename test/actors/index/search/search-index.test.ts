import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryIndexStore, type StoredItem } from '../../../../src/actors/index/search/index-store.js';
import { LmdbIndexStore } from '../../../../src/actors/index/search/lmdb-index-store.js';
import { SEARCH_HARD_CAP, SearchIndex, topK, type ShareScope } from '../../../../src/actors/index/search/search-index.js';
import { SCORE } from '../../../../src/actors/index/search/scoring.js';
import { hex32, item, share } from '../helpers/items.js';

const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const C = 'cc'.repeat(32);
const scope = (...ids: string[]): Map<string, ShareScope> => new Map(ids.map((s) => [s, { trust: 'normal' as const }]));

function indexWith(shares: [string, StoredItem[], { title?: string; description?: string }?][]): SearchIndex {
  const idx = SearchIndex.open(new MemoryIndexStore());
  for (const [id, items, meta] of shares) idx.replaceShare(share(id, items, { title: meta?.title ?? null, description: meta?.description ?? null }), items);
  return idx;
}

describe('SearchIndex: scoring and ranking', () => {
  it('scores exactly as the reference: name equals > word > word prefix > contains; tags; title; description', () => {
    const idx = indexWith([
      [
        A,
        [
          item(A, 1, 'Ubuntu'),
          item(A, 2, 'ubuntu iso'),
          item(A, 3, 'ubuntu-22.04.iso'),
          item(A, 4, 'myubuntu'),
          item(A, 5, 'other', { tags: ['ubuntu'] }),
          item(A, 6, 'other2', { tags: ['ubuntumate'] }),
        ],
        { title: 'Linux ISOs', description: 'ubuntu and friends' },
      ],
    ]);
    const r = idx.search('UBUNTU', { scope: scope(A), snippets: false });
    const byId = new Map(r.hits.map((h) => [h.contentId, h.score]));
    const desc = SCORE.description;
    expect(byId.get(hex32(1))).toBe(SCORE.nameEquals + desc);
    expect(byId.get(hex32(2))).toBe(SCORE.nameWordEquals + desc);
    expect(byId.get(hex32(3))).toBe(SCORE.nameWordPrefix + desc);
    expect(byId.get(hex32(4))).toBe(SCORE.nameContains + desc);
    expect(byId.get(hex32(5))).toBe(SCORE.tagEquals + desc);
    expect(byId.get(hex32(6))).toBe(SCORE.tagPrefix + desc);
    expect(r.hits.map((h) => h.contentId)).toEqual([1, 2, 3, 4, 5, 6].map(hex32));
  });

  it('ranking order for the same share weight: exact name > name prefix > tag > description (property)', () => {
    const word = fc.stringMatching(/^[a-z]{3,8}$/);
    fc.assert(
      fc.property(word, fc.integer({ min: 1, max: 5 }), (w, weight) => {
        const items = [
          item(A, 4, 'zzz qqq', { tags: [] }), // description only (share-level)
          item(A, 3, 'qqq', { tags: [w] }),
          item(A, 2, `${w}xyz zzz`),
          item(A, 1, w),
        ];
        const idx = indexWith([[A, items, { description: `about ${w}` }]]);
        const r = idx.search(w, { scope: new Map([[A, { trust: 'trusted', weight }]]), snippets: false });
        expect(r.hits.map((h) => h.contentId)).toEqual([1, 2, 3, 4].map(hex32));
        for (let i = 1; i < r.hits.length; i++) expect(r.hits[i - 1]!.score).toBeGreaterThan(r.hits[i]!.score);
      }),
      { numRuns: 100 },
    );
  });

  it('multiplies by the share weight; weight 0 drops the share; ties go by share id then content id', () => {
    const idx = indexWith([
      [A, [item(A, 2, 'movie pack'), item(A, 1, 'movie pack')]],
      [B, [item(B, 1, 'movie extras')]],
    ]);
    const heavy = idx.search('movie', { scope: new Map([[A, { trust: 'normal' }], [B, { trust: 'normal', weight: 2 }]]) });
    expect(heavy.hits.map((h) => [h.shareId, h.contentId])).toEqual([[B, hex32(1)], [A, hex32(1)], [A, hex32(2)]]);
    expect(heavy.hits[0]!.score).toBe(2 * SCORE.nameWordEquals);
    const zero = idx.search('movie', { scope: new Map([[A, { trust: 'normal', weight: 0 }], [B, { trust: 'normal' }]]) });
    expect(zero.hits.map((h) => h.shareId)).toEqual([B]);
  });

  it('searches only the shares in scope, filtered by trust (default trusted + normal) and shareIds', () => {
    const idx = indexWith([
      [A, [item(A, 1, 'report')]],
      [B, [item(B, 1, 'report')]],
      [C, [item(C, 1, 'report')]],
    ]);
    const sc = new Map<string, ShareScope>([[A, { trust: 'trusted' }], [B, { trust: 'untrusted' }]]);
    expect(idx.search('report', { scope: sc }).hits.map((h) => h.shareId)).toEqual([A]);
    expect(idx.search('report', { scope: sc, trust: 'all' }).hits.map((h) => h.shareId)).toEqual([A, B]);
    expect(idx.search('report', { scope: sc, trust: 'untrusted' }).hits.map((h) => h.shareId)).toEqual([B]);
    expect(idx.search('report', { scope: sc, trust: ['trusted', 'untrusted'], shareIds: [B] }).hits.map((h) => h.shareId)).toEqual([B]);
    expect(idx.search('report', { scope: new Map() }).total).toBe(0);
  });

  it('honours blocklists: blocked share ids and blocked content ids', () => {
    const idx = indexWith([
      [A, [item(A, 1, 'song'), item(A, 2, 'song two')]],
      [B, [item(B, 3, 'song three')]],
    ]);
    const r = idx.search('song', { scope: scope(A, B), blocked: { shareIds: new Set([B]), contentIds: new Set([hex32(2)]) } });
    expect(r.hits.map((h) => h.contentId)).toEqual([hex32(1)]);
  });

  it('finds non-ASCII names: accents, Japanese, emoji, full-width', () => {
    const idx = indexWith([
      [
        A,
        [
          item(A, 1, 'Ünïcödé Guide.pdf'),
          item(A, 2, '日本語 ファイル.txt'),
          item(A, 3, 'party🎉time.png'),
          item(A, 4, 'Cafe\u0301 menu'),
          item(A, 5, 'ＦＵＬＬ width'),
        ],
      ],
    ]);
    const s = (q: string): string[] => idx.search(q, { scope: scope(A) }).hits.map((h) => h.contentId);
    expect(s('ünïcödé')).toEqual([hex32(1)]);
    expect(s('ÜNÏCÖDÉ guide.pdf')).toEqual([hex32(1)]);
    expect(s('ファイル')).toEqual([hex32(2)]);
    expect(s('日本')).toEqual([hex32(2)]); // token prefix
    expect(s('🎉')).toEqual([hex32(3)]); // no token: the name-substring fallback
    expect(s('CAFÉ')).toEqual([hex32(4)]);
    expect(s('full')).toEqual([hex32(5)]);
  });

  it('indexes paths: a folder name finds its files (lowest score), and tags/paths tokens are searchable', () => {
    const idx = indexWith([[A, [item(A, 1, 'track01.flac', { path: 'Bach/Cello Suites/track01.flac' }), item(A, 2, 'bach.txt')]]]);
    const r = idx.search('cello', { scope: scope(A) });
    expect(r.hits.map((h) => [h.contentId, h.score])).toEqual([[hex32(1), SCORE.folder]]);
    expect(idx.search('bach', { scope: scope(A) }).hits.map((h) => h.contentId)).toEqual([hex32(2), hex32(1)]);
  });

  it('empty or separator-only queries return nothing; snippets follow the reference window', () => {
    const long = 'x'.repeat(100) + ' needle ' + 'y'.repeat(100);
    const idx = indexWith([[A, [item(A, 1, 'needle file')], { title: 'T', description: long }]]);
    expect(idx.search('   ', { scope: scope(A) })).toEqual({ hits: [], total: 0 });
    const [hit] = idx.search('Needle', { scope: scope(A) }).hits;
    expect(hit!.snippet).toBe('...' + 'x'.repeat(47) + ' needle ' + 'y'.repeat(47) + '...');
    expect(idx.search('file', { scope: scope(A) }).hits[0]!.snippet).toBe('needle file');
  });

  it('listShareItems: items in manifest order, duplicates of a content id kept once', () => {
    const items = [item(A, 3, 'c'), item(A, 1, 'a'), item(A, 3, 'c again')];
    const idx = SearchIndex.open(new MemoryIndexStore());
    idx.replaceShare(share(A, items), items);
    expect(idx.shareItems(A)!.map((i) => [i.contentId, i.name])).toEqual([[hex32(3), 'c'], [hex32(1), 'a']]);
    expect(idx.shareItems(B)).toBeUndefined();
  });
});

describe('SearchIndex: pagination', () => {
  it('pages concatenate to the full result, no duplicates or gaps, total stable (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 1, max: 40 }), (n, limit) => {
        const items = Array.from({ length: n }, (_, i) => item(A, i + 1, i % 3 === 0 ? 'alpha' : i % 3 === 1 ? 'alpha beta' : 'alphabet'));
        const idx = indexWith([[A, items]]);
        const all = idx.search('alpha', { scope: scope(A), limit: 200 });
        const pages: string[] = [];
        for (let off = 0; off < all.total + limit; off += limit) {
          const p = idx.search('alpha', { scope: scope(A), offset: off, limit });
          expect(p.total).toBe(all.total);
          expect(p.hits.length).toBe(Math.max(0, Math.min(limit, all.total - off)));
          pages.push(...p.hits.map((h) => h.contentId));
        }
        expect(new Set(pages).size).toBe(pages.length);
        expect(all.total).toBe(n);
        if (n <= 200) expect(pages).toEqual(all.hits.map((h) => h.contentId));
      }),
      { numRuns: 60 },
    );
  });

  it('topK equals a full sort by (score desc, key asc) for any k, also on the bucket + heap path', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(0.5, 30, 34, 65, 100), { minLength: 0, maxLength: 3_000 }), fc.integer({ min: 0, max: 2_000 }), fc.integer(), (vals, k, salt) => {
        const scores = Float64Array.from(vals);
        const keys = vals.map((_, i) => ((i * 2_654_435_761 + salt) >>> 0) % 10_007);
        const cmp = (a: number, b: number) => keys[a]! - keys[b]! || a - b;
        const want = vals.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || cmp(a, b)).slice(0, k);
        expect(topK(scores, vals.length, Math.min(k, vals.length), cmp)).toEqual(want);
      }),
      { numRuns: 60 },
    );
  });

  it('clamps limit to 1–200 (default 20) and caps total at 2,000', () => {
    const items = Array.from({ length: 2_100 }, (_, i) => item(A, i + 1, `photo ${i}`));
    const idx = indexWith([[A, items]]);
    expect(idx.search('photo', { scope: scope(A) }).hits).toHaveLength(20);
    expect(idx.search('photo', { scope: scope(A), limit: 1_000 }).hits).toHaveLength(200);
    expect(idx.search('photo', { scope: scope(A), limit: 0 }).hits).toHaveLength(1);
    expect(idx.search('photo', { scope: scope(A) }).total).toBe(SEARCH_HARD_CAP);
    expect(idx.search('photo', { scope: scope(A), offset: 1_990 }).hits).toHaveLength(10);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Incremental updates equal a rebuild from scratch (model test)

const NAMES = ['alpha', 'Beta file', 'gamma-ray.mp3', 'Ünïcödé', '東京 写真', 'alpha beta', 'delta🎉', 'épsilon'];
const itemArb = (shareId: string) =>
  fc.record({
    n: fc.integer({ min: 1, max: 12 }),
    name: fc.constantFrom(...NAMES),
    tags: fc.subarray(['music', 'rock', 'photo', 'ünï']),
    dir: fc.constantFrom(null, 'a', 'a/b', 'Fotos/Über'),
  }).map(({ n, name, tags, dir }) => item(shareId, n, name, { tags, path: dir === null ? null : `${dir}/${name}` }));
const opArb = fc.oneof(
  fc.record({
    kind: fc.constant('replace' as const),
    shareId: fc.constantFrom(A, B, C),
    title: fc.constantFrom(null, 'Alpha catalog', 'Photos'),
    description: fc.constantFrom(null, 'music and rock', 'gamma'),
  }).chain((o) => fc.array(itemArb(o.shareId), { maxLength: 10 }).map((items) => ({ ...o, items }))),
  fc.record({ kind: fc.constant('remove' as const), shareId: fc.constantFrom(A, B, C) }),
);
const QUERIES = ['alpha', 'beta', 'ünï', '東京', 'rock', 'photo', 'a', '🎉', 'gamma', 'über'];

describe('SearchIndex: incremental == rebuild', () => {
  it('any sequence of share replaces/removes leaves the same state and answers as a fresh build, and a reopen recovers it', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 12 }), (ops) => {
        const store = new MemoryIndexStore();
        const inc = SearchIndex.open(store);
        const model = new Map<string, { items: StoredItem[]; title: string | null; description: string | null }>();
        for (const op of ops) {
          if (op.kind === 'replace') {
            inc.replaceShare(share(op.shareId, op.items, { title: op.title, description: op.description }), op.items);
            model.set(op.shareId, { items: op.items, title: op.title, description: op.description });
          } else {
            inc.removeShare(op.shareId);
            model.delete(op.shareId);
          }
        }
        const fresh = SearchIndex.open(new MemoryIndexStore());
        for (const [id, m] of model) fresh.replaceShare(share(id, m.items, { title: m.title, description: m.description }), m.items);
        const reopened = SearchIndex.open(store);
        expect(inc.snapshot()).toEqual(fresh.snapshot());
        expect(reopened.snapshot()).toEqual(fresh.snapshot());
        const sc = scope(A, B, C);
        for (const q of QUERIES) {
          const want = fresh.search(q, { scope: sc, limit: 200 });
          expect(inc.search(q, { scope: sc, limit: 200 })).toEqual(want);
          expect(reopened.search(q, { scope: sc, limit: 200 })).toEqual(want);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('re-indexing with one item changed writes only that item and its changed postings', () => {
    const store = new MemoryIndexStore();
    const idx = SearchIndex.open(store);
    const items = Array.from({ length: 1_000 }, (_, i) => item(A, i + 1, `file ${i} holiday`, { tags: ['photo'] }));
    idx.replaceShare(share(A, items), items);
    const again = idx.replaceShare(share(A, items), items);
    expect(again).toEqual({ shareId: A, added: 0, removed: 0, changed: 0, writes: 0 });
    const next = items.map((it, i) => (i === 10 ? { ...it, name: 'file 10 birthday' } : it));
    const ch = idx.replaceShare(share(A, next), next);
    expect(ch).toMatchObject({ added: 0, removed: 0, changed: 1 });
    expect(ch.writes).toBe(1); // the one item record, with its postings
    expect(store.getItem(A, hex32(11))!.tokens).toEqual(expect.arrayContaining(['birthday']));
    expect(store.getItem(A, hex32(11))!.tokens).not.toContain('holiday');
    expect(idx.search('birthday', { scope: scope(A) }).hits.map((h) => h.contentId)).toEqual([hex32(11)]);
  });
});

describe('LmdbIndexStore', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'scp2p-index-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('persists items, shares and postings; a reopened index answers the same', async () => {
    const env = open({ path: path.join(dir, 'db'), maxDbs: 4 });
    const db = env.openDB({ name: 'index/search' });
    const idx = SearchIndex.open(new LmdbIndexStore(db));
    const a = [item(A, 1, 'Ünïcödé report.pdf', { path: 'docs/Ünïcödé report.pdf', tags: ['docs', 'pdf'] }), item(A, 2, '日本語.txt')];
    const b = [item(B, 3, 'report card')];
    idx.replaceShare(share(A, a, { title: 'Docs' }), a);
    idx.replaceShare(share(B, b), b);
    idx.replaceShare(share(A, a.slice(0, 1), { title: 'Docs v2' }), a.slice(0, 1));
    const store = new LmdbIndexStore(db);
    expect(store.getItem(A, hex32(1))!.tokens).toEqual(['docs', 'pdf', 'report', 'ünïcödé']);
    expect(store.getItem(A, hex32(2))).toBeUndefined();
    expect(store.getShare(A)!.title).toBe('Docs v2');
    const before = idx.snapshot();
    await env.close();

    const env2 = open({ path: path.join(dir, 'db'), maxDbs: 4 });
    const again = SearchIndex.open(new LmdbIndexStore(env2.openDB({ name: 'index/search' })));
    expect(again.snapshot()).toEqual(before);
    const r = again.search('report', { scope: scope(A, B) });
    expect(r.hits.map((h) => h.name)).toEqual(['report card', 'Ünïcödé report.pdf']);
    expect(again.removeShare(B)).toBe(true);
    expect(again.search('report', { scope: scope(A, B) }).total).toBe(1);
    await env2.close();
  });
});
