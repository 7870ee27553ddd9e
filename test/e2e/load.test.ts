/**
 * The load campaign's short version (docs/RELIABILITY.md "Load: one seeder, 200 sessions"): one seeder process,
 * 20 downloading sessions from a protocol-core client (own identity each, TLS + handshake + GET_CHUNK loop),
 * every chunk checked against its BLAKE3 hash, `status` through the control API once a second. The long run is
 * `node scripts/campaigns/load.mjs` (200 sessions).
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ESM script without type declarations
import { runLoad } from '../../scripts/campaigns/load.mjs';

describe('load: one seeder, many downloading sessions', () => {
  it('20 sessions for 10 s: every chunk verified, no errors, the seeder answers status throughout', async () => {
    const r = await runLoad({ sessions: 20, durationS: 10, sizeMib: 16 }, () => {});
    expect(r.failures).toEqual([]);
    expect(r.badChunks).toBe(0);
    expect(r.errors).toEqual({});
    expect(r.sessionsServed).toBe(20);
    // 20 sessions × 10 s: each got a steady stream, not a handful of chunks
    expect(r.chunksVerified).toBeGreaterThan(20 * 10);
    expect(r.aggregateMiBps).toBeGreaterThan(5);
    expect(r.status.calls).toBeGreaterThanOrEqual(5);
    expect(r.status.answered).toBe(r.status.calls);
    expect(r.responsive).toBe(true);
    expect(r.seeder.actorsAtEnd).toMatch(/^(\w+:running:0 ?)+$/);
  }, 180_000);
});
