/**
 * Whole nodes (all actors inline, lmdb, hashing threads) on the simulated network and virtual clock: a short run
 * with crashes, leaves, loss and a partition must keep its guarantees (verified downloads, converged
 * subscriptions), and must replay exactly: one seed, one trace digest; another seed, another digest.
 * SCP2P_SIM_SEED=<seed> replays a failing run (the seed is in every failure message).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWholeNodeScenario, type ScenarioOptions, type ScenarioResult } from '../../src/sim/whole-node-scenario.js';

const envSeed = process.env.SCP2P_SIM_SEED;
const seed = envSeed ? Number(envSeed) >>> 0 : (Date.now() ^ (process.pid << 8)) >>> 0;
const root = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

async function run(s: number, opts: Partial<ScenarioOptions> = {}): Promise<ScenarioResult> {
  const baseDir = fs.mkdtempSync(path.join(root, `scp2p-wn-${s}-`));
  return runWholeNodeScenario({ seed: s, baseDir, nodes: 4, publishers: 1, virtualMs: 16_000, loss: 0.03, maxFileBytes: 400_000, keepTrace: true, ...opts });
}

function firstDifference(a: string[] = [], b: string[] = []): string {
  const i = a.findIndex((line, k) => line !== b[k]);
  const k = i < 0 ? Math.min(a.length, b.length) : i;
  return `first difference at trace line ${k}:\n  run 1: ${a[k] ?? '(end)'}\n  run 2: ${b[k] ?? '(end)'}`;
}

describe(`whole-node simulation (SCP2P_SIM_SEED=${seed})`, () => {
  it('keeps its guarantees under churn and loss, and one seed replays to the same trace', async () => {
    const a = await run(seed);
    const why = `SCP2P_SIM_SEED=${seed}: ${a.problems.join('; ')}\n${a.traceTail.join('\n')}`;
    expect(a.problems, why).toEqual([]);
    // Every subscriber downloads once more at the end with every node back: verified against the source bytes.
    expect(a.counts.downloadsOk, why).toBeGreaterThanOrEqual(3);
    expect(a.counts.downloadsCorrupt).toBe(0);
    expect(a.converged.subscriptions).toBe(3);
    expect(a.converged.atLatest, why).toBe(3);
    expect(a.traceBytes).toBeGreaterThan(100_000);

    const b = await run(seed);
    expect(b.digest, `SCP2P_SIM_SEED=${seed} did not replay; ${firstDifference(a.traceLines, b.traceLines)}`).toBe(a.digest);
    expect(b.counts).toEqual(a.counts);
    expect(b.virtualMs).toBe(a.virtualMs);

    const c = await run((seed + 1) >>> 0, { virtualMs: 5_000, churn: false, partitions: false });
    expect(c.digest).not.toBe(a.digest);
    expect(c.problems, `SCP2P_SIM_SEED=${(seed + 1) >>> 0}: ${c.problems.join('; ')}`).toEqual([]);
  }, 120_000);
});
