/**
 * The kill -9 campaign's short version (docs/RELIABILITY.md "Process faults (kill -9)"): a real node process
 * (scripts/campaigns/victim-node.mjs, the built package) killed with SIGKILL 3 times mid-download and 3 times
 * mid-publish of a 300-file folder. Every start after a kill finds identity, subscription, own shares and any
 * reported publish intact; the target folder never shows an unverified file under its final name; downloads
 * resume (the seeder's bytes written over a round stay within the file size plus the unflushed window per
 * kill) and end verified. The long run is `node scripts/campaigns/kill9.mjs` (20 + 20 kills).
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ESM script without type declarations
import { runKill9 } from '../../scripts/campaigns/kill9.mjs';

describe('process faults: kill -9', () => {
  it('3 kills mid-download and 3 mid-publish: state consistent, downloads resume, nothing unverified shows', async () => {
    const r = await runKill9({ sizeMib: 64, downloadKills: 3, publishKills: 3, files: 300, budgetMin: 4 }, () => {});
    expect(r.failures).toEqual([]);
    expect(r.download.kills).toBe(3);
    expect(r.publish.kills).toBe(3);
    expect(r.download.rounds.every((x: { verified: boolean }) => x.verified)).toBe(true);
    for (const x of r.download.rounds) expect(x.servedMiB).toBeLessThanOrEqual(64 * 1.02 + x.kills * 24 + 4);
    for (const x of r.download.resumes) expect(x.firstAfterMiB).toBeGreaterThanOrEqual(x.beforeKillMiB - 24);
    expect(r.publish.finalItems).toBe(300);
    expect(r.restarts).toBeGreaterThanOrEqual(3 + 3 + 2);
  }, 300_000);
});
