import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RoutingTable } from '../../../src/actors/dht/routing-table.js';
import { commonPrefixBits, compareDistance, contactOf } from '../../../src/actors/dht/node-distance.js';
import { subnetKey } from '../../../src/actors/dht/subnet.js';
import type { Contact } from '../../../src/actors/dht/types.js';

const localPub = new Uint8Array(32).fill(7);
const local = contactOf({ ip: '1.1.1.1', port: 1, transport: 'tcp', pubkeyHint: localPub })!;

const contactArb = fc
  .record({ seed: fc.uint8Array({ minLength: 32, maxLength: 32 }), net: fc.integer({ min: 0, max: 5 }), host: fc.integer({ min: 1, max: 254 }) })
  .map(({ seed, net, host }) => contactOf({ ip: net === 0 ? `10.0.0.${host}` : `${20 + net}.0.0.${host}`, port: 7001, transport: 'tcp', pubkeyHint: seed })!);

type Cmd = { op: 'observe'; c: Contact } | { op: 'fail'; i: number } | { op: 'ping'; alive: boolean } | { op: 'remove'; i: number };
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: contactArb.map((c) => ({ op: 'observe' as const, c })) },
  { weight: 1, arbitrary: fc.nat().map((i) => ({ op: 'fail' as const, i })) },
  { weight: 1, arbitrary: fc.boolean().map((alive) => ({ op: 'ping' as const, alive })) },
  { weight: 1, arbitrary: fc.nat().map((i) => ({ op: 'remove' as const, i })) },
);

describe('RoutingTable (model-based)', () => {
  it('keeps bucket, capacity, subnet and closest invariants under any command sequence', () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { maxLength: 120 }), fc.uint8Array({ minLength: 20, maxLength: 20 }), (cmds, target) => {
        const k = 4;
        const t = new RoutingTable({ localId: local.id }, { k });
        const model = new Map<string, Contact>(); // everything ever observed: the table may only hold these
        const pings: string[] = [];
        let now = 0;
        for (const cmd of cmds) {
          now += 1;
          const keys = t.entries().map((e) => e.contact.key);
          if (cmd.op === 'observe') {
            const r = t.observe(cmd.c, now);
            model.set(cmd.c.key, cmd.c);
            if (r.kind === 'ping') pings.push(r.lru.key);
            if (r.kind === 'added') expect(t.has(cmd.c.key)).toBe(true);
          } else if (cmd.op === 'fail' && keys.length) {
            t.recordFailure(keys[cmd.i % keys.length]!, now);
          } else if (cmd.op === 'ping' && pings.length) {
            t.pingResult(pings.shift()!, cmd.alive, now);
          } else if (cmd.op === 'remove' && keys.length) {
            t.remove(keys[cmd.i % keys.length]!, now);
          }
          // Invariants.
          const entries = t.entries();
          expect(new Set(entries.map((e) => e.contact.key)).size).toBe(entries.length);
          expect(t.size).toBe(entries.length);
          for (let b = 0; b < 12; b++) {
            const be = t.bucketEntries(b);
            expect(be.length).toBeLessThanOrEqual(k);
            const per = new Map<string, number>();
            for (const e of be) {
              expect(commonPrefixBits(local.id, e.contact.id)).toBe(b);
              const s = subnetKey(e.contact.addr.ip);
              if (s !== null) per.set(s, (per.get(s) ?? 0) + 1);
              // least-recently-seen first
            }
            for (const n of per.values()) expect(n).toBeLessThanOrEqual(2);
            for (let i = 1; i < be.length; i++) expect(be[i - 1]!.lastSeen).toBeLessThanOrEqual(be[i]!.lastSeen);
          }
        }
        // closest(target) = all entries sorted by XOR distance, truncated.
        const all = t.entries().map((e) => e.contact).sort((a, b) => compareDistance(a.id, b.id, target));
        expect(t.closest(target, 7).map((c) => c.key)).toEqual(all.slice(0, 7).map((c) => c.key));
        for (const e of t.entries()) expect(model.has(e.contact.key)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('asks to ping the least-recently-seen entry of a full bucket and evicts it only when dead', () => {
    const t = new RoutingTable({ localId: local.id }, { k: 2 });
    // Fill bucket 0 (ids whose first bit differs from local's).
    const inBucket0: Contact[] = [];
    for (let i = 0; inBucket0.length < 4; i++) {
      const c = contactOf({ ip: `30.${i}.0.1`, port: 1, transport: 'tcp', pubkeyHint: new Uint8Array(32).fill(i + 1) })!;
      if (t.bucketIndexOf(c.id) === 0) inBucket0.push(c);
    }
    const [a, b, c, d] = inBucket0 as [Contact, Contact, Contact, Contact];
    expect(t.observe(a, 1).kind).toBe('added');
    expect(t.observe(b, 2).kind).toBe('added');
    const r = t.observe(c, 3);
    expect(r).toEqual({ kind: 'ping', lru: a });
    expect(t.observe(d, 4).kind).toBe('pending');
    t.pingResult(a.key, true, 5);
    expect(t.has(a.key) && t.has(b.key) && !t.has(c.key)).toBe(true);
    expect(t.observe(c, 6)).toEqual({ kind: 'ping', lru: b });
    t.pingResult(b.key, false, 7);
    expect(t.has(b.key)).toBe(false);
    expect(t.has(c.key) || t.has(d.key)).toBe(true);
  });

  it('limits a public /24 to 2 per bucket, exempts private and loopback ranges', () => {
    expect(subnetKey('8.8.8.8')).toBe('4:8.8.8');
    expect(subnetKey('127.0.0.1')).toBeNull();
    expect(subnetKey('192.168.1.9')).toBeNull();
    expect(subnetKey('::1')).toBeNull();
    expect(subnetKey('2001:db8:1:2::5')).toBe('6:20010db80001');
    expect(subnetKey('::ffff:8.8.4.4')).toBe('4:8.8.4');
  });
});
