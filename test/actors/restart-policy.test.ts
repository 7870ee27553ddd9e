import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideRestart } from '../../src/actors/runtime/restart-policy.js';

describe('restart policy (OTP intensity/period)', () => {
  it('allows `intensity` restarts within the period, then refuses', () => {
    const limits = { intensity: 3, periodMs: 1000 };
    let h: number[] = [];
    const out: boolean[] = [];
    for (const t of [0, 10, 20, 30]) {
      const d = decideRestart(h, t, limits);
      h = d.history;
      out.push(d.restart);
    }
    expect(out).toEqual([true, true, true, false]);
  });

  it('forgets restarts older than the period', () => {
    const limits = { intensity: 2, periodMs: 100 };
    let d = decideRestart([], 0, limits);
    d = decideRestart(d.history, 50, limits);
    expect(decideRestart(d.history, 99, limits).restart).toBe(false);
    expect(decideRestart(d.history, 151, limits).restart).toBe(true);
  });

  it('never keeps more than `intensity` entries and never refuses when fewer recent restarts exist', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(50), { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 500 }), (gaps, intensity, periodMs) => {
        let h: number[] = [];
        let now = 0;
        for (const g of gaps) {
          now += g;
          const recent = h.filter((t) => now - t < periodMs).length;
          const d = decideRestart(h, now, { intensity, periodMs });
          expect(d.restart).toBe(recent < intensity);
          expect(d.history.length).toBeLessThanOrEqual(intensity);
          h = d.history;
        }
      }),
    );
  });
});
