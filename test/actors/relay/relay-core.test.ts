import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRandom } from '../../../src/actors/runtime/random.js';
import { RelayCore, RelayText, type RelayEffect } from '../../../src/actors/relay/relay-core.js';
import { RelayDirectory, buildRelayAnnouncement, relayDiscoveryPlan, relayPublishPlan } from '../../../src/actors/relay/relay-directory.js';
import { encodeEnvelope, errorText, responseEnvelope, type Envelope } from '../../../src/protocol/envelope.js';
import { MessageType } from '../../../src/protocol/registry.js';
import {
  relayConnectCodec, relayListRequestCodec, relayListResponseCodec, relayRegisterCodec, relayRegisteredCodec, relayStreamCodec,
} from '../../../src/protocol/relay-messages.js';
import { publicKeyFromSeed } from '../../../src/protocol/keys.js';
import { relayAnnouncementKeys, decodeRelayAnnouncement } from '../../../src/protocol/relay-announcement.js';
import { relayRendezvousKey, rendezvousBucket } from '../../../src/protocol/dht-keys.js';
import { toHex } from '../../../src/protocol/bytes.js';

const T0 = 1_700_000_000_000;
const A = 'pubkey:aa';
const B = 'pubkey:bb';
const req = (type: number, reqId: number, payload: Uint8Array): Envelope => ({ type, reqId, flags: 0, payload });
const drain = (c: RelayCore): RelayEffect[] => {
  const out: RelayEffect[] = [];
  for (let e = c.pollEffect(); e; e = c.pollEffect()) out.push(e);
  return out;
};
const core = (init = {}) => new RelayCore({ random: createRandom(7) }, { enabled: true, ...init }, T0);
const register = (c: RelayCore, conn: number, who: string, tunnel: boolean, slot: bigint | null = null, now = T0) => {
  c.handle({ type: 'request', conn, requester: who, envelope: req(450, 1, relayRegisterCodec.encode({ relaySlotId: slot, tunnel })) }, now);
  return drain(c);
};

