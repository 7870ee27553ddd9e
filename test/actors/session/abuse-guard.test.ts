import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbuseGuard, AcceptBudget } from '../../../src/actors/session/abuse-guard.js';
import { RateLimiter } from '../../../src/actors/session/rate-limiter.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../../src/actors/session/connection-types.js';
import { pexRequestCodec } from '../../../src/protocol/pex.js';
import { MessageType, unknownMessageTypeText } from '../../../src/protocol/registry.js';
import { Pair, T0 } from './pair.js';

describe('AcceptBudget (per-IP connections at accept)', () => {
  it('admits a burst, then the refill rate; IPs are apart', () => {
    const b = new AcceptBudget({ burst: 4, perSec: 2 });
    for (let i = 0; i < 4; i++) expect(b.admit('10.0.0.1', 0)).toBe(true);
    expect(b.admit('10.0.0.1', 0)).toBe(false);
    expect(b.admit('10.0.0.2', 0)).toBe(true);
    expect(b.admit('10.0.0.1', 499)).toBe(false);
    expect(b.admit('10.0.0.1', 500)).toBe(true);
    expect(b.refused).toBe(2);
  });

  it('drain puts an IP one second below empty: its next connection waits ~1 s and a token', () => {
    const b = new AcceptBudget({ burst: 32, perSec: 4 });
    expect(b.admit('a', 0)).toBe(true);
    b.drain('a', 0);
    expect(b.admit('a', 100)).toBe(false);
    expect(b.admit('a', 1_200)).toBe(false);
    expect(b.admit('a', 1_250)).toBe(true);
    expect(b.admit('other', 1_250)).toBe(true);
  });

  it('burst 0 switches it off', () => {
    const b = new AcceptBudget({ burst: 0, perSec: 0 });
    for (let i = 0; i < 100; i++) expect(b.admit('a', 0)).toBe(true);
  });

  it('stays bounded; pruning drops full buckets only', () => {
    const b = new AcceptBudget({ burst: 2, perSec: 1, maxEntries: 50 });
    for (let i = 0; i < 1_000; i++) b.admit(`ip${i}`, i);
    expect(b.trackedIps).toBeLessThanOrEqual(50);
    b.admit('x', 10_000);
    b.admit('x', 10_000);
    b.prune(10_000);
    expect(b.trackedIps).toBe(1); // x is empty, everyone else refilled long ago
    b.prune(20_000);
    expect(b.trackedIps).toBe(0);
  });

  it('defaults: burst 32, 4 a second', () => {
    expect(DEFAULT_CONNECTION_LIMITS).toMatchObject({ acceptBurstPerIp: 32, acceptPerIpPerSec: 4, abuseRefusals: 64, abuseCooldownMs: 60_000 });
  });

  it('property: over any span, one IP is admitted at most burst + rate·t connections (drains only lower it)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0.1, max: 50, noNaN: true }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.boolean(), fc.constantFrom('a', 'b')), { maxLength: 300 }),
        (burst, perSec, events) => {
          const b = new AcceptBudget({ burst, perSec });
          const sorted = [...events].sort((x, y) => x[0] - y[0]);
          const admitted: Record<string, number[]> = { a: [], b: [] };
          for (const [t, drain, ip] of sorted) {
            if (drain && t % 7 === 0) b.drain(ip, t);
            else if (b.admit(ip, t)) admitted[ip]!.push(t);
          }
          // every window [t_i, t_j] of admissions fits the bucket
          for (const ts of Object.values(admitted)) {
            for (let i = 0; i < ts.length; i++) {
              for (let j = i; j < ts.length; j++) {
                const n = j - i + 1;
                expect(n).toBeLessThanOrEqual(burst + ((ts[j]! - ts[i]!) / 1000) * perSec + 1e-9);
              }
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('AbuseGuard (refusal allowance per identity)', () => {
  it('answers the first N refusals, cuts the next, refuses the identity for the cool-down', () => {
    const g = new AbuseGuard({ maxRefusals: 3, cooldownMs: 10_000, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) expect(g.refused('p', i)).toBe('answer');
    expect(g.isBanned('p', 3)).toBe(false);
    expect(g.refused('p', 3)).toBe('cut');
    expect(g.isBanned('p', 4)).toBe(true);
    expect(g.isBanned('q', 4)).toBe(false);
    expect(g.isBanned('p', 10_003)).toBe(false);
    expect(g.cuts).toBe(1);
  });

  it('a new window restores the allowance; 0 switches it off', () => {
    const g = new AbuseGuard({ maxRefusals: 2, windowMs: 1_000 });
    expect(g.refused('p', 0)).toBe('answer');
    expect(g.refused('p', 1)).toBe('answer');
    expect(g.refused('p', 1_000)).toBe('answer');
    const off = new AbuseGuard({ maxRefusals: 0 });
    for (let i = 0; i < 1_000; i++) expect(off.refused('p', 0)).toBe('answer');
  });

  it('stays bounded', () => {
    const g = new AbuseGuard({ maxRefusals: 1, maxEntries: 100 });
    for (let i = 0; i < 5_000; i++) g.refused(`id${i}`, i);
    expect(g.trackedIdentities).toBeLessThanOrEqual(100);
  });

  it('property: per window an identity is answered at most N refusals, and a cut always bans', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 200 }), (n, times) => {
        const g = new AbuseGuard({ maxRefusals: n, windowMs: 1_000, cooldownMs: 500 });
        let windowStart = -Infinity;
        let answered = 0;
        for (const t of [...times].sort((a, b) => a - b)) {
          if (t - windowStart >= 1_000) {
            windowStart = t;
            answered = 0;
          }
          const v = g.refused('x', t);
          if (v === 'answer') answered++;
          else expect(g.isBanned('x', t)).toBe(true);
          expect(answered).toBeLessThanOrEqual(n);
        }
      }),
    );
  });
});

describe('ConnectionCore with an AbuseGuard', () => {
  const unknown = 0x7777;

  function flood(p: Pair, n: number): void {
    for (let i = 0; i < n; i++) p.a.core.request({ type: unknown, payload: new Uint8Array(4) }, p.now);
    p.drive();
  }

  it('answers unknown types with the reference text up to the allowance, then cuts (abuse) and refuses the identity at handshake (banned)', () => {
    const guard = new AbuseGuard({ maxRefusals: 5, cooldownMs: 60_000 });
    const limiter = new RateLimiter();
    const p = new Pair({ bComponents: { abuse: guard, rateLimiter: limiter } }).start();
    expect(p.a.core.state).toBe('open');
    // A single probe of an unknown type still gets its error answer (interop: community/reachability probes).
    flood(p, 1);
    const first = p.take(p.a, 'response');
    expect(first).toHaveLength(1);
    expect(first[0]!.error).toBe(unknownMessageTypeText(unknown));
    flood(p, 10);
    expect(p.take(p.a, 'response').map((r) => r.error)).toEqual(Array(4).fill(unknownMessageTypeText(unknown)));
    const closed = p.take(p.b, 'close');
    expect(closed[0]?.reason.code).toBe('abuse');
    expect(guard.isBanned(p.a.core.identity ?? '', p.now)).toBe(false); // a's own view has no identity of itself
    // The same identity again: refused once the handshake proves who it is.
    const again = new Pair({ bComponents: { abuse: guard, rateLimiter: limiter } }).start();
    expect(again.take(again.b, 'close')[0]?.reason.code).toBe('banned');
    expect(again.take(again.b, 'established')).toHaveLength(0);
    // After the cool-down it is welcome again.
    const later = new Pair({ bComponents: { abuse: guard, rateLimiter: limiter } });
    later.now = T0 + 61_000;
    later.start();
    expect(later.b.core.state).toBe('open');
  });

  it('error answers from owners count (unknown content); our own failures and back-pressure texts do not', () => {
    const guard = new AbuseGuard({ maxRefusals: 2 });
    const p = new Pair({ bComponents: { abuse: guard, rateLimiter: new RateLimiter() } }).start();
    const ask = (): number => {
      p.a.core.request({ type: MessageType.PEX_REQUEST, payload: pexRequestCodec.encode({ maxPeers: 8 }) }, p.now);
      p.drive();
      const req = p.take(p.b, 'inbound-request');
      return req[0]?.id ?? -1;
    };
    for (const text of ['internal error', 'request handler timed out', 'chunk request rate limit exceeded', 'internal error']) {
      p.b.core.respond(ask(), { error: text }, p.now);
      p.drive();
    }
    expect(p.b.core.state).toBe('open');
    p.b.core.respond(ask(), { error: 'chunk not found' }, p.now);
    p.b.core.respond(ask(), { error: 'chunk not found' }, p.now);
    p.drive();
    expect(p.b.core.state).toBe('open');
    const id = ask();
    expect(id).toBeGreaterThan(0);
    p.b.core.respond(id, { error: 'chunk not found' }, p.now);
    p.drive();
    expect(p.take(p.b, 'close')[0]?.reason.code).toBe('abuse');
  });

  it('relay tunnels (rate limiting off) are never cut', () => {
    const guard = new AbuseGuard({ maxRefusals: 1 });
    const p = new Pair({ bComponents: { abuse: guard, rateLimiter: new RateLimiter() } }).start();
    p.b.core.pinOpen({ rateLimit: false });
    flood(p, 20);
    expect(p.take(p.a, 'response')).toHaveLength(20);
    expect(p.b.core.state).toBe('open');
  });
});
