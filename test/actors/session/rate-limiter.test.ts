import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS, NODE_RATE_LIMITS, RateLimiter, type RateClass } from '../../../src/actors/session/rate-limiter.js';

const CLASSES: RateClass[] = ['dht', 'fetch', 'relay', 'chunk', 'other'];

describe('RateLimiter', () => {
  it('allows exactly the class limit per window, then refuses with the reference text', () => {
    const rl = new RateLimiter();
    for (let i = 0; i < 240; i++) expect(rl.check('p', 'fetch', 1000).ok).toBe(true);
    const d = rl.check('p', 'fetch', 1000);
    expect(d).toEqual({ ok: false, exceeded: 'fetch', wireText: 'fetch request rate limit exceeded' });
    // other classes still have room (total 241 < 1200)
    expect(rl.check('p', 'dht', 1000).ok).toBe(true);
    // a new window after 60 s
    expect(rl.check('p', 'fetch', 61_000).ok).toBe(true);
  });

  it('counts "other" toward total but never refuses it', () => {
    const rl = new RateLimiter();
    for (let i = 0; i < 1_500; i++) expect(rl.check('p', 'other', 0).ok).toBe(true);
    expect(rl.check('p', 'dht', 0)).toMatchObject({ ok: false, exceeded: 'total', wireText: 'request rate limit exceeded' });
  });

  it('keeps identities apart and stays bounded', () => {
    const rl = new RateLimiter({ maxIdentities: 10 });
    for (let i = 0; i < 100; i++) rl.check(`id${i}`, 'chunk', i);
    expect(rl.trackedIdentities).toBeLessThanOrEqual(10);
    rl.prune(1_000_000);
    expect(rl.trackedIdentities).toBe(0);
  });

  it('property: within one window, accepted requests per class never exceed the limits', () => {
    const limits = { total: 30, dht: 10, fetch: 8, relay: 5, chunk: 12, windowMs: 1000 };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...CLASSES), fc.integer({ min: 0, max: 999 })), { maxLength: 200 }), (reqs) => {
        const rl = new RateLimiter({ limits });
        const sorted = [...reqs].sort((a, b) => a[1] - b[1]);
        const accepted: Record<string, number> = { dht: 0, fetch: 0, relay: 0, chunk: 0, other: 0 };
        let acceptedClassified = 0;
        for (const [cls, t] of sorted) {
          const d = rl.check('x', cls, t);
          if (d.ok) {
            accepted[cls]!++;
            if (cls !== 'other') acceptedClassified++;
          }
          if (cls === 'other') expect(d.ok).toBe(true);
        }
        for (const c of ['dht', 'fetch', 'relay', 'chunk'] as const) expect(accepted[c]).toBeLessThanOrEqual(limits[c]);
        expect(acceptedClassified).toBeLessThanOrEqual(limits.total);
      }),
      { numRuns: 100 },
    );
  });

  it('property: a request alone in a fresh window is always accepted', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CLASSES), fc.nat(), (cls, t) => {
        const rl = new RateLimiter();
        expect(rl.check('a', cls, t).ok).toBe(true);
      }),
    );
  });

  it('defaults match PROTOCOL.md §14', () => {
    expect(DEFAULT_RATE_LIMITS).toEqual({ windowMs: 60_000, total: 1_200, dht: 600, fetch: 240, relay: 180, chunk: 600, other: Infinity });
  });

  it("our node's defaults: LAN-speed chunks, tighter DHT, and a cap on \"other\" (the reference's never refuses it)", () => {
    expect(NODE_RATE_LIMITS).toMatchObject({ total: 61_200, chunk: 60_000, dht: 300, fetch: 240, relay: 180, other: 300 });
    // ~250 MiB/s of 256 KiB chunks from one peer
    expect((NODE_RATE_LIMITS.chunk / 60) * 0.25).toBeGreaterThanOrEqual(250);
    const rl = new RateLimiter({ limits: NODE_RATE_LIMITS });
    for (let i = 0; i < 300; i++) expect(rl.check('p', 'other', 0).ok).toBe(true);
    expect(rl.check('p', 'other', 0)).toEqual({ ok: false, exceeded: 'other', wireText: 'request rate limit exceeded' });
    expect(rl.check('p', 'chunk', 0).ok).toBe(true);
  });
});
