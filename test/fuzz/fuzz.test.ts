/**
 * The short fuzz campaigns of `npm test` (the long ones: `npm run fuzz`, docs/RELIABILITY.md): 10^4 random and
 * mutated frames plus 300 handshake messages through the session's decode and dispatch in process, 200 frames
 * into a live node over TLS followed by an honest download from it, and 20 start/stop cycles of a node.
 */
import { describe, expect, it } from 'vitest';
import { runInProcessCampaign } from './campaign.js';
import { runLiveFuzz } from './live-run.js';
import { startStopCycles } from './start-stop.js';

const MiB = 2 ** 20;
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_125);

describe('fuzz (short)', () => {
  it('10^4 frames and 300 handshake messages in process: no exception, every bound kept, memory flat', async () => {
    const r = await runInProcessCampaign({ frames: 10_000, handshakes: 300, seed: SEED });
    expect(r.findings, `seed ${SEED}`).toEqual([]);
    // The campaign reached the owners and came back: answers (success and typed refusals) and typed closes.
    expect(r.answers).toBeGreaterThan(5_000);
    expect(r.errorAnswers).toBeGreaterThan(100);
    expect(Object.keys(r.closes)).toEqual(expect.arrayContaining(['bad-envelope', 'oversize-frame']));
    expect(Object.keys(r.handshakeOutcomes).some((k) => k.endsWith('→ open'))).toBe(true);
    expect(Object.keys(r.handshakeOutcomes).some((k) => k.includes('handshake-failed'))).toBe(true);
    expect(r.after.heapUsed - r.before.heapUsed).toBeLessThan(64 * MiB);
  }, 120_000);

  it('200 frames into a live node over TLS: no actor restarts, and an honest peer then downloads every byte', async () => {
    const r = await runLiveFuzz({ frames: 200, seed: SEED });
    expect(r.crashes).toEqual([]);
    expect(r.restarts).toBe(0);
    expect(r.nodeState).toBe('running');
    expect(r.connections).toBeGreaterThan(1);
    expect(r.honestDownload.identical).toBe(true);
    expect(r.honestDownload.bytes).toBeGreaterThan(3 * MiB);
  }, 120_000);

  it('20 start/stop cycles (inline actors): no handle left open, stop() within seconds, no heap growth', async () => {
    const r = await startStopCycles({ cycles: 20, mode: 'inline' });
    expect(r.leaked).toEqual({});
    expect(r.stopMsMax).toBeLessThan(5_000);
    expect(r.heapLast - r.heapFirst).toBeLessThan(24 * MiB);
  }, 120_000);
});
