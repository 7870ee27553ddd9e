import { describe, expect, it } from 'vitest';
import { DhtCore, type DhtEffect } from '../../../src/actors/dht/dht-core.js';
import { IterativeLookup } from '../../../src/actors/dht/iterative-lookup.js';
import { validateDhtValue, UNRECOGNIZED_TEXT } from '../../../src/actors/dht/keyspace-validation.js';
import { encodeCommunityMembers } from '../../../src/actors/dht/keyspace-records.js';
import { mergeCommunityInfo } from '../../../src/actors/dht/community-merge.js';
import { createRandom } from '../../../src/actors/runtime/random.js';
import { communityInfoKey, shareHeadKey } from '../../../src/protocol/dht-keys.js';
import { shareIdFromPubkey } from '../../../src/protocol/ids.js';
import { publicKeyFromSeed } from '../../../src/protocol/keys.js';
import { encodeShareHead, signShareHead } from '../../../src/protocol/share-head.js';
import type { PeerAddr } from '../../../src/protocol/peer-addr.js';

const seed = new Uint8Array(32).fill(9);
const sharePub = publicKeyFromSeed(seed);
const shareId = shareIdFromPubkey(sharePub);
const key = shareHeadKey(shareId);
const head = (seq: number): Uint8Array =>
  encodeShareHead(signShareHead({ shareId, latestSeq: BigInt(seq), latestManifestId: new Uint8Array(32), updatedAt: BigInt(seq) }, seed));
const peer = (n: number): PeerAddr => ({ ip: `40.0.${n}.1`, port: 7001, transport: 'tcp', pubkeyHint: new Uint8Array(32).fill(n) });

function core(init: Partial<ConstructorParameters<typeof DhtCore>[1]> = {}): DhtCore {
  return new DhtCore({ random: createRandom(1) }, { localPubkey: new Uint8Array(32).fill(200), ...init });
}
function drain(c: DhtCore): DhtEffect[] {
  const out: DhtEffect[] = [];
  for (let e = c.pollEffect(); e; e = c.pollEffect()) out.push(e);
  return out;
}

