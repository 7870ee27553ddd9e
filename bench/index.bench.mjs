#!/usr/bin/env node
// Search index: build time and query latency p50/p95 for N synthetic items (default 100,000 in 40 shares),
// beside SQLite FTS5 (better-sqlite3, unicode61 tokenizer) on the same items and queries in the same run.
// Two pairings: in memory (our MemoryIndexStore vs an FTS5 table in ':memory:') and persisted (our lmdb store
// vs an FTS5 table in a WAL database file). Also: recovery time of our index from lmdb, and the cost of an
// incremental share update with one item changed. Imports the built package: `npm run build` first.
// Options: SCP2P_BENCH_ITEMS (default 100000), SCP2P_BENCH_QUERIES (default 300).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { open } from 'lmdb';
import { distUrl, importDist } from './lib/bench-common.mjs';

const { SearchIndex } = await importDist('actors/index/search/search-index.js', '`npx tsc -p tsconfig.json`');
const { MemoryIndexStore } = await import(distUrl('actors/index/search/index-store.js'));
const { LmdbIndexStore } = await import(distUrl('actors/index/search/lmdb-index-store.js'));

const N = Number(process.env.SCP2P_BENCH_ITEMS ?? 100_000);
const Q = Number(process.env.SCP2P_BENCH_QUERIES ?? 300);
const SHARES = 40;

// ---------------------------------------------------------------------------------------------------------
// Deterministic synthetic catalog

let seed = 0x2545f491;
const rnd = () => {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const syl = ['ka', 'lo', 'mi', 'ra', 'ne', 'to', 'su', 'vi', 'de', 'po', 'an', 'el', 'or', 'ix', 'um', 'ba'];
const word = () => Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => pick(syl)).join('');
const VOCAB = Array.from({ length: 6_000 }, word).concat(['Ünïcödé', 'café', '東京', '写真', 'ファイル', 'straße', 'ñandú']);
const CATS = ['music', 'photos', 'video', 'docs', 'books', 'software', 'games', 'podcasts', 'papers', 'art'];
const EXTS = ['mp3', 'flac', 'jpg', 'png', 'mkv', 'mp4', 'pdf', 'epub', 'txt', 'zip'];
const hex = (n, w = 64) => n.toString(16).padStart(w, '0');

const shares = [];
for (let s = 0; s < SHARES; s++) {
  const shareId = hex(s + 1);
  const count = Math.floor(N / SHARES) + (s < N % SHARES ? 1 : 0);
  const items = [];
  for (let i = 0; i < count; i++) {
    const cat = pick(CATS);
    const sub = pick(VOCAB);
    const ext = pick(EXTS);
    const name = `${pick(VOCAB)} ${pick(VOCAB)} ${i % 97}.${ext}`;
    items.push({
      shareId,
      contentId: hex(s * 1_000_000 + i + 1),
      name,
      path: `${cat}/${sub}/${name}`,
      mime: null,
      size: String(1000 + i),
      tags: [cat, sub.toLowerCase(), ext],
      chunkCount: 1,
      chunkListHash: hex(0),
    });
  }
  shares.push({
    record: { shareId, title: `Catalog ${s} ${pick(VOCAB)}`, description: `${pick(VOCAB)} collection of ${pick(CATS)}`, seq: '1', manifestId: null, contentIds: items.map((x) => x.contentId) },
    items,
  });
}
const queries = Array.from({ length: Q }, (_, i) => {
  switch (i % 5) {
    case 0: return pick(VOCAB); // one exact word
    case 1: return pick(VOCAB).slice(0, 4); // a prefix
    case 2: return `${pick(VOCAB)} ${pick(VOCAB)}`; // two words
    case 3: return pick(CATS); // a tag / folder
    default: return pick(['Ünïcödé', 'cafe\u0301', '東京', 'ファイル', 'STRASSE', 'straße']); // non-ASCII
  }
});

// ---------------------------------------------------------------------------------------------------------
// Measurement helpers

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const now = () => process.hrtime.bigint();
function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const CLASSES = ['word', 'prefix', 'two words', 'tag', 'non-ASCII'];
function latencies(fn) {
  for (let i = 0; i < Math.min(20, queries.length); i++) fn(queries[i]); // warm-up
  const out = [];
  const byClass = CLASSES.map(() => []);
  queries.forEach((q, i) => {
    const t0 = now();
    fn(q);
    const t = ms(t0);
    out.push(t);
    byClass[i % 5].push(t);
  });
  return { p50: pct(out, 50), p95: pct(out, 95), classP50: Object.fromEntries(CLASSES.map((c, i) => [c, pct(byClass[i], 50)])) };
}

// ---------------------------------------------------------------------------------------------------------
// Ours

const scope = new Map(shares.map((s) => [s.record.shareId, { trust: 'normal' }]));
function buildOurs(store) {
  const t0 = now();
  const idx = SearchIndex.open(store);
  for (const s of shares) idx.replaceShare(s.record, s.items);
  idx.search('warm', { scope }); // includes the first vocabulary merge in build time
  return { idx, buildMs: ms(t0) };
}
const oursQuery = (idx) => (q) => idx.search(q, { scope, limit: 20 });