describe('RelayCore', () => {
  it('RELAY_REGISTER with tunnel: REGISTERED first, then tunnel-open; downloads flow through the tunnel', () => {
    const c = core();
    const es = register(c, 1, A, true);
    expect(es.map((e) => e.kind)).toEqual(['reply', 'tunnel-open']);
    const reply = (es[0] as Extract<RelayEffect, { kind: 'reply' }>).envelope;
    expect(reply).toMatchObject({ type: 451, reqId: 1, flags: 1 });
    const reg = relayRegisteredCodec.decode(reply.payload);
    expect(reg.expiresAt).toBe(BigInt(T0 / 1000) + 600n);
    expect(es[1]).toMatchObject({ kind: 'tunnel-open', conn: 1, slotId: reg.relaySlotId });

    const innerReq = encodeEnvelope(req(MessageType.GET_MANIFEST, 1, Uint8Array.of(0xa0)));
    c.handle({ type: 'request', conn: 2, requester: B, envelope: req(453, 1, relayStreamCodec.encode({ relaySlotId: reg.relaySlotId, streamId: 0, kind: 'content', payload: innerReq })) }, T0 + 1);
    const fwd = drain(c);
    expect(fwd).toEqual([{ kind: 'tunnel-send', conn: 1, slotId: reg.relaySlotId, bytes: innerReq }]);
    const innerResp = encodeEnvelope(responseEnvelope(MessageType.MANIFEST_DATA, 1, Uint8Array.of(1)));
    c.handle({ type: 'tunnel-response', conn: 1, bytes: innerResp }, T0 + 2);
    const [out] = drain(c) as Extract<RelayEffect, { kind: 'reply' }>[];
    expect(out!.conn).toBe(2);
    expect(relayStreamCodec.decode(out!.envelope.payload).payload).toEqual(innerResp);
    // The tunnel outlives its slot (§9.3 step 6).
    c.handleTimeout(T0 + 700_000);
    expect(c.tunnels.hasTunnel(reg.relaySlotId)).toBe(true);
    c.handle({ type: 'connection-closed', conn: 1 }, T0 + 700_001);
    expect(c.tunnels.hasTunnel(reg.relaySlotId)).toBe(false);
  });

  it('§9.2 path without a tunnel: gating, slot, sender, quotas, then an echo', () => {
    const c = core();
    const reg = relayRegisteredCodec.decode((register(c, 1, A, false)[0] as Extract<RelayEffect, { kind: 'reply' }>).envelope.payload);
    const send = (who: string, kind: 'control' | 'content', n: number, reqId = 9) => {
      const s = { relaySlotId: reg.relaySlotId, streamId: 4, kind, payload: new Uint8Array(n) };
      c.handle({ type: 'request', conn: 3, requester: who, envelope: req(453, reqId, relayStreamCodec.encode(s)) }, T0 + 10);
      return (drain(c)[0] as Extract<RelayEffect, { kind: 'reply' }>).envelope;
    };
    expect(errorText(send(A, 'control', 10))).toBe(RelayText.NO_REQUESTER);
    expect(errorText(send(B, 'control', 10))).toBe(RelayText.NOT_ON_SLOT);
    c.handle({ type: 'request', conn: 3, requester: B, envelope: req(452, 5, relayConnectCodec.encode({ relaySlotId: reg.relaySlotId })) }, T0 + 5);
    expect(drain(c)[0]).toMatchObject({ kind: 'reply', envelope: { type: 452, reqId: 5, flags: 1, payload: new Uint8Array(0) } });
    const ok = send(B, 'control', 10);
    expect(ok).toMatchObject({ type: 453, reqId: 9, flags: 1 });
    expect(relayStreamCodec.decode(ok.payload)).toMatchObject({ relaySlotId: reg.relaySlotId, streamId: 4, kind: 'control' });
    expect(c.gate.score(B)).toBe(1);
    expect(errorText(send(B, 'content', 10))).toMatch(/higher relay score/);
    expect(c.gate.score(B)).toBe(0);
    expect(errorText(send(B, 'control', 128 * 1024 + 1))).toMatch(/adaptive limit/);
  });

  it('refuses relay ops when the role is off or the identity is unknown, but always answers RELAY_LIST_REQUEST', () => {
    const off = new RelayCore({ random: createRandom(1) }, {}, T0);
    expect(errorText((register(off, 1, A, true)[0] as Extract<RelayEffect, { kind: 'reply' }>).envelope)).toBe('unsupported message type');
    const c = core();
    c.handle({ type: 'request', conn: 1, requester: null, envelope: req(450, 1, relayRegisterCodec.encode({ relaySlotId: null, tunnel: true })) }, T0);
    expect(errorText((drain(c)[0] as Extract<RelayEffect, { kind: 'reply' }>).envelope)).toBe(RelayText.NO_IDENTITY);
    off.handle({ type: 'request', conn: 1, requester: null, envelope: req(460, 3, relayListRequestCodec.encode({ maxCount: 5 })) }, T0);
    const [r] = drain(off) as Extract<RelayEffect, { kind: 'reply' }>[];
    expect(r!.envelope).toMatchObject({ type: 461, reqId: 3, flags: 1 });
    expect(relayListResponseCodec.decode(r!.envelope.payload).announcements).toEqual([]);
    c.handle({ type: 'request', conn: 1, requester: A, envelope: req(450, 4, Uint8Array.of(0xff)) }, T0);
    expect((drain(c)[0] as Extract<RelayEffect, { kind: 'reply' }>).envelope).toMatchObject({ type: 450, reqId: 4, flags: 3 });
  });

  it('caps tunnels and renews slots by owner only', () => {
    const c = core({ maxTunnels: 1 });
    const first = register(c, 1, A, true);
    expect(first).toHaveLength(2);
    expect(errorText((register(c, 2, B, true)[0] as Extract<RelayEffect, { kind: 'reply' }>).envelope)).toBe(RelayText.TUNNELS_FULL);
    const id = relayRegisteredCodec.decode((first[0] as Extract<RelayEffect, { kind: 'reply' }>).envelope.payload).relaySlotId;
    expect(errorText((register(c, 3, B, false, id)[0] as Extract<RelayEffect, { kind: 'reply' }>).envelope)).toBe('relay slot owner mismatch');
    expect((register(c, 3, A, false, id)[0] as Extract<RelayEffect, { kind: 'reply' }>).envelope.flags).toBe(1);
  });

  it('announces itself on schedule and serves its own announcement in RELAY_LIST_RESPONSE', () => {
    const seed = new Uint8Array(32).fill(42);
    const pub = publicKeyFromSeed(seed);
    const c = core({ announce: { seed, relayPubkey: pub, relayAddrs: [{ ip: '10.0.0.1', port: 7001, transport: 'tcp', pubkeyHint: null }] } });
    expect(c.nextDeadline()).toBe(T0);
    c.handleTimeout(T0);
    const [pubEff] = drain(c);
    expect(pubEff!.kind).toBe('publish-announcement');
    if (!pubEff || pubEff.kind !== 'publish-announcement') return;
    expect(pubEff.plan.keys.map(toHex)).toEqual(relayAnnouncementKeys(pub, T0 / 1000).map(toHex));
    expect(c.nextDeadline()).toBe(T0 + 1_800_000);
    c.handle({ type: 'request', conn: 1, requester: B, envelope: req(460, 3, relayListRequestCodec.encode({ maxCount: 5 })) }, T0 + 1);
    const [r] = drain(c) as Extract<RelayEffect, { kind: 'reply' }>[];
    expect(relayListResponseCodec.decode(r!.envelope.payload).announcements).toHaveLength(1);
  });
});

