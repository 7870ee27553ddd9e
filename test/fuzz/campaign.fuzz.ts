/**
 * `npm run fuzz`: the long campaigns, sized by the environment (defaults = the figures):
 *   FUZZ_SEED (printed; replays a run exactly in process), FUZZ_FRAMES (950,000 frames) + FUZZ_HANDSHAKES
 *   (50,000 handshake messages) in process, FUZZ_LIVE (10,000 frames into a live node over TLS),
 *   FUZZ_CYCLES (1,000 start/stop cycles, inline actors) and FUZZ_WORKER_CYCLES (100, worker threads).
 * Each figure is printed and written to test-artifacts/fuzz-report.json; findings go to test/fuzz/regressions/.
 * `npm run fuzz -- start-stop` (or `-- campaign`) runs one file only.
 */
import { describe, expect, it } from 'vitest';
import { runInProcessCampaign } from './campaign.js';
import { runLiveFuzz } from './live-run.js';
import { report } from './report.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const SEED = env('FUZZ_SEED', Date.now() % 1_000_000_007);
const MiB = 2 ** 20;

describe(`fuzz campaign, seed ${SEED}`, () => {
  it.skipIf(env('FUZZ_FRAMES', 1) + env('FUZZ_HANDSHAKES', 1) === 0)('frames and handshake messages in process', async () => {
    const r = await runInProcessCampaign({ frames: env('FUZZ_FRAMES', 950_000), handshakes: env('FUZZ_HANDSHAKES', 50_000), seed: SEED, log: console.log });
    report('inProcess', { ...r, findings: r.findings.length });
    expect(r.findings, `seed ${SEED}: see test/fuzz/regressions/`).toEqual([]);
    expect(r.after.heapUsed - r.before.heapUsed).toBeLessThan(64 * MiB);
  });

  it.skipIf(env('FUZZ_LIVE', 1) === 0)('frames into a live node over TLS, then an honest download', async () => {
    const r = await runLiveFuzz({ frames: env('FUZZ_LIVE', 10_000), seed: SEED, log: console.log });
    report('live', { ...r, crashes: r.crashes.length });
    expect(r.crashes).toEqual([]);
    expect(r.restarts).toBe(0);
    expect(r.honestDownload.identical).toBe(true);
  });
});