// ---------------------------------------------------------------------------------------------------------
// SQLite FTS5

function buildFts(file) {
  const t0 = now();
  const db = new Database(file);
  if (file !== ':memory:') db.pragma('journal_mode = WAL');
  db.exec(`CREATE VIRTUAL TABLE items USING fts5(share_id UNINDEXED, content_id UNINDEXED, name, path, tags, title, description, tokenize = "unicode61 remove_diacritics 0")`);
  const ins = db.prepare('INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?)');
  for (const s of shares) {
    db.transaction(() => {
      for (const it of s.items) ins.run(it.shareId, it.contentId, it.name, it.path, it.tags.join('\t'), s.record.title, s.record.description);
    })();
  }
  return { db, buildMs: ms(t0) };
}
function ftsQuery(db) {
  const top = db.prepare('SELECT share_id, content_id, name, bm25(items) AS r FROM items WHERE items MATCH ? ORDER BY r LIMIT 20');
  const count = db.prepare('SELECT count(*) AS n FROM items WHERE items MATCH ?');
  return (q) => {
    // The same candidate rule as ours: any query token as a prefix (OR), NFKC + lowercase first.
    const toks = q.normalize('NFKC').toLowerCase().split(/[^\p{Alphabetic}\p{N}]+/u).filter(Boolean);
    if (toks.length === 0) return;
    const m = toks.map((t) => `"${t.replace(/"/g, '""')}"*`).join(' OR ');
    top.all(m);
    count.get(m);
  };
}

// ---------------------------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'scp2p-index-bench-'));
try {
  const results = {};
  const memOurs = buildOurs(new MemoryIndexStore());
  const memFts = buildFts(':memory:');
  results.memory = { ours: { build: memOurs.buildMs, ...latencies(oursQuery(memOurs.idx)) }, fts5: { build: memFts.buildMs, ...latencies(ftsQuery(memFts.db)) } };
  const sample = memOurs.idx.search(queries[0], { scope, limit: 3 });
  memFts.db.close();

  const env = open({ path: join(dir, 'lmdb'), maxDbs: 4, compression: false });
  const db = env.openDB({ name: 'index/search' });
  const diskOurs = buildOurs(new LmdbIndexStore(db));
  await db.flushed;
  const diskFts = buildFts(join(dir, 'fts.sqlite'));
  results.persisted = { ours: { build: diskOurs.buildMs, ...latencies(oursQuery(diskOurs.idx)) }, fts5: { build: diskFts.buildMs, ...latencies(ftsQuery(diskFts.db)) } };

  // Recovery from lmdb (what a restarted index actor does) and one incremental share update.
  let t0 = now();
  const reopened = SearchIndex.open(new LmdbIndexStore(db));
  const recoverMs = ms(t0);
  const s0 = shares[0];
  const changed = s0.items.map((it, i) => (i === 7 ? { ...it, name: `${it.name} remastered` } : it));
  t0 = now();
  const change = reopened.replaceShare(s0.record, changed);
  const updateMs = ms(t0);
  const t1 = now();
  const ftsUpd = diskFts.db.prepare('UPDATE items SET name = ? WHERE content_id = ?');
  ftsUpd.run(changed[7].name, changed[7].contentId);
  const ftsUpdateMs = ms(t1);
  diskFts.db.close();
  await env.close();

  const f = (x) => x.toFixed(x < 10 ? 3 : 1);
  const r = (a, b) => (a / b).toFixed(2);
  console.log(`search index: ${N.toLocaleString('en-US')} items in ${SHARES} shares, ${Q} queries (exact word, prefix, two words, tag, non-ASCII), limit 20 + total`);
  console.log(`sample: "${queries[0]}" → total ${sample.total}, top ${sample.hits.map((h) => h.name).join(' | ')}`);
  console.log('');
  console.log('pairing    engine   build ms    p50 ms   p95 ms');
  for (const [k, v] of Object.entries(results)) {
    for (const [e, x] of Object.entries(v)) console.log(`${k.padEnd(10)} ${e.padEnd(7)} ${f(x.build).padStart(9)} ${f(x.p50).padStart(9)} ${f(x.p95).padStart(8)}`);
    console.log(`${k.padEnd(10)} ratio ours/fts5 (< 1: ours faster): build ${r(v.ours.build, v.fts5.build)}x, p50 ${r(v.ours.p50, v.fts5.p50)}x, p95 ${r(v.ours.p95, v.fts5.p95)}x`);
    console.log(`${k.padEnd(10)} p50 by query class, ours / fts5 ms: ${CLASSES.map((c) => `${c} ${f(v.ours.classP50[c])} / ${f(v.fts5.classP50[c])}`).join(', ')}`);
  }
  console.log('');
  console.log(`recover from lmdb: ${f(recoverMs)} ms; incremental update of a ${s0.items.length}-item share with 1 item changed: ${f(updateMs)} ms (${change.writes} writes) vs FTS5 row update ${f(ftsUpdateMs)} ms`);
  console.log(JSON.stringify({ bench: 'index', items: N, queries: Q, ...results, recoverMs, updateMs, updateWrites: change.writes, ftsUpdateMs }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
