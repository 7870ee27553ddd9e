#!/usr/bin/env node
/**
 * `npm run sim`: the deterministic whole-node simulation (src/sim/whole-node-scenario.ts) over many seeds, from
 * dist/. Each run prints its seed, trace digest and counts; a failing seed is printed so that
 * `SCP2P_SIM_SEED=<seed> npm run sim` replays it exactly. Settings (env): SCP2P_SIM_SEEDS (runs, default 10),
 * SCP2P_SIM_SEED (one seed only), SCP2P_SIM_NODES (8), SCP2P_SIM_VIRTUAL_S (busy phase, 180),
 * SCP2P_SIM_LOSS (0.02), SCP2P_SIM_MINUTES (real-time budget for the whole campaign, 15).
 */
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { runWholeNodeScenario } from '../../dist/sim/whole-node-scenario.js';

const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? Number(process.env[k]) : d);
const single = process.env.SCP2P_SIM_SEED !== undefined && process.env.SCP2P_SIM_SEED !== '';
const runs = single ? 1 : env('SCP2P_SIM_SEEDS', 10);
const nodes = env('SCP2P_SIM_NODES', 8);
const virtualMs = env('SCP2P_SIM_VIRTUAL_S', 180) * 1000;
const loss = env('SCP2P_SIM_LOSS', 0.02);
const budgetMs = env('SCP2P_SIM_MINUTES', 15) * 60_000;
const firstSeed = single ? Number(process.env.SCP2P_SIM_SEED) >>> 0 : (Date.now() ^ process.pid) >>> 0;
// tmpfs when there is one: lmdb commits then cost no fsync, and the pump waits less for them.
const root = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

const t0 = Date.now();
const failed = [];
let done = 0;
for (let i = 0; i < runs && Date.now() - t0 < budgetMs; i++) {
  const seed = single ? firstSeed : (firstSeed + i * 0x9e3779b1) >>> 0;
  const baseDir = fs.mkdtempSync(path.join(root, `scp2p-sim-${seed}-`));
  const r = await runWholeNodeScenario({ seed, baseDir, nodes, virtualMs, loss, keepTrace: process.env.SCP2P_SIM_TRACE === '1' });
  done++;
  const c = r.counts;
  console.log(
    `seed ${seed}: ${r.problems.length === 0 ? 'ok' : 'FAILED'} digest ${r.digest.slice(0, 16)} virtual ${(r.virtualMs / 1000).toFixed(0)} s real ${(r.realMs / 1000).toFixed(1)} s ` +
      `events ${r.traceEvents} steps ${r.steps} | publish ${c.publishes}+${c.republishes} sync ${c.syncs} (${c.syncFailures} partial) search ${c.searches} (${c.searchHits} hits) ` +
      `dl ok ${c.downloadsOk} failed ${c.downloadsFailed} corrupt ${c.downloadsCorrupt} | crash ${c.crashes} leave ${c.leaves} restart ${c.restarts} partition ${c.partitions} interrupted ${c.interrupted} ` +
      `| converged ${r.converged.atLatest}/${r.converged.subscriptions} | net dials ${r.net.dials} refused ${r.net.refused} timeouts ${r.net.dialTimeouts} segs ${r.net.segments} retx ${r.net.retransmits} resets ${r.net.resets}`,
  );
  if (r.traceLines) fs.writeFileSync(`sim-trace-${seed}.log`, r.traceLines.join('\n') + '\n');
  if (r.problems.length > 0) {
    failed.push(seed);
    for (const p of r.problems) console.log(`  problem: ${p}`);
    console.log(`  replay: SCP2P_SIM_SEED=${seed} npm run sim`);
    console.log(`  trace tail:\n    ${r.traceTail.slice(-15).join('\n    ')}`);
  }
}
console.log(`${done} runs, ${failed.length} failed${failed.length ? ` (seeds ${failed.join(', ')})` : ''}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exit(failed.length > 0 ? 1 : 0);
