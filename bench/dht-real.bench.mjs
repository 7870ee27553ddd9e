#!/usr/bin/env node
// DHT on a real loopback network: N nodes (each a Supervisor with the six actors, TLS over TCP on 127.0.0.1)
// bootstrapped as a chain, so every routing table is filled by the DHT's own self-lookups. Reports the time for
// tables to fill, then the latency (p50/p95/max) and success of share-head lookups (`dht.getShareHead`, which asks
// the K closest and keeps the best head) and of FIND_NODE lookups (`dht.findNodes`) from random nodes.
// Build first: npx tsc -p tsconfig.json. Env: DHT_REAL_NODES (16), DHT_REAL_LOOKUPS (200), DHT_REAL_MODE
// (worker | inline), SEED.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Supervisor, DEFAULT_LIMITS } from '../dist/supervisor.js';
import { systemClock } from '../dist/actors/runtime/clock.js';
import { createRandom } from '../dist/actors/runtime/random.js';
import { shareHeadKey } from '../dist/protocol/dht-keys.js';
import { shareIdFromPubkey } from '../dist/protocol/ids.js';
import { publicKeyFromSeed } from '../dist/protocol/keys.js';
import { encodeShareHead, signShareHead } from '../dist/protocol/share-head.js';

const N = Number(process.env.DHT_REAL_NODES ?? 16);
const LOOKUPS = Number(process.env.DHT_REAL_LOOKUPS ?? 200);
const MODE = process.env.DHT_REAL_MODE ?? 'worker';
const SEED = Number(process.env.SEED ?? 42);
const HEADS = 20;
const rnd = createRandom(SEED);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (xs) => `p50 ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dht-real-bench-'));
const sups = [];
try {
  console.log(`dht-real: ${N} loopback nodes (${MODE} actors), chain bootstrap, ${LOOKUPS} lookups, seed ${SEED}, ${os.availableParallelism()} cores`);
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    const bootstrap = i ? (await sups[i - 1].request('session', { type: 'addresses' })).filter((a) => a.startsWith('tcp://')) : [];
    const sup = new Supervisor({
      dataDir: fs.mkdtempSync(path.join(base, 'n-')),
      mode: MODE,
      clock: systemClock,
      seed: SEED + i,
      limits: DEFAULT_LIMITS,
      actorConfig: {
        index: { hashThreads: 1, syncIntervalMs: 3_600_000 },
        fetcher: { hashThreads: 1 },
        session: { listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap },
      },
    });
    await sup.start();
    sups.push(sup);
  }
  const started = performance.now() - t;
  let sizes = [];
  for (;;) {
    sizes = await Promise.all(sups.map(async (s) => (await s.request('dht', { type: 'stats' })).routingTableSize));
    if (sizes.every((n) => n >= Math.min(N - 1, 20)) || performance.now() - t > started + 30_000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`start ${N} nodes: ${(started / 1000).toFixed(1)} s; routing tables full ${((performance.now() - t - started) / 1000).toFixed(1)} s later (sizes min ${Math.min(...sizes)} median ${pct(sizes, 50)})`);

  const heads = [];
  const putMs = [];
  const stored = [];
  for (let i = 0; i < HEADS; i++) {
    const seed = new Uint8Array(32).map(() => rnd.int(256));
    const sharePubkey = publicKeyFromSeed(seed);
    const shareId = shareIdFromPubkey(sharePubkey);
    const head = signShareHead({ shareId, latestSeq: BigInt(i + 1), latestManifestId: new Uint8Array(32).fill(i), updatedAt: 1_700_000_000n }, seed);
    const from = sups[rnd.int(N)];
    t = performance.now();
    const r = await from.request('dht', { type: 'put', key: shareHeadKey(shareId), value: encodeShareHead(head), replicate: true });
    putMs.push(performance.now() - t);
    stored.push(r.stored);
    heads.push({ shareId, sharePubkey, seq: BigInt(i + 1) });
  }
  console.log(`put (store + FIND_NODE + STORE to the K closest): ${fmt(putMs)}; stored on median ${pct(stored, 50)} peers`);

  const headMs = [];
  let ok = 0;
  for (let i = 0; i < LOOKUPS; i++) {
    const h = heads[rnd.int(heads.length)];
    const from = sups[rnd.int(N)];
    t = performance.now();
    const r = await from.request('dht', { type: 'getShareHead', shareId: h.shareId, sharePubkey: h.sharePubkey });
    headMs.push(performance.now() - t);
    if (r.head?.latestSeq === h.seq) ok++;
  }
  console.log(`getShareHead from random nodes: ${fmt(headMs)}; success ${((100 * ok) / LOOKUPS).toFixed(1)}%`);

  const nodeMs = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const from = sups[rnd.int(N)];
    const target = new Uint8Array(20).map(() => rnd.int(256));
    t = performance.now();
    await from.request('dht', { type: 'findNodes', target });
    nodeMs.push(performance.now() - t);
  }
  console.log(`findNodes (iterative FIND_NODE) from random nodes: ${fmt(nodeMs)}`);
} finally {
  for (const s of sups) await s.stop().catch(() => {});
  fs.rmSync(base, { recursive: true, force: true });
}
process.exit(0);
