import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../../../src/actors/runtime/random.js';
import { PeerDb } from '../../../src/actors/session/peer-db.js';
import { answerPexRequest, checkOfferedAddr, ipScope, mergePexOffer, ownOffer, PexScheduler } from '../../../src/actors/session/pex.js';
import { peerAddrKey, type PeerAddr } from '../../../src/protocol/peer-addr.js';

const A = (ip: string, port = 7001, hint: Uint8Array | null = null): PeerAddr => ({ ip, port, transport: 'tcp', pubkeyHint: hint });
const SELF = new Uint8Array(32).fill(1);

describe('PEX address policy', () => {
  it('classifies addresses', () => {
    expect(['0.0.0.0', '255.255.255.255', '224.0.0.1', '::', 'ff02::1', '2001:db8::1', '240.0.0.1'].map(ipScope)).toEqual(Array(7).fill('unroutable'));
    expect(['127.0.0.1', '::1', '::ffff:127.0.0.1'].map(ipScope)).toEqual(['loopback', 'loopback', 'loopback']);
    expect(['10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.1.1', '100.64.0.1', 'fd00::1', 'fe80::1'].map(ipScope)).toEqual(Array(7).fill('private'));
    expect(['1.1.1.1', '172.32.0.1', '2606:4700::1111'].map(ipScope)).toEqual(['public', 'public', 'public']);
  });

  it('judges offered addresses by the sender scope', () => {
    expect(checkOfferedAddr(A('10.0.0.1'), '8.8.8.8')).toBe('out-of-scope');
    expect(checkOfferedAddr(A('127.0.0.1'), '10.0.0.2')).toBe('out-of-scope');
    expect(checkOfferedAddr(A('127.0.0.1'), '127.0.0.1')).toBeUndefined();
    expect(checkOfferedAddr(A('10.0.0.1'), '10.0.0.2')).toBeUndefined();
    expect(checkOfferedAddr(A('1.2.3.4', 0), '1.1.1.1')).toBe('bad-port');
    expect(checkOfferedAddr(A('0.0.0.0'), '1.1.1.1')).toBe('unroutable');
    expect(checkOfferedAddr({ ...A('1.2.3.4'), relayVia: { relayAddr: A('127.0.0.1'), slotId: 1n } }, '1.1.1.1')).toBe('bad-relay');
  });

  it('merges a valid offer, drops garbage, self and floods from one IP', () => {
    const db = new PeerDb({ random: createRandom(1) });
    const peers = [
      A('1.2.3.4'),
      A('0.0.0.0'),
      A('10.0.0.1'),
      A('5.6.7.8', 7001, SELF),
      A('9.9.9.9', 9000),
      ...Array.from({ length: 10 }, (_, i) => A('4.4.4.4', 1000 + i)),
    ];
    const r = mergePexOffer(db, { peers }, { senderIp: '8.8.8.8', selfPubkey: SELF, selfAddrKeys: new Set(['9.9.9.9:9000:Tcp']), now: 5 });
    expect(r.accepted).toBe(1 + 4);
    expect(r.rejected.map((x) => x.reason).sort()).toEqual(
      ['unroutable', 'out-of-scope', 'self', 'self', ...Array(6).fill('per-ip-cap')].sort(),
    );
    expect(db.get(A('1.2.3.4'))!.source).toBe('pex');
  });

  it('answers PEX_REQUEST with a fresh sample excluding the requester, and offers our own addresses with our key', () => {
    const db = new PeerDb({ random: createRandom(2) });
    const them = new Uint8Array(32).fill(7);
    db.upsert(A('1.1.1.1', 1, them), 0, { source: 'pex' });
    for (let i = 2; i < 100; i++) db.upsert(A('1.1.1.1', i), 0, { source: 'pex' });
    const offer = answerPexRequest(db, { maxPeers: 255 }, 10, them);
    expect(offer.peers).toHaveLength(64);
    expect(offer.peers.some((p) => p.port === 1)).toBe(false);
    expect(answerPexRequest(db, { maxPeers: 5 }, 10, null).peers).toHaveLength(5);
    const own = ownOffer([A('0.0.0.0'), A('192.168.1.2')], SELF);
    expect(own.peers.map(peerAddrKey)).toEqual(['192.168.1.2:7001:Tcp']);
    expect(own.peers[0]!.pubkeyHint).toEqual(SELF);
  });

  it('property: merging never throws, never records rejected or self addresses, and adds at most 64', () => {
    const addr = fc.record({
      ip: fc.oneof(fc.ipV4(), fc.ipV6()),
      port: fc.integer({ min: 0, max: 65535 }),
      transport: fc.constantFrom('tcp' as const, 'quic' as const),
      pubkeyHint: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 })),
    });
    fc.assert(
      fc.property(fc.array(addr, { maxLength: 100 }), fc.oneof(fc.ipV4(), fc.constant('127.0.0.1')), (peers, sender) => {
        const db = new PeerDb({ random: createRandom(3) });
        const r = mergePexOffer(db, { peers }, { senderIp: sender, selfPubkey: SELF, selfAddrKeys: new Set(), now: 0 });
        expect(r.accepted).toBeLessThanOrEqual(64);
        expect(db.size).toBeLessThanOrEqual(r.accepted);
        for (const rec of db.all()) expect(checkOfferedAddr(rec.addr, sender)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });
});

describe('PexScheduler', () => {
  it('offers and requests on connect, then requests periodically with jitter', () => {
    const s = new PexScheduler({ random: createRandom(4) }, { intervalMs: 1000 });
    s.connected(1, 0);
    expect([s.pollEffect()?.kind, s.pollEffect()?.kind, s.pollEffect()]).toEqual(['pex-offer', 'pex-request', undefined]);
    const d = s.nextDeadline()!;
    expect(d).toBeGreaterThanOrEqual(800);
    expect(d).toBeLessThanOrEqual(1200);
    s.handleTimeout(d - 1);
    expect(s.pollEffect()).toBeUndefined();
    s.handleTimeout(d);
    expect(s.pollEffect()).toEqual({ kind: 'pex-request', conn: 1, request: { maxPeers: 64 } });
    s.disconnected(1);
    expect(s.nextDeadline()).toBeUndefined();
  });
});
