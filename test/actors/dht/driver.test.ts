import { afterEach, describe, expect, it } from 'vitest';
import { DhtCore } from '../../../src/actors/dht/dht-core.js';
import { DhtDriver, errorReplyOf, senderOf, type DhtSessionPort } from '../../../src/actors/dht/dht-driver.js';
import { nodeIdOf } from '../../../src/actors/dht/node-distance.js';
import { ManualClock, systemClock, type Clock } from '../../../src/actors/runtime/clock.js';
import { createRandom } from '../../../src/actors/runtime/random.js';
import { ScpError } from '../../../src/errors.js';
import type { PeerRef, WireReply } from '../../../src/messages/wire.js';
import { toHex } from '../../../src/protocol/bytes.js';
import { shareHeadKey } from '../../../src/protocol/dht-keys.js';
import { findNodeCodec, findValueCodec, findValueResultCodec, storeCodec } from '../../../src/protocol/dht-messages.js';
import { shareIdFromPubkey } from '../../../src/protocol/ids.js';
import { publicKeyFromSeed } from '../../../src/protocol/keys.js';
import type { PeerAddr } from '../../../src/protocol/peer-addr.js';
import { MessageType } from '../../../src/protocol/registry.js';
import { decodeShareHead, encodeShareHead, signShareHead } from '../../../src/protocol/share-head.js';

const shareSeed = new Uint8Array(32).fill(7);
const sharePub = publicKeyFromSeed(shareSeed);
const shareId = shareIdFromPubkey(sharePub);
const head = (seq: number): Uint8Array =>
  encodeShareHead(signShareHead({ shareId, latestSeq: BigInt(seq), latestManifestId: new Uint8Array(32).fill(seq), updatedAt: BigInt(seq) }, shareSeed));

const CAPS = { dht: true, store: true, relay: false, contentSeed: true, mobileLight: false };

interface Peer {
  addr: PeerAddr;
  driver: DhtDriver;
  core: DhtCore;
  /** What `session.contacts` answers. */
  contacts: PeerAddr[];
  sent: { to: PeerAddr; messageType: number }[];
}

const refOf = (p: Peer): PeerRef => ({
  nodeId: toHex(nodeIdOf(p.addr.pubkeyHint!)),
  pubkey: toHex(p.addr.pubkeyHint!),
  remote: `${p.addr.ip}:${p.addr.port}`,
  transport: 'tcp',
  relayed: false,
  addr: p.addr,
  capabilities: CAPS,
});

/** N drivers whose sessions are an in-memory network: request → the target driver's inbound, errors as ScpError. */
class FakeNet {
  readonly peers: Peer[] = [];
  readonly down = new Set<number>();
  readonly stalling = new Set<number>();

  constructor(readonly clock: Clock = systemClock) {}

  add(init: ConstructorParameters<typeof DhtCore>[1] extends infer I ? Partial<I> : never = {}, keyspace?: ConstructorParameters<typeof DhtCore>[0]['keyspace']): Peer {
    const i = this.peers.length;
    const pubkey = publicKeyFromSeed(new Uint8Array(32).fill(i + 1));
    const addr: PeerAddr = { ip: '127.0.0.1', port: 20_000 + i, transport: 'tcp', pubkeyHint: pubkey };
    const core = new DhtCore({ random: createRandom(i + 1), ...(keyspace ? { keyspace } : {}) }, { localPubkey: pubkey, queryTimeoutMs: 500, ...init });
    const peer = { addr, core, contacts: [], sent: [] } as unknown as Peer;
    const session: DhtSessionPort = {
      request: async (to, messageType, payload) => {
        peer.sent.push({ to, messageType });
        const j = to.port - 20_000;
        const target = this.peers[j];
        if (!target || this.down.has(j)) throw ScpError.unreachable(`${to.ip}:${to.port}`, 'connection refused');
        if (this.stalling.has(j)) return new Promise(() => {});
        await new Promise((r) => setImmediate(r));
        const reply: WireReply = await target.driver.inbound({ from: refOf(peer), messageType, reqId: 1, payload });
        if ('error' in reply) throw ScpError.remote(reply.error);
        return { payload: reply.payload, from: refOf(target) };
      },
      contacts: async () => peer.contacts,
    };
    peer.driver = new DhtDriver({ core, clock: this.clock, session }, { queryTimeoutMs: 500, bootstrapCooldownMs: 0 });
    this.peers.push(peer);
    return peer;
  }

