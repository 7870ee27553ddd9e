/**
 * Every input a fuzz campaign ever crashed on (test/fuzz/regressions/*.json, written by campaign.ts and
 * live.ts) replayed through the session's decode and dispatch: each must now end in a typed outcome.
 */
import { describe, expect, it } from 'vitest';
import { loadRegressions, replayRegression } from './campaign.js';

const cases = loadRegressions();

describe('fuzz regressions', () => {
  it('the regression folder holds well-formed cases', () => {
    for (const { file, r } of cases) {
      expect(['connection', 'handshake'], file).toContain(r.kind);
      expect(typeof r.seed, file).toBe('number');
    }
  });

  for (const { file, r } of cases) {
    it(`${file} (${r.error.slice(0, 60)}) replays to a typed outcome`, async () => {
      const outcome = await replayRegression(r);
      expect(typeof outcome).toBe('string');
    });
  }
});
