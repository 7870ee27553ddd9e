import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeDeltaCursor, encodeDeltaCursor } from '../../../../src/actors/index/communities/cursors.js';
import { toHex } from '../../../../src/protocol/bytes.js';
import { NOW, directory, record, tokenFor, nodeSeed } from './helpers.js';
import { publicKeyFromSeed } from '../../../../src/protocol/keys.js';
import type { CommunityMemberRecord } from '../../../../src/protocol/community-ext.js';

const keyOf = (r: CommunityMemberRecord): string => toHex(r.memberNodePubkey);

describe('member directory: acceptance', () => {
  it('accepts a signed live record and lists it', () => {
    const d = directory();
    expect(d.accept(record(1), NOW)).toEqual({ accepted: true });
    expect(d.live(NOW).map(keyOf)).toEqual([keyOf(record(1))]);
  });

  it('refuses stale, future, over-long and forged records', () => {
    const d = directory();
    expect(d.accept(record(1, { issuedAt: NOW - 4_000 }), NOW)).toEqual({ accepted: false, reason: 'stale' });
    expect(d.accept(record(1, { issuedAt: NOW + 1_000 }), NOW)).toEqual({ accepted: false, reason: 'from_future' });
    expect(d.accept(record(1, { ttl: 30_000 }), NOW)).toEqual({ accepted: false, reason: 'bad_ttl' });
    const forged = { ...record(1), addrs: [{ ip: '6.6.6.6', port: 1, transport: 'tcp' as const, pubkeyHint: null }] };
    expect(d.accept(forged, NOW)).toEqual({ accepted: false, reason: 'bad_signature' });
    const impostor = { ...record(1), memberNodePubkey: record(2).memberNodePubkey };
    expect(d.accept(impostor, NOW)).toEqual({ accepted: false, reason: 'bad_signature' });
    expect(d.size).toBe(0);
  });

  it('replaces only with a strictly newer record (a replayed old one changes nothing)', () => {
    const d = directory();
    d.accept(record(1, { issuedAt: NOW - 10 }), NOW);
    expect(d.accept(record(1, { issuedAt: NOW - 10 }), NOW)).toEqual({ accepted: false, reason: 'not_newer' });
    expect(d.accept(record(1, { issuedAt: NOW - 20 }), NOW)).toEqual({ accepted: false, reason: 'not_newer' });
    expect(d.accept(record(1, { issuedAt: NOW }), NOW)).toEqual({ accepted: true });
    expect(d.size).toBe(1);
  });

  it('a leave tombstone hides the member; without one the member disappears within one TTL', () => {
    const d = directory();
    d.accept(record(1, { issuedAt: NOW }), NOW);
    d.accept(record(2, { issuedAt: NOW }), NOW);
    d.accept(record(1, { issuedAt: NOW + 1, left: true }), NOW + 1);
    expect(d.live(NOW + 1).map(keyOf)).toEqual([keyOf(record(2))]);
    // member 2 left silently (stopped refreshing): gone one TTL after its last record
    expect(d.live(NOW + 3_599).length).toBe(1);
    expect(d.live(NOW + 3_600).length).toBe(0);
  });

  it('strict: a record must carry a token the community key issued for this member', () => {
    const d = directory(true);
    const pub1 = publicKeyFromSeed(nodeSeed(1));
    expect(d.accept(record(1), NOW)).toEqual({ accepted: false, reason: 'token_missing' });
    // forged: signed by another key that claims to be the community
    expect(d.accept(record(1, { token: tokenFor(pub1, new Uint8Array(32).fill(9)) }), NOW).accepted).toBe(false);
    // stolen: a valid token issued to someone else
    expect(d.accept(record(1, { token: tokenFor(publicKeyFromSeed(nodeSeed(2))) }), NOW)).toEqual({ accepted: false, reason: 'token_invalid' });
    expect(d.accept(record(1, { token: tokenFor(pub1) }), NOW)).toEqual({ accepted: true });
  });
});

