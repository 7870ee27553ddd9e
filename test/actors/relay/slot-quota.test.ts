import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRandom } from '../../../src/actors/runtime/random.js';
import { SlotTable, randomU64, RELAY_SLOTS_FULL_TEXT } from '../../../src/actors/relay/slot-table.js';
import { DailyQuotas, ThroughputCaps, ByteBucket, MIB, QuotaText } from '../../../src/actors/relay/quotas.js';
import { RelayGate, payloadCapFor, GateText } from '../../../src/actors/relay/gating.js';

const T0 = 1_700_000_000_000;
const table = (seed = 1, maxSlots?: number) => new SlotTable({ random: createRandom(seed) }, { maxSlots });

describe('SlotTable', () => {
  it('allocates non-zero random u64 ids that expire 600 s later', () => {
    const t = table();
    const r = t.register('pubkey:aa', null, T0);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.created).toBe(true);
    expect(r.slot.id).not.toBe(0n);
    expect(r.slot.expiresAt).toBe(BigInt(T0 / 1000) + 600n);
    expect(t.get(r.slot.id, T0 + 599_999)).toBeDefined();
    expect(t.get(r.slot.id, T0 + 600_000)).toBeUndefined();
  });

  it('renews only for the owner, and reports unknown or expired slots', () => {
    const t = table();
    const r = t.register('pubkey:aa', null, T0);
    if (!r.ok) throw new Error('register');
    expect(t.register('pubkey:bb', r.slot.id, T0 + 1000)).toMatchObject({ ok: false, wireText: 'relay slot owner mismatch' });
    const ok = t.register('pubkey:aa', r.slot.id, T0 + 300_000);
    expect(ok).toMatchObject({ ok: true, created: false });
    expect(r.slot.expiresAt).toBe(BigInt(T0 / 1000) + 300n + 600n);
    expect(t.register('pubkey:aa', 12345n, T0)).toMatchObject({ ok: false, wireText: 'relay slot not found' });
    expect(t.register('pubkey:aa', r.slot.id, T0 + 900_000 + 1)).toMatchObject({ ok: false, code: 'not-found' });
  });

  it('records RELAY_CONNECT requesters and checks senders', () => {
    const t = table();
    const r = t.register('pubkey:aa', null, T0);
    if (!r.ok) throw new Error('register');
    expect(t.connect('pubkey:cc', 999n, T0)).toMatchObject({ ok: false, wireText: 'relay slot not found' });
    expect(t.connect('pubkey:cc', r.slot.id, T0)).toMatchObject({ ok: true });
    expect(r.slot.requester).toBe('pubkey:cc');
    expect(t.maySend(r.slot, 'pubkey:cc')).toBe(true);
    expect(t.maySend(r.slot, 'pubkey:aa')).toBe(true);
    expect(t.maySend(r.slot, 'pubkey:dd')).toBe(false);
  });

  it('caps the number of slots and frees room on expiry', () => {
    const t = table(3, 2);
    t.register('a', null, T0);
    t.register('b', null, T0 + 1000);
    expect(t.register('c', null, T0 + 2000)).toMatchObject({ ok: false, code: 'full', wireText: RELAY_SLOTS_FULL_TEXT });
    expect(t.register('c', null, T0 + 600_000)).toMatchObject({ ok: true });
    expect(t.size).toBe(2);
    expect(t.liveOwners(T0 + 600_000)).toEqual(new Set(['b', 'c']));
  });

  it('one identity holds at most maxSlotsPerOwner live slots (renewals unaffected); others still get theirs', () => {
    const t = new SlotTable({ random: createRandom(4) }, { maxSlots: 64, maxSlotsPerOwner: 2 });
    const a1 = t.register('a', null, T0);
    const a2 = t.register('a', null, T0);
    expect(a1.ok && a2.ok).toBe(true);
    expect(t.register('a', null, T0)).toMatchObject({ ok: false, code: 'full', wireText: RELAY_SLOTS_FULL_TEXT });
    if (a1.ok) expect(t.register('a', a1.slot.id, T0 + 1000)).toMatchObject({ ok: true, created: false });
    expect(t.register('b', null, T0)).toMatchObject({ ok: true });
    // Once a's slots expire it may register again.
    expect(t.register('a', null, T0 + 3_600_000)).toMatchObject({ ok: true });
  });

  it('never hands out a reserved id or zero', () => {
    const r = createRandom(9);
    const first = randomU64(createRandom(9));
    const t = new SlotTable({ random: r }, { isIdReserved: (id) => id === first });
    const s = t.register('a', null, T0);
    expect(s.ok && s.slot.id).not.toBe(first);
  });

  it('property: against a model, renewal only by owner, expiry exact, ids unique and non-zero', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('reg' as const), who: fc.integer({ min: 0, max: 3 }), dt: fc.integer({ min: 0, max: 400_000 }) }),
      fc.record({ k: fc.constant('renew' as const), who: fc.integer({ min: 0, max: 3 }), pick: fc.nat(), dt: fc.integer({ min: 0, max: 400_000 }) }),
      fc.record({ k: fc.constant('connect' as const), who: fc.integer({ min: 0, max: 3 }), pick: fc.nat(), dt: fc.integer({ min: 0, max: 400_000 }) }),
    );
    fc.assert(
      fc.property(fc.integer(), fc.array(op, { maxLength: 60 }), (seed, ops) => {
        const t = new SlotTable({ random: createRandom(seed) }, { maxSlots: 5, maxSlotsPerOwner: 100 });
        const model = new Map<bigint, { owner: string; exp: bigint }>();
        const ever: bigint[] = [];
        let now = T0;
        for (const o of ops) {
          now += o.dt;
          const sec = BigInt(Math.floor(now / 1000));
          for (const [id, m] of model) if (sec >= m.exp) model.delete(id);
          const who = `pubkey:${o.who}`;
          if (o.k === 'reg') {
            const r = t.register(who, null, now);
            if (model.size >= 5) expect(r.ok).toBe(false);
            else {
              expect(r.ok).toBe(true);
              if (r.ok) {
                expect(r.slot.id).not.toBe(0n);
                expect(model.has(r.slot.id)).toBe(false);
                model.set(r.slot.id, { owner: who, exp: sec + 600n });
                ever.push(r.slot.id);
              }
            }
          } else {
            const id = ever.length ? ever[o.pick % ever.length]! : 1n;
            const m = model.get(id);
            const r = o.k === 'renew' ? t.register(who, id, now) : t.connect(who, id, now);
            if (!m) expect(r).toMatchObject({ ok: false, code: 'not-found' });
            else if (o.k === 'renew' && m.owner !== who) expect(r).toMatchObject({ ok: false, code: 'owner-mismatch' });
            else {
              expect(r.ok).toBe(true);
              if (o.k === 'renew') m.exp = sec + 600n;
            }
          }
          expect(t.size).toBe(model.size);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('DailyQuotas', () => {
  it('refuses content by default, with the reference texts', () => {
    const q = new DailyQuotas();
    expect(q.tryConsume('o', 'content', 1, 1, T0)).toMatchObject({ ok: false, wireText: QuotaText.CONTENT_DISABLED });
    expect(q.tryConsume('o', 'control', 16 * MIB, 1, T0)).toEqual({ ok: true });
    expect(q.tryConsume('o', 'control', 1, 1, T0)).toMatchObject({ ok: false, wireText: 'relay control-byte quota exceeded' });
  });

  it('opt-in content has its own 4 MiB budget; stream ids cap at 1,024 distinct', () => {
    const q = new DailyQuotas({ contentEnabled: true });
    expect(q.tryConsume('o', 'content', 4 * MIB, 1, T0).ok).toBe(true);
    expect(q.tryConsume('o', 'content', 1, 1, T0)).toMatchObject({ wireText: 'relay content-byte quota exceeded' });
    for (let i = 2; i <= 1024; i++) expect(q.tryConsume('o', 'control', 1, i, T0).ok).toBe(true);
    expect(q.tryConsume('o', 'control', 1, 1025, T0)).toMatchObject({ wireText: 'relay stream quota exceeded' });
    expect(q.tryConsume('o', 'control', 1, 7, T0).ok).toBe(true); // a known stream id is free
  });

  it('resets at the unix day boundary and drops owners without slots', () => {
    const q = new DailyQuotas({ controlBytesPerDay: 10 });
    const day = 86_400_000;
    const start = Math.floor(T0 / day) * day;
    expect(q.tryConsume('o', 'control', 10, 1, start + day - 1).ok).toBe(true);
    expect(q.tryConsume('o', 'control', 1, 1, start + day - 1).ok).toBe(false);
    expect(q.tryConsume('o', 'control', 10, 1, start + day).ok).toBe(true);
    q.retainOwners(new Set());
    expect(q.trackedOwners).toBe(0);
  });

  it('property: over random sequences no owner ever exceeds any daily limit', () => {
    const limits = { controlBytesPerDay: 1000, contentBytesPerDay: 300, streamsPerDay: 5, contentEnabled: true };
    const req = fc.record({
      owner: fc.integer({ min: 0, max: 2 }),
      kind: fc.constantFrom('control' as const, 'content' as const),
      bytes: fc.integer({ min: 0, max: 400 }),
      stream: fc.integer({ min: 0, max: 8 }),
      dt: fc.integer({ min: 0, max: 20_000_000 }),
    });
    fc.assert(
      fc.property(fc.array(req, { maxLength: 120 }), (reqs) => {
        const q = new DailyQuotas(limits);
        const used = new Map<string, { day: number; control: number; content: number; streams: Set<number> }>();
        let now = T0;
        for (const r of reqs) {
          now += r.dt;
          const day = Math.floor(now / 86_400_000);
          const k = `o${r.owner}`;
          let u = used.get(k);
          if (!u || u.day !== day) used.set(k, (u = { day, control: 0, content: 0, streams: new Set() }));
          if (q.tryConsume(k, r.kind, r.bytes, r.stream, now).ok) {
            if (r.kind === 'control') u.control += r.bytes;
            else u.content += r.bytes;
            u.streams.add(r.stream);
          }
          expect(u.control).toBeLessThanOrEqual(limits.controlBytesPerDay);
          expect(u.content).toBeLessThanOrEqual(limits.contentBytesPerDay);
          expect(u.streams.size).toBeLessThanOrEqual(limits.streamsPerDay);
          const rec = q.usage(k, now);
          expect(rec.controlBytes).toBe(u.control);
          expect(rec.contentBytes).toBe(u.content);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('RelayGate', () => {
  it('applies the adaptive payload caps and the content score floor', () => {
    expect([payloadCapFor(-1), payloadCapFor(0), payloadCapFor(4), payloadCapFor(5)]).toEqual([32768, 131072, 131072, 524288]);
    const g = new RelayGate();
    expect(g.check('r', 'content', 1)).toMatchObject({ ok: false, wireText: GateText.CONTENT_SCORE });
    expect(g.score('r')).toBe(-1);
    expect(g.check('r', 'control', 32 * 1024 + 1)).toMatchObject({ ok: false, code: 'payload-too-large' });
    expect(g.check('r', 'control', 32 * 1024).ok).toBe(true);
    for (let i = 0; i < 4; i++) g.reward('r');
    expect(g.score('r')).toBe(2);
    expect(g.check('r', 'content', 1).ok).toBe(true);
  });

  it('property: scores stay within ±10 and every pass respects the cap of the score at that time', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 600_000 }), fc.boolean()), { maxLength: 200 }), (ops) => {
        const g = new RelayGate();
        for (const [content, size, reward] of ops) {
          const before = g.score('x');
          const r = g.check('x', content ? 'content' : 'control', size);
          if (r.ok) {
            expect(size).toBeLessThanOrEqual(payloadCapFor(before));
            if (content) expect(before).toBeGreaterThanOrEqual(2);
            if (reward) g.reward('x');
          } else expect(g.score('x')).toBe(Math.max(-10, before - 1));
          expect(Math.abs(g.score('x'))).toBeLessThanOrEqual(10);
        }
      }),
    );
  });

  it('bounds how many requesters it remembers', () => {
    const g = new RelayGate({ maxTracked: 3 });
    for (let i = 0; i < 10; i++) g.adjust(`p${i}`, 1);
    expect(g.tracked).toBe(3);
  });
});

describe('Throughput caps', () => {
  it('property: bytes released by time t never exceed burst + rate × elapsed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 0, max: 2000 })), { maxLength: 80 }), (rate, ops) => {
        const b = new ByteBucket(rate, 0);
        let now = 0;
        const releases: [number, number][] = [];
        for (const [n, dt] of ops) {
          now += dt;
          releases.push([now + b.reserve(n, now), n]);
        }
        for (const [t] of releases) {
          const sum = releases.filter(([u]) => u <= t).reduce((a, [, n]) => a + n, 0);
          expect(sum).toBeLessThanOrEqual(rate + (rate * t) / 1000 + 1e-6);
        }
      }),
    );
  });

  it('applies the stricter of per-tunnel and global caps', () => {
    const c = new ThroughputCaps({ perTunnelBytesPerSecond: 1000, globalBytesPerSecond: 1500 }, 0);
    expect(c.reserve('a', 1000, 0)).toBe(0);
    expect(c.reserve('b', 1000, 0)).toBe(334); // global: 500 bytes of debt at 1,500 B/s
    expect(c.reserve('a', 500, 0)).toBe(667); // max(tunnel a: 500 B debt → 500 ms, global: 1,000 B debt → 667 ms)
    expect(new ThroughputCaps({}, 0).limited).toBe(false);
  });
});
