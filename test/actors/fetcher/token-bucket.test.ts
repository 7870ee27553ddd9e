import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/actors/runtime/token-bucket.js';

describe('TokenBucket', () => {
  it('lets a burst through, then paces at the rate', () => {
    const b = new TokenBucket({ bytesPerSecond: 1_000, burst: 500 }, 0);
    expect(b.reserve(500, 0)).toBe(0);
    expect(b.reserve(250, 0)).toBe(250);
    expect(b.reserve(250, 0)).toBe(500); // queued behind the previous reservation
    expect(b.available(1_000)).toBe(500); // refills, capped at burst
    expect(b.tryTake(600, 1_000)).toBe(false);
    expect(b.tryTake(500, 1_000)).toBe(true);
    expect(b.available(1_000)).toBe(0);
  });

  it('a request larger than the burst goes through with a wait (no deadlock)', () => {
    const b = new TokenBucket({ bytesPerSecond: 100_000, burst: 1_000 }, 0);
    expect(b.reserve(262_144, 0)).toBe(Math.ceil(((262_144 - 1_000) * 1000) / 100_000));
  });

  it('time running backwards does not mint tokens', () => {
    const b = new TokenBucket({ bytesPerSecond: 1_000, burst: 1_000 }, 1_000);
    b.reserve(1_000, 1_000);
    expect(b.available(0)).toBe(0);
  });

  it('refuses a non-positive rate', () => {
    expect(() => new TokenBucket({ bytesPerSecond: 0 }, 0)).toThrow(/positive/);
    expect(() => new TokenBucket({ bytesPerSecond: Number.NaN }, 0)).toThrow(/positive/);
  });

  it('property: bytes released by any time t never exceed burst + rate·t', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 300_000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 300_000 })), { maxLength: 60 }),
        (rate, burst, reqs) => {
          const b = new TokenBucket({ bytesPerSecond: rate, burst }, 0);
          let now = 0;
          const releases: [number, number][] = [];
          for (const [dt, n] of reqs) {
            now += dt;
            releases.push([now + b.reserve(n, now), n]);
          }
          // Releases come out in order, and by each release time the cap holds.
          for (let k = 1; k < releases.length; k++) expect((releases[k] as [number, number])[0]).toBeGreaterThanOrEqual((releases[k - 1] as [number, number])[0]);
          let sent = 0;
          for (const [t, n] of releases) {
            sent += n;
            expect(sent).toBeLessThanOrEqual(burst + (rate * t) / 1000 + 1e-6 * sent + 1);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: a steady stream is served at the rate in the long run (no tokens lost while busy)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 1_000_000 }), fc.integer({ min: 1, max: 50 }), (rate, k) => {
        const b = new TokenBucket({ bytesPerSecond: rate, burst: 0 }, 0);
        let last = 0;
        for (let i = 0; i < k; i++) last = b.reserve(rate / 10, 0);
        // k reservations of 100 ms worth each: the last may go at k × 100 ms (±1 ms of rounding).
        expect(Math.abs(last - k * 100)).toBeLessThanOrEqual(1);
      }),
    );
  });
});