describe('member directory: paging and delta sync', () => {
  // The 10,000-member browse over the wire is in test/sim/communities-sim.test.ts; this is the directory alone.
  it('a 2,000-member directory paged 100 at a time gives every member exactly once, in key order', () => {
    const d = directory();
    const all = Array.from({ length: 2_000 }, (_, i) => record(i));
    for (const r of all) expect(d.accept(r, NOW).accepted).toBe(true);
    const seen: string[] = [];
    let cursor: Uint8Array | null = null;
    let pages = 0;
    do {
      const p = d.page(cursor, 100, NOW);
      expect(p.members.length).toBeLessThanOrEqual(100);
      seen.push(...p.members.map(keyOf));
      cursor = p.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(20);
    expect(seen.length).toBe(2_000);
    expect(new Set(seen).size).toBe(2_000);
    expect([...seen].sort()).toEqual(seen);
  }, 60_000);

  it('a delta sync after 100 joins returns exactly those 100', () => {
    const d = directory();
    for (let i = 0; i < 1_000; i++) d.accept(record(i), NOW);
    const since = d.page(null, 10, NOW).syncCursor;
    const joins = Array.from({ length: 100 }, (_, i) => record(5_000 + i));
    for (const r of joins) d.accept(r, NOW);
    const got: string[] = [];
    let c = since;
    for (;;) {
      const r = d.delta(c, 30, NOW);
      expect(r.reset).toBe(false);
      got.push(...r.members.map(keyOf));
      c = r.nextCursor;
      if (!r.more) break;
    }
    expect(got).toEqual(joins.map(keyOf));
    expect(d.delta(c, 500, NOW).members).toEqual([]);
  });

  it('a delta carries tombstones and refreshes, and a cursor of another epoch resets', () => {
    const d = directory(false, 7n);
    d.accept(record(1), NOW);
    d.accept(record(2), NOW);
    const since = d.syncCursor();
    d.accept(record(1, { issuedAt: NOW + 5, left: true }), NOW + 5);
    d.accept(record(2, { issuedAt: NOW + 6 }), NOW + 6);
    const r = d.delta(since, 100, NOW + 6);
    expect(r.members.map((m) => [keyOf(m), m.left])).toEqual([[keyOf(record(1)), true], [keyOf(record(2)), false]]);
    expect(d.delta(encodeDeltaCursor(8n, 0n), 100, NOW + 6).reset).toBe(true);
    expect(d.delta(new Uint8Array(3), 100, NOW + 6).reset).toBe(true);
    expect(decodeDeltaCursor(r.nextCursor)).toEqual({ epoch: 7n, seq: 4n });
  });

  it('property: any page size and any join order give every live member exactly once', () => {
    const pool = Array.from({ length: 60 }, (_, i) => record(i));
    fc.assert(
      fc.property(fc.shuffledSubarray(pool), fc.integer({ min: 1, max: 70 }), (rs, size) => {
        const d = directory();
        for (const r of rs) d.accept(r, NOW);
        const seen: string[] = [];
        let cursor: Uint8Array | null = null;
        do {
          const p = d.page(cursor, size, NOW);
          seen.push(...p.members.map(keyOf));
          cursor = p.nextCursor;
        } while (cursor);
        expect(seen).toEqual(rs.map(keyOf).sort());
      }),
      { numRuns: 60 },
    );
  });

  it('property: replaying a delta into a mirror reproduces the source directory', () => {
    const pool = Array.from({ length: 30 }, (_, i) => record(i));
    fc.assert(
      fc.property(fc.array(fc.nat(29), { maxLength: 80 }), fc.integer({ min: 1, max: 10 }), (ops, size) => {
        const src = directory();
        const mirror = directory(false, 99n);
        let cursor = src.syncCursor();
        let t = NOW;
        for (const i of ops) {
          t++;
          src.accept(record(i, { issuedAt: t, left: t % 5 === 0 }), t);
          if (t % 7 === 0) {
            for (;;) {
              const r = src.delta(cursor, size, t);
              for (const m of r.members) mirror.accept(m, t);
              cursor = r.nextCursor;
              if (!r.more) break;
            }
          }
        }
        for (;;) {
          const r = src.delta(cursor, size, t);
          for (const m of r.members) mirror.accept(m, t);
          cursor = r.nextCursor;
          if (!r.more) break;
        }
        expect(mirror.live(t).map(keyOf)).toEqual(src.live(t).map(keyOf));
      }),
      { numRuns: 40 },
    );
  });
});
