#!/usr/bin/env node
// DHT in simulation: 10,000 nodes running the real DhtCore (dist/sim/sim-network.js, a deterministic in-process
// network with a virtual clock). Reports lookup success, rounds and messages per share-head lookup (median, p95)
// at 0%, 10% and 30% churn (that fraction of nodes gone, tables not yet repaired: the worst moment), and wall
// time per simulated lookup. Build first: npx tsc -p tsconfig.json. Env: DHT_BENCH_NODES, DHT_BENCH_LOOKUPS, SEED.
import { SimNetwork } from '../dist/sim/sim-network.js';
import { shareHeadKey } from '../dist/protocol/dht-keys.js';
import { shareIdFromPubkey } from '../dist/protocol/ids.js';
import { publicKeyFromSeed } from '../dist/protocol/keys.js';
import { encodeShareHead, signShareHead } from '../dist/protocol/share-head.js';

const N = Number(process.env.DHT_BENCH_NODES ?? 10_000);
const LOOKUPS = Number(process.env.DHT_BENCH_LOOKUPS ?? 300);
const SEED = Number(process.env.SEED ?? 42);
const BOOT = 5;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// Maintenance is slowed (refresh every 6 h, ticks every 5 min) so the sequential 10k-node build — about 3 h of
// virtual time — measures lookups rather than 10k nodes refreshing buckets in the background.
const sim = new SimNetwork({ seed: SEED, dht: { joinRefresh: false, refreshIntervalMs: 6 * 3_600_000, maintenanceTickMs: 300_000 } });
console.log(`dht-sim: ${N} nodes, seed ${SEED}, one-way latency 10-80 ms, K=20, alpha=3, join by bootstrap self-lookup`);
let t = performance.now();
sim.addNode();
for (let i = 1; i < N; i++) {
  const node = sim.addNode();
  const via = sim.nodes[sim.random.int(Math.min(i, BOOT))];
  sim.run(node, (core, now) => core.bootstrap([via.addr], now));
}
sim.runUntilIdle();
const sizes = sim.nodes.map((n) => n.core.table.size);
console.log(`build: ${((performance.now() - t) / 1000).toFixed(1)} s wall, ${sim.stats.messages} messages, routing table size median ${pct(sizes, 50)} p5 ${pct(sizes, 5)}`);

const heads = [];
for (let i = 0; i < 100; i++) {
  const seed = sim.bytes(32);
  const pub = publicKeyFromSeed(seed);
  const shareId = shareIdFromPubkey(pub);
  const value = encodeShareHead(signShareHead({ shareId, latestSeq: 1n, latestManifestId: new Uint8Array(32), updatedAt: 1n }, seed));
  const from = sim.nodes[BOOT + sim.random.int(N - BOOT)];
  sim.run(from, (c, now) => c.put(shareHeadKey(shareId), value, now));
  heads.push({ shareId, pub, value });
}

console.log('churn | success | rounds p50/p95 | messages p50/p95 | virtual ms p50/p95 | wall ms/lookup');
for (const churn of [0, 0.1, 0.3]) {
  const gone = sim.nodes.slice(BOOT).filter(() => sim.random.next() < churn);
  for (const n of gone) n.online = false;
  const online = sim.nodes.filter((n) => n.online);
  const rounds = [];
  const msgs = [];
  const vt = [];
  let ok = 0;
  t = performance.now();
  for (let i = 0; i < LOOKUPS; i++) {
    const h = heads[i % heads.length];
    const from = online[sim.random.int(online.length)];
    const t0 = sim.time;
    const r = sim.lookup(from, (c, now) => c.findShareHead(h.shareId, now, h.pub));
    vt.push(sim.time - t0);
    if (r?.value && Buffer.from(r.value.value).equals(Buffer.from(h.value))) ok++;
    if (r) {
      rounds.push(r.rounds);
      msgs.push(r.messages);
    }
  }
  const wall = (performance.now() - t) / LOOKUPS;
  console.log(
    `${String(churn * 100).padStart(4)}% | ${((100 * ok) / LOOKUPS).toFixed(1)}% | ${pct(rounds, 50)}/${pct(rounds, 95)} | ${pct(msgs, 50)}/${pct(msgs, 95)} | ${pct(vt, 50)}/${pct(vt, 95)} | ${wall.toFixed(2)}`,
  );
  for (const n of gone) n.online = true;
}
