/**
 * Request floods and DHT poisoning against a live node, with honest peers served throughout. Floods: the
 * per-identity limits (lowered here by the `rateLimits` config) answer the excess with the reference's typed
 * error text on an open connection, five flooding identities at once are limited one by one, and an honest
 * node's download from the flooded node still completes, verified. Poisoning: STOREs of garbage, forged heads
 * (another key, another share's key) and a flood of bogus keys are refused by validation (rolled-back heads too,
 * where the node can verify them; the flooder is cut off past its refusal allowance), and FIND_VALUE afterwards returns only the genuine head. Found here: a forged
 * head with a huge seq for a share whose key a DHT node does not know was stored and then refused every genuine
 * head as a "rollback" (the key was locked); rollback protection now covers only heads the node could verify.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Node } from '../../src/index.js';
import { DhtCore } from '../../src/actors/dht/dht-core.js';
import { createRandom } from '../../src/actors/runtime/random.js';
import { fromHex } from '../../src/protocol/bytes.js';
import { findValueCodec, findValueResultCodec, storeCodec } from '../../src/protocol/dht-messages.js';
import { shareHeadKey } from '../../src/protocol/dht-keys.js';
import { shareIdFromPubkey } from '../../src/protocol/ids.js';
import { ed25519Sign, publicKeyFromSeed } from '../../src/protocol/keys.js';
import { shareHeadSignableBytes } from '../../src/protocol/signables.js';
import { ErrorText, MessageType } from '../../src/protocol/registry.js';
import { decodeShareHead, encodeShareHead, signShareHead } from '../../src/protocol/share-head.js';
import { getManifestCodec } from '../../src/protocol/transfer-messages.js';
import { hostileNodes } from './hostile-nodes.js';
import { tcpPort, WireClient } from './wire-client.js';

const { clients, tmp, start } = hostileNodes('scp2p-hostile-');

async function connect(n: Node): Promise<WireClient> {
  const c = await WireClient.connect(tcpPort(n.addresses()));
  clients.push(c);
  return c;
}

describe('request floods', () => {
  it('five flooding identities get the typed rate-limit answer past the limit, stay connected, and an honest download completes', async () => {
    // The abuse cut-off (64 refusals, abuse-cutoff.test.ts) is raised here: this test is about the typed answers.
    const a = await start({ rateLimits: { fetch: 50 }, connectionLimits: { abuseRefusals: 1_000 } });
    const dir = tmp();
    const file = path.join(dir, 'big.bin');
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 99);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32BE(i >>> 0, i);
    fs.writeFileSync(file, bytes);
    const pub = await a.publishFiles([file], { title: 'flooded' });
    const [item] = await a.listShareItems(pub.shareId);
    const getManifest = getManifestCodec.encode({ manifestId: fromHex(pub.manifestId, 32) });

    const flooders = await Promise.all(Array.from({ length: 5 }, () => connect(a)));
    const b = await start();
    const download = b.downloadContent(item!.contentId, path.join(dir, 'got.bin'), { peers: [a.addresses()[0]!], timeoutMs: 90_000 });
    download.catch(() => {}); // awaited below; a failure before then must not surface as an unhandled rejection
    const answers = await Promise.all(
      flooders.map((f) => Promise.all(Array.from({ length: 150 }, () => f.request(MessageType.GET_MANIFEST, getManifest, 60_000)))),
    );
    for (const perFlooder of answers) {
      const served = perFlooder.filter((x) => x.error === undefined && x.type === MessageType.MANIFEST_DATA);
      const limited = perFlooder.filter((x) => x.error === ErrorText.FETCH_RATE_LIMITED);
      expect(served).toHaveLength(50); // each identity has its own window
      expect(limited).toHaveLength(100);
    }
    expect(flooders.every((f) => !f.isClosed)).toBe(true);
    await download;
    expect(Buffer.compare(fs.readFileSync(path.join(dir, 'got.bin')), bytes)).toBe(0);
    // The honest identity was never limited: a fresh GET_MANIFEST of its own still succeeds.
    const honest = await connect(a);
    expect((await honest.request(MessageType.GET_MANIFEST, getManifest)).error).toBeUndefined();
    expect(a.health().actors.every((x) => x.restarts === 0)).toBe(true);
  }, 120_000);
});

describe('DHT poisoning: forged heads for shares a node has no key of (DHT core)', () => {
  const from = { ip: '40.0.0.2', port: 7000, transport: 'tcp' as const, pubkeyHint: new Uint8Array(32).fill(4) };
  const seed = new Uint8Array(32).fill(9);
  const sharePub = publicKeyFromSeed(seed);
  const shareId = shareIdFromPubkey(sharePub);
  const key = shareHeadKey(shareId);
  const unsigned = { shareId, latestSeq: 2n ** 63n, latestManifestId: new Uint8Array(32), updatedAt: 1n };
  const forged = encodeShareHead({ ...unsigned, sig: ed25519Sign(new Uint8Array(32).fill(5), shareHeadSignableBytes(unsigned)) });
  const genuine = encodeShareHead(signShareHead({ shareId, latestSeq: 7n, latestManifestId: new Uint8Array(32).fill(7), updatedAt: 5n }, seed));
  const storeInto = (c: DhtCore, id: number, value: Uint8Array) => {
    c.handle({ type: 'inbound', inboundId: id, from, dialable: false, request: { type: 'store', msg: { key, value, ttlSecs: 3_600n } } }, 0);
    const replies = [];
    for (let e = c.pollEffect(); e; e = c.pollEffect()) if (e.kind === 'reply') replies.push(e.reply);
    return replies[0];
  };

  it('a forged seq-2^63 head no longer locks the key: the genuine head still replaces it (it was refused as a rollback)', () => {
    const c = new DhtCore({ random: createRandom(1) }, { localPubkey: publicKeyFromSeed(new Uint8Array(32).fill(3)) });
    expect(storeInto(c, 1, forged)).toEqual({ type: 'store' }); // unverifiable here: accepted, as any head is
    expect(storeInto(c, 2, genuine)).toEqual({ type: 'store' });
    expect(decodeShareHead(c.store.peek(key, 0)!.value).latestSeq).toBe(7n);
  });

  it('a node that knows the share key refuses the forged head outright and keeps rollback protection', () => {
    const c = new DhtCore({ random: createRandom(1), keyspace: { shareKeyFor: () => sharePub } }, { localPubkey: publicKeyFromSeed(new Uint8Array(32).fill(3)) });
    expect(storeInto(c, 1, forged)).toMatchObject({ type: 'error', code: 'INVALID_VALUE' });
    expect(storeInto(c, 2, genuine)).toEqual({ type: 'store' });
    const older = encodeShareHead(signShareHead({ shareId, latestSeq: 6n, latestManifestId: new Uint8Array(32), updatedAt: 4n }, seed));
    expect(storeInto(c, 3, older)).toMatchObject({ type: 'error', code: 'ROLLBACK' });
  });
});

describe('DHT poisoning', () => {
  it("refuses garbage, forged heads (another key, another share's key) and bogus keys; FIND_VALUE returns only the genuine head", async () => {
    const a = await start();
    // A publishes: its DHT now knows its share key, so heads claiming A's share must verify against it.
    const own = await a.publishText('own', 'the genuine share');
    const aShareId = fromHex(own.shareId, 32);
    // From an address of its own: its cut-off below drains its IP's accept budget, not the honest peer's.
    const attacker = await WireClient.connect(tcpPort(a.addresses()), { localAddress: '127.0.0.66' });
    clients.push(attacker);
    const store = (key: Uint8Array, value: Uint8Array) => attacker.request(MessageType.STORE, storeCodec.encode({ key, value, ttlSecs: 3_600n }));

    // A genuine share of the attacker's own, to have valid heads to forge from.
    const seed = new Uint8Array(32).fill(0x42);
    const pubkey = publicKeyFromSeed(seed);
    const shareId = shareIdFromPubkey(pubkey);
    const head = (seq: bigint) => encodeShareHead(signShareHead({ shareId, latestSeq: seq, latestManifestId: new Uint8Array(32).fill(Number(seq)), updatedAt: 1_700_000_000n + seq }, seed));
    const key = shareHeadKey(shareId);
    expect((await store(key, head(5n))).error).toBeUndefined();
    // A head claiming A's share at a huge seq, signed by the attacker's key.
    const unsigned = { shareId: aShareId, latestSeq: 2n ** 63n, latestManifestId: new Uint8Array(32).fill(9), updatedAt: 1_700_000_000n };
    const forged = encodeShareHead({ ...unsigned, sig: ed25519Sign(seed, shareHeadSignableBytes(unsigned)) });

    const refused = [
      await store(key, Uint8Array.of(0xa1, 0x00, 0x01)), // garbage
      await store(shareHeadKey(aShareId), forged), // signed by another key, claiming A's share
      await store(shareHeadKey(aShareId), head(9n)), // a valid head of one share under another share's key
      await store(new Uint8Array(32).fill(7), head(9n)), // under a key of no keyspace
    ];
    for (const r of refused) {
      expect(r.error, JSON.stringify(r)).toBeDefined();
      expect(r.error!.length).toBeGreaterThan(0);
    }
    // A flood of bogus keys is refused one by one up to the abuse allowance (64 refusals per identity and minute,
    // the 4 above included), then the attacker is cut off; the node keeps serving.
    const bogus = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => store(new Uint8Array(32).fill(i), Uint8Array.of(i))));
    const answered = bogus.filter((r) => r.status === 'fulfilled');
    expect(answered.every((r) => r.value.error !== undefined)).toBe(true);
    expect(answered.length).toBeLessThanOrEqual(60); // answers still queued behind an unanswered one at the cut are dropped
    expect(answered.length).toBeGreaterThan(30);
    await attacker.closed;

    // An honest peer asks: it gets A's genuine head, never the forged one; the attacker's own share keeps its head.
    const honest = await connect(a);
    const found = findValueResultCodec.decode((await honest.request(MessageType.FIND_VALUE, findValueCodec.encode({ key }))).payload);
    expect(found.value).not.toBeNull();
    expect(decodeShareHead(found.value!.value).latestSeq).toBe(5n);
    const aHead = findValueResultCodec.decode((await honest.request(MessageType.FIND_VALUE, findValueCodec.encode({ key: shareHeadKey(aShareId) }))).payload);
    expect(aHead.value).not.toBeNull();
    expect(decodeShareHead(aHead.value!.value).latestSeq).toBe(BigInt(own.seq));
    expect(attacker.isClosed).toBe(true);
    expect(a.health().actors.every((x) => x.restarts === 0)).toBe(true);
  }, 60_000);
});