  stop(): void {
    for (const p of this.peers) p.driver.stop();
  }
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

let nets: FakeNet[] = [];
afterEach(() => {
  for (const n of nets) n.stop();
  nets = [];
});
function net(clock?: Clock): FakeNet {
  const n = new FakeNet(clock);
  nets.push(n);
  return n;
}

describe('DhtDriver over a fake session', () => {
  it('a 12-node chain fills its routing tables from the first contacts, and the far end finds a value the near end put', async () => {
    const n = net();
    for (let i = 0; i < 12; i++) {
      const p = n.add();
      if (i > 0) {
        p.contacts = [n.peers[i - 1]!.addr];
        p.driver.contact(n.peers[i - 1]!.addr); // the session's handshake report triggers the join
        await p.driver.bootstrap();
      }
    }
    // Node i learned everyone below it by the self-lookup; everyone above it learned it from their inbound queries.
    await until(() => n.peers.every((p) => p.core.table.size >= 8));
    const near = n.peers[0]!;
    const far = n.peers[11]!;
    const done = await near.driver.store((now) => near.core.put(shareHeadKey(shareId), head(3), now));
    expect(done.stored).toBeGreaterThanOrEqual(5);
    const r = await far.driver.lookup((now) => far.core.findShareHead(shareId, now, sharePub));
    expect(r.value && decodeShareHead(r.value.value).latestSeq).toBe(3n);
    expect(far.driver.lookups).toBe(1);
  });

  it('answers inbound requests with the wire codecs, bad payloads with error text', async () => {
    const n = net();
    const a = n.add();
    const b = n.add();
    a.driver.contact(b.addr);
    const fn = await a.driver.inbound({ from: refOf(b), messageType: MessageType.FIND_NODE, reqId: 9, payload: findNodeCodec.encode({ targetNodeId: new Uint8Array(20) }) });
    expect('payload' in fn).toBe(true);
    const fv = await b.driver.inbound({ from: refOf(a), messageType: MessageType.FIND_VALUE, reqId: 9, payload: findNodeCodec.encode({ targetNodeId: new Uint8Array(20) }) });
    expect('error' in fv).toBe(true); // a 20-byte id is not a 32-byte key
    expect(await a.driver.inbound({ from: refOf(b), messageType: 400, reqId: 1, payload: new Uint8Array() })).toEqual({ error: 'unsupported message type' });
    const store = await b.driver.inbound({ from: refOf(a), messageType: MessageType.STORE, reqId: 2, payload: storeCodec.encode({ key: shareHeadKey(shareId), value: head(1), ttlSecs: 60n }) });
    expect(store).toEqual({ payload: new Uint8Array(0) });
    const hit = await b.driver.inbound({ from: refOf(a), messageType: MessageType.FIND_VALUE, reqId: 3, payload: findValueCodec.encode({ key: shareHeadKey(shareId) }) });
    const ttl = 'payload' in hit ? findValueResultCodec.decode(hit.payload).value?.ttlSecs : undefined;
    expect(ttl === 86_400n || ttl === 86_399n).toBe(true); // the 24 h floor, less the time that passed
    // The dialable sender went into the routing table.
    expect(b.core.table.size).toBe(1);
  });

  it('feeds error envelopes to the core as typed errors and unreachable peers as failures', async () => {
    const n = net();
    const a = n.add();
    const b = n.add({}, { shareKeyFor: () => sharePub }); // rollback protection needs a head b can verify
    const c = n.add();
    a.contacts = [b.addr, c.addr];
    n.down.add(2);
    // b refuses the STORE: a rollback (it already has seq 5).
    b.core.put(shareHeadKey(shareId), head(5), 0);
    const done = await a.driver.store((now) => a.core.put(shareHeadKey(shareId), head(4), now));
    expect(done.stored).toBe(0);
    expect(done.attempted).toBe(1); // c never answered the FIND_NODE, so only b was a STORE target
    expect(errorReplyOf('dht request rate limit exceeded').code).toBe('RATE_LIMITED');
    expect(errorReplyOf('share head seq rollback').code).toBe('ROLLBACK');
  });

  it('a stalling peer costs a lookup one query timeout on the injected clock', async () => {
    const clock = new ManualClock(1_000);
    const n = net(clock);
    const a = n.add();
    const b = n.add();
    a.contacts = [b.addr];
    n.stalling.add(1);
    let result: unknown;
    const p = a.driver.lookup((now) => a.core.findNode(new Uint8Array(20).fill(1), now)).then((r) => (result = r));
    for (let i = 0; i < 5; i++) await flush();
    expect(result).toBeUndefined();
    clock.advance(499);
    await flush();
    expect(result).toBeUndefined();
    clock.advance(1);
    await p;
    expect(result).toMatchObject({ failures: 1, closest: [] });
  });

  it('bootstraps when the first contact arrives, probing with FIND_NODE for its own id', async () => {
    const n = net();
    const a = n.add();
    const b = n.add();
    a.contacts = [b.addr];
    a.driver.contact(b.addr);
    await until(() => a.sent.length > 0);
    expect(a.sent[0]).toEqual({ to: b.addr, messageType: MessageType.FIND_NODE });
    await until(() => b.core.table.size === 1); // b learned a from a's dialable address
  });

  it('senderOf keeps a dialable address and marks socket addresses as not dialable', () => {
    const pub = publicKeyFromSeed(new Uint8Array(32).fill(3));
    const ref: PeerRef = { nodeId: '', pubkey: toHex(pub), remote: '[::1]:51000', transport: 'quic', relayed: false, addr: null, capabilities: CAPS };
    expect(senderOf(ref)).toEqual({ addr: { ip: '::1', port: 51000, transport: 'quic', pubkeyHint: pub }, dialable: false });
    const addr: PeerAddr = { ip: '127.0.0.1', port: 7001, transport: 'tcp', pubkeyHint: null };
    expect(senderOf({ ...ref, addr })).toEqual({ addr: { ...addr, pubkeyHint: pub }, dialable: true });
  });

  it('stop fails waiting callers instead of leaving them hanging', async () => {
    const n = net();
    const a = n.add();
    const b = n.add();
    a.contacts = [b.addr];
    n.stalling.add(1);
    const p = a.driver.lookup((now) => a.core.findNode(new Uint8Array(20), now));
    await until(() => a.sent.length > 0);
    a.driver.stop();
    await expect(p).rejects.toMatchObject({ code: 'ACTOR_UNAVAILABLE' });
  });
});
