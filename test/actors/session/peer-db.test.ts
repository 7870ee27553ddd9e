import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PeerDb, REPUTATION_MAX, REPUTATION_MIN } from '../../../src/actors/session/peer-db.js';
import { createRandom } from '../../../src/actors/runtime/random.js';
import { NO_CAPABILITIES, peerAddrKey, type PeerAddr } from '../../../src/protocol/peer-addr.js';

const addr = (i: number, transport: 'tcp' | 'quic' = 'tcp'): PeerAddr => ({ ip: `10.0.${i >> 8}.${i & 255}`, port: 7001, transport, pubkeyHint: null });
const DAY = 86_400_000;
const CAPS = { ...NO_CAPABILITIES, dht: true };

describe('PeerDb', () => {
  it('upserts, refreshes last seen, and samples only fresh peers (≤ 64, no duplicates)', () => {
    const db = new PeerDb({ random: createRandom(1) });
    for (let i = 0; i < 100; i++) db.upsert(addr(i), i < 50 ? 0 : DAY, { source: 'pex' });
    const s = db.pexSample(200, DAY + 10);
    expect(s.length).toBe(50); // the first 50 are older than 24 h
    expect(new Set(s.map(peerAddrKey)).size).toBe(50);
    for (let i = 0; i < 50; i++) db.upsert(addr(i), DAY, { source: 'pex' });
    expect(db.pexSample(200, DAY + 10).length).toBe(64);
    expect(db.pexSample(3, DAY + 10).length).toBe(3);
  });

  it('pex sample is roughly uniform', () => {
    const db = new PeerDb({ random: createRandom(7) });
    for (let i = 0; i < 10; i++) db.upsert(addr(i), 0, { source: 'pex' });
    const counts = new Map<string, number>();
    for (let k = 0; k < 2000; k++) for (const a of db.pexSample(3, 0)) counts.set(peerAddrKey(a), (counts.get(peerAddrKey(a)) ?? 0) + 1);
    for (const c of counts.values()) expect(c).toBeGreaterThan(450); // expected 600
  });

  it('dial failures back off exponentially and a success resets; reputation is clamped', () => {
    const db = new PeerDb({ random: createRandom(2) }, { backoffBaseMs: 1000, backoffMaxMs: 60_000 });
    const a = addr(1);
    db.upsert(a, 0, { source: 'bootstrap' });
    let prev = 0;
    for (let i = 1; i <= 10; i++) {
      const r = db.recordDialFailure(a, 0)!;
      expect(r.failures).toBe(i);
      expect(r.nextDialAt).toBeLessThanOrEqual(60_000);
      if (i <= 5) expect(r.nextDialAt).toBeGreaterThan(prev * 0.75);
      prev = r.nextDialAt;
    }
    expect(db.get(a)!.reputation).toBe(REPUTATION_MIN);
    expect(db.dialCandidates(0)).toEqual([]);
    expect(db.dialCandidates(60_000).length).toBe(1);
    const key = new Uint8Array(32).fill(9);
    db.recordDialSuccess(a, key, CAPS, 5);
    const r = db.get(a)!;
    expect(r).toMatchObject({ failures: 0, nextDialAt: 0, verified: true, reputation: REPUTATION_MIN + 1, capabilities: CAPS });
    for (let i = 0; i < 30; i++) db.recordOutcome(a, true);
    expect(db.get(a)!.reputation).toBe(REPUTATION_MAX);
  });

  it('identities never create address records; their capabilities attach to matching hints', () => {
    const db = new PeerDb({ random: createRandom(3) });
    const key = new Uint8Array(32).fill(4);
    db.noteIdentity(key, CAPS, 100);
    expect(db.size).toBe(0);
    const r = db.upsert({ ...addr(5), pubkeyHint: key }, 200, { source: 'pex' });
    expect(r.capabilities).toEqual(CAPS);
    expect(db.freshCapabilities(addr(5), 100 + DAY)).toEqual(CAPS);
    expect(db.freshCapabilities(addr(5), 101 + DAY)).toBeNull();
  });

  it('a verified hint is not overwritten by an unproven offer', () => {
    const db = new PeerDb({ random: createRandom(3) });
    const k1 = new Uint8Array(32).fill(1);
    db.recordDialSuccess(addr(1), k1, CAPS, 0);
    db.upsert({ ...addr(1), pubkeyHint: new Uint8Array(32).fill(2) }, 1, { source: 'pex' });
    expect(db.get(addr(1))!.addr.pubkeyHint).toEqual(k1);
  });

  it('is bounded and keeps bootstrap peers', () => {
    const db = new PeerDb({ random: createRandom(4) }, { maxRecords: 10 });
    db.upsert(addr(999), 0, { source: 'bootstrap' });
    for (let i = 0; i < 50; i++) db.upsert(addr(i), i + 1, { source: 'pex' });
    expect(db.size).toBe(10);
    expect(db.get(addr(999))).toBeDefined();
    expect(db.get(addr(49))).toBeDefined();
  });

  it('snapshot is JSON-safe and restore round-trips', () => {
    const db = new PeerDb({ random: createRandom(5) });
    db.upsert({ ...addr(1), relayVia: { relayAddr: addr(2, 'quic'), slotId: 2n ** 63n + 5n } }, 10, { source: 'pex' });
    db.recordDialSuccess(addr(3), new Uint8Array(32).fill(3), CAPS, 20);
    db.recordDialFailure(addr(1), 30);
    const snap = JSON.parse(JSON.stringify(db.snapshot()));
    const db2 = new PeerDb({ random: createRandom(5) });
    db2.restore(snap);
    expect(db2.snapshot()).toEqual(db.snapshot());
    expect(db2.get(addr(1))!.addr.relayVia!.slotId).toBe(2n ** 63n + 5n);
  });

  it('model test: records match a simple map model under random operations', () => {
    type Op =
      | { k: 'up'; i: number; t: number }
      | { k: 'fail'; i: number; t: number }
      | { k: 'ok'; i: number; t: number }
      | { k: 'rm'; i: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ k: fc.constant('up' as const), i: fc.integer({ min: 0, max: 20 }), t: fc.nat(10 * DAY) }),
      fc.record({ k: fc.constant('fail' as const), i: fc.integer({ min: 0, max: 20 }), t: fc.nat(10 * DAY) }),
      fc.record({ k: fc.constant('ok' as const), i: fc.integer({ min: 0, max: 20 }), t: fc.nat(10 * DAY) }),
      fc.record({ k: fc.constant('rm' as const), i: fc.integer({ min: 0, max: 20 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.nat(10 * DAY), fc.integer({ min: 0, max: 100 }), (ops, now, max) => {
        const db = new PeerDb({ random: createRandom(6) });
        const model = new Map<string, { lastSeen: number; rep: number; failures: number }>();
        for (const o of ops) {
          const a = addr(o.i);
          const k = peerAddrKey(a);
          if (o.k === 'up') {
            db.upsert(a, o.t, { source: 'pex' });
            const m = model.get(k);
            if (m) m.lastSeen = Math.max(m.lastSeen, o.t);
            else model.set(k, { lastSeen: o.t, rep: 0, failures: 0 });
          } else if (o.k === 'fail') {
            db.recordDialFailure(a, o.t);
            const m = model.get(k);
            if (m) {
              m.failures++;
              m.rep = Math.max(-10, m.rep - 2);
            }
          } else if (o.k === 'ok') {
            db.recordDialSuccess(a, new Uint8Array(32).fill(o.i), CAPS, o.t);
            const m = model.get(k);
            if (m) Object.assign(m, { lastSeen: Math.max(m.lastSeen, o.t), rep: Math.min(10, m.rep + 1), failures: 0 });
            else model.set(k, { lastSeen: o.t, rep: 1, failures: 0 });
          } else {
            db.remove(a);
            model.delete(k);
          }
        }
        expect(db.size).toBe(model.size);
        for (const [k, m] of model) {
          const r = db.get(k)!;
          expect({ lastSeen: r.lastSeen, rep: r.reputation, failures: r.failures }).toEqual(m);
        }
        const sample = db.pexSample(max, now);
        const fresh = [...model].filter(([, m]) => now - m.lastSeen <= DAY).length;
        expect(sample.length).toBe(Math.min(max, 64, fresh));
        for (const a of sample) expect(now - model.get(peerAddrKey(a))!.lastSeen).toBeLessThanOrEqual(DAY);
      }),
      { numRuns: 200 },
    );
  });
});
