/**
 * Start/stop cycles of one node on one data directory (its lock, lmdb environment, listeners, actors and
 * timers opened and released each time). After the cycles the process must hold exactly the resources it held
 * before (process.getActiveResourcesInfo: sockets, servers, timers, workers, file handles...), every stop()
 * must end within seconds, and the heap after GC must not grow with the cycle count: the least-squares slope
 * over the samples of the second half of the run is reported in bytes per cycle.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Node } from '../../src/index.js';
import type { ActorMode } from '../../src/actors/runtime/incarnation.js';
import { fullGc } from './gc.js';

export interface CycleResult {
  mode: ActorMode;
  cycles: number;
  ms: number;
  startMsP50: number;
  stopMsP50: number;
  stopMsMax: number;
  /** Resource types (with counts) present after the cycles but not before. */
  leaked: Record<string, number>;
  heapFirst: number;
  heapLast: number;
  rssFirst: number;
  rssLast: number;
  /** Least-squares slope of heap-after-GC over the second half of the cycles, bytes per cycle. */
  heapSlope: number;
  rssSlope: number;
}

const gc = fullGc;

function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

export function slope(ys: number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startStopCycles(opts: { cycles: number; mode: ActorMode; log?: (l: string) => void }): Promise<CycleResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-cycles-'));
  const started = Date.now();
  const starts: number[] = [];
  const stops: number[] = [];
  const heaps: number[] = [];
  const rsss: number[] = [];
  try {
    await settle(50);
    gc();
    const before = resources();
    for (let i = 0; i < opts.cycles; i++) {
      const t0 = performance.now();
      const node = await Node.start({ dataDir: dir, listen: { tcp: 0, quic: 0 }, host: '127.0.0.1', actorMode: opts.mode, hashThreads: 1 });
      const t1 = performance.now();
      if (node.health().state !== 'running') throw new Error(`cycle ${i}: node ${node.health().state}`);
      await node.peers();
      const t2 = performance.now();
      await node.stop();
      const t3 = performance.now();
      starts.push(t1 - t0);
      stops.push(t3 - t2);
      if (node.state !== 'stopped') throw new Error(`cycle ${i}: stop() returned with the node ${node.state}`);
      const sampleEvery = Math.max(1, Math.floor(opts.cycles / 50));
      if (i % sampleEvery === 0 || i === opts.cycles - 1) {
        gc();
        const m = process.memoryUsage();
        heaps.push(m.heapUsed);
        rsss.push(m.rss);
      }
      if (opts.log && (i + 1) % Math.max(1, Math.floor(opts.cycles / 10)) === 0) {
        opts.log(`${opts.mode} cycles: ${i + 1}/${opts.cycles}, heap ${(heaps.at(-1)! / 2 ** 20).toFixed(1)} MiB, rss ${(rsss.at(-1)! / 2 ** 20).toFixed(0)} MiB, stop p50 ${median(stops).toFixed(0)} ms`);
      }
    }
    // Worker threads and hashing pools end asynchronously after stop(); give them a moment, as a caller would.
    let leaked: Record<string, number> = {};
    for (let tries = 0; tries < 40; tries++) {
      await settle(100);
      gc();
      const after = resources();
      leaked = {};
      for (const [k, n] of after) if (n > (before.get(k) ?? 0)) leaked[k] = n - (before.get(k) ?? 0);
      if (Object.keys(leaked).length === 0) break;
    }
    const half = Math.floor(heaps.length / 2);
    return {
      mode: opts.mode,
      cycles: opts.cycles,
      ms: Date.now() - started,
      startMsP50: median(starts),
      stopMsP50: median(stops),
      stopMsMax: Math.max(...stops),
      leaked,
      heapFirst: heaps[0] ?? 0,
      heapLast: heaps.at(-1) ?? 0,
      rssFirst: rsss[0] ?? 0,
      rssLast: rsss.at(-1) ?? 0,
      heapSlope: slope(heaps.slice(half)) / Math.max(1, Math.floor(opts.cycles / 50)),
      rssSlope: slope(rsss.slice(half)) / Math.max(1, Math.floor(opts.cycles / 50)),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
