/** `npm run fuzz -- start-stop`: FUZZ_CYCLES (1,000) inline and FUZZ_WORKER_CYCLES (100) worker-mode start/stop cycles. */
import { describe, expect, it } from 'vitest';
import { report } from './report.js';
import { startStopCycles } from './start-stop.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);

describe('start/stop cycles', () => {
  it.skipIf(env('FUZZ_CYCLES', 1) === 0)('inline actors', async () => {
    const r = await startStopCycles({ cycles: env('FUZZ_CYCLES', 1_000), mode: 'inline', log: console.log });
    report('cyclesInline', r);
    expect(r.leaked).toEqual({});
    expect(r.stopMsMax).toBeLessThan(10_000);
  });

  it.skipIf(env('FUZZ_WORKER_CYCLES', 1) === 0)('worker actors', async () => {
    const r = await startStopCycles({ cycles: env('FUZZ_WORKER_CYCLES', 100), mode: 'worker', log: console.log });
    report('cyclesWorker', r);
    expect(r.leaked).toEqual({});
    expect(r.stopMsMax).toBeLessThan(10_000);
  });
});