describe('DhtCore handlers', () => {
  it('STORE raises the TTL to 24 h; FIND_VALUE reports max(1, expires − now) and closer peers', () => {
    const c = core();
    c.handle({ type: 'contact', addr: peer(1) }, 0);
    c.handle({ type: 'inbound', inboundId: 1, from: peer(2), dialable: true, request: { type: 'store', msg: { key, value: head(1), ttlSecs: 5n } } }, 0);
    expect(drain(c)).toEqual([{ kind: 'reply', inboundId: 1, reply: { type: 'store' } }]);
    c.handle({ type: 'inbound', inboundId: 2, from: peer(3), dialable: true, request: { type: 'find-value', msg: { key } } }, 1_000);
    const [e] = drain(c);
    expect(e?.kind === 'reply' && e.reply.type === 'find-value' && e.reply.msg.value?.ttlSecs).toBe(86_399n);
    expect(e?.kind === 'reply' && e.reply.type === 'find-value' && e.reply.msg.closerPeers.length).toBe(2);
  });

  it('refuses seq rollback, unrecognised values, and the 601st DHT request in a minute', () => {
    // Rollback protection covers heads this node can verify (it knows the share key).
    const c = new DhtCore({ random: createRandom(1), keyspace: { shareKeyFor: () => sharePub } }, { localPubkey: new Uint8Array(32).fill(200) });
    const store = (id: number, value: Uint8Array, now = 0): DhtEffect[] => {
      c.handle({ type: 'inbound', inboundId: id, from: peer(2), dialable: false, request: { type: 'store', msg: { key, value, ttlSecs: 60n } } }, now);
      return drain(c);
    };
    store(1, head(5));
    expect(store(2, head(4))[0]).toMatchObject({ reply: { type: 'error', code: 'ROLLBACK' } });
    expect(store(3, Uint8Array.of(1, 2, 3))[0]).toMatchObject({ reply: { type: 'error', wireText: UNRECOGNIZED_TEXT } });
    for (let i = 0; i < 597; i++) store(10 + i, head(5));
    expect(store(999, head(5))[0]).toMatchObject({ reply: { type: 'error', code: 'RATE_LIMITED', wireText: 'dht request rate limit exceeded' } });
    expect(store(1000, head(6), 60_000)[0]).toMatchObject({ reply: { type: 'store' } });
  });

  it('snapshot and restore bring back the routing table and values', () => {
    const c = core();
    for (let i = 1; i <= 5; i++) c.handle({ type: 'contact', addr: peer(i) }, 0);
    c.put(key, head(3), 0);
    const snap = JSON.parse(JSON.stringify(c.snapshot(10_000)));
    const d = core();
    d.restore(snap, 0, 5_000);
    expect(d.table.size).toBe(5);
    expect(d.store.peek(key, 0)?.value).toEqual(head(3));
    expect(d.store.peek(key, 0)!.expiresAt).toBe(86_400_000 - 15_000);
  });

  it('a lookup queries ALPHA peers in parallel, times out stalled ones after 3 s, and completes', () => {
    const c = core();
    for (let i = 1; i <= 6; i++) c.handle({ type: 'contact', addr: peer(i) }, 0);
    const op = c.findNode(new Uint8Array(20), 0);
    const round1 = drain(c).filter((e) => e.kind === 'request');
    expect(round1.length).toBe(3);
    expect(c.nextDeadline()).toBeLessThanOrEqual(3_000);
    c.handleTimeout(3_000);
    const round2 = drain(c).filter((e) => e.kind === 'request');
    expect(round2.length).toBe(3);
    for (const r of round2) {
      if (r.kind !== 'request') continue;
      c.handle({ type: 'response', requestId: r.requestId, responderPubkey: r.peer.pubkeyHint, response: { type: 'find-node', msg: { peers: [] } } }, 3_100);
    }
    const done = drain(c).find((e) => e.kind === 'lookup-done');
    expect(done?.kind === 'lookup-done' && done.opId).toBe(op);
    expect(done?.kind === 'lookup-done' && done.result.closest.length).toBe(3);
  });

  it('an answer under another identity than the hint counts as a failure', () => {
    const l = new IterativeLookup({ kind: 'node', target: new Uint8Array(20) }, [peer(1)]);
    const [q] = l.poll();
    l.onAnswer(q!.key, new Uint8Array(32).fill(99), [peer(2)], null);
    expect(l.poll()).toEqual([]);
    expect(l.result().failures).toBe(1);
  });
});

describe('keyspace validation', () => {
  it('verifies a share head against a known key and merges community member lists', () => {
    expect(validateDhtValue(key, head(1), { shareKeyFor: () => sharePub }).ok).toBe(true);
    expect(validateDhtValue(key, head(1), { shareKeyFor: () => new Uint8Array(32).fill(1) }).ok).toBe(false);
    expect(validateDhtValue(new Uint8Array(32), head(1)).ok).toBe(false);
    const cid = new Uint8Array(32).fill(4);
    const ck = communityInfoKey(cid);
    const a = encodeCommunityMembers({ communityShareId: cid, members: [peer(1)], updatedAt: 5n });
    const b = encodeCommunityMembers({ communityShareId: cid, members: [peer(1), peer(2)], updatedAt: 3n });
    expect(validateDhtValue(ck, a).ok).toBe(true);
    expect(mergeCommunityInfo(ck, a, b)).toEqual(encodeCommunityMembers({ communityShareId: cid, members: [peer(1), peer(2)], updatedAt: 5n }));
    const dup = encodeCommunityMembers({ communityShareId: cid, members: [peer(1), peer(1)], updatedAt: 1n });
    expect(validateDhtValue(ck, dup).ok).toBe(false);
  });
});