describe('RelayDirectory', () => {
  const seedOf = (i: number) => new Uint8Array(32).fill(i);
  const ann = (i: number, now: number, ttl = 3600) =>
    buildRelayAnnouncement({ relayPubkey: publicKeyFromSeed(seedOf(i)), relayAddrs: [{ ip: `10.0.0.${i}`, port: 7001, transport: 'tcp', pubkeyHint: null }], ttlSecs: ttl }, now, seedOf(i));

  it('keeps the newest valid announcement per relay, prunes at expiry, lists ≤ max_count', () => {
    const d = new RelayDirectory();
    const a1 = ann(1, T0);
    expect(d.offer(a1, T0)).toEqual({ accepted: true, replaced: false });
    expect(d.offer(ann(1, T0 + 5000), T0 + 5000)).toEqual({ accepted: true, replaced: true });
    expect(d.offer(a1, T0 + 6000)).toEqual({ accepted: false, reason: 'older' });
    expect(d.offer({ ...ann(2, T0), signature: new Uint8Array(64) }, T0)).toEqual({ accepted: false, reason: 'bad_signature' });
    expect(d.offer(ann(3, T0, 100), T0 + 100_000)).toEqual({ accepted: false, reason: 'expired' });
    d.offer(ann(4, T0), T0);
    expect(d.list(1, T0 + 1).length).toBe(1);
    expect(d.list(10, T0 + 1).length).toBe(2);
    expect(d.list(10, T0 + 3600_000 + 5000).length).toBe(0);
  });

  it('publish plan: the relay’s 2 keys of the current bucket, ttl ≥ 24 h; discovery: all 16 keys', () => {
    const a = ann(5, T0);
    const plan = relayPublishPlan(a, T0);
    expect(plan.keys.map(toHex)).toEqual(relayAnnouncementKeys(a.relayPubkey, T0 / 1000).map(toHex));
    expect(plan.ttlSecs).toBe(86_400);
    expect(decodeRelayAnnouncement(plan.value)).toEqual(a);
    const disc = relayDiscoveryPlan(1_700_000_000_000);
    expect(disc.bucket).toBe(472_222n);
    expect(disc.keys).toHaveLength(16);
    expect(toHex(disc.keys[0]!)).toBe('dbfed2703d32237fd93be017d69629b300096ac3373b2f681248ebd2e560b472');
    for (const k of plan.keys) expect(disc.keys.map(toHex)).toContain(toHex(k));
    expect(toHex(relayRendezvousKey(rendezvousBucket(T0 / 1000), 15))).toBe(toHex(relayDiscoveryPlan(T0).keys[15]!));
  });

  it('property: the cache never exceeds its bound and never returns expired entries', () => {
    const pool = Array.from({ length: 6 }, (_, i) => [ann(i + 1, T0, 600), ann(i + 1, T0 + 300_000, 600)]).flat();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(pool.length - 1), fc.integer({ min: 0, max: 200_000 })), { maxLength: 40 }), (ops) => {
        const d = new RelayDirectory({ maxEntries: 3 });
        let now = T0;
        for (const [i, dt] of ops) {
          now += dt;
          d.offer(pool[i]!, now);
          expect(d.size).toBeLessThanOrEqual(3);
          for (const a of d.list(10, now)) expect(BigInt(Math.floor(now / 1000)) < a.expiresAt).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });
});

