/**
 * Request floods and DHT poisoning against a live node, with honest peers served throughout. Floods: the
 * per-identity limits (lowered here by the `rateLimits` config) answer the excess with the reference's typed
 * error text on an open connection, five flooding identities at once are limited one by one, and an honest
 * node's download from the flooded node still completes, verified. Poisoning: STOREs of garbage, forged heads
 * (another key, another share's key), rolled-back heads and a flood of bogus keys are refused by validation,
 * and FIND_VALUE afterwards returns only the genuine head.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from '../../src/index.js';
import { fromHex } from '../../src/protocol/bytes.js';
import { findValueCodec, findValueResultCodec, storeCodec } from '../../src/protocol/dht-messages.js';
import { shareHeadKey } from '../../src/protocol/dht-keys.js';
import { shareIdFromPubkey } from '../../src/protocol/ids.js';
import { ed25519Sign, publicKeyFromSeed } from '../../src/protocol/keys.js';
import { shareHeadSignableBytes } from '../../src/protocol/signables.js';
import { ErrorText, MessageType } from '../../src/protocol/registry.js';
import { decodeShareHead, encodeShareHead, signShareHead } from '../../src/protocol/share-head.js';
import { getManifestCodec } from '../../src/protocol/transfer-messages.js';
import { tcpPort, WireClient } from './wire-client.js';

const nodes: Node[] = [];
const clients: WireClient[] = [];
const dirs: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-hostile-'));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function start(opts: Partial<Parameters<typeof Node.start>[0]> = {}): Promise<Node> {
  const n = await Node.start({ dataDir: path.join(tmp(), 'node'), listen: { tcp: 0, quic: null }, host: '127.0.0.1', ...opts });
  nodes.push(n);
  return n;
}

async function connect(n: Node): Promise<WireClient> {
  const c = await WireClient.connect(tcpPort(n.addresses()));
  clients.push(c);
  return c;
}

describe('request floods', () => {
  it('five flooding identities get the typed rate-limit answer past the limit, stay connected, and an honest download completes', async () => {
    const a = await start({ rateLimits: { fetch: 50 } });
    const dir = tmp();
    const file = path.join(dir, 'big.bin');
    const bytes = Buffer.alloc(6 * 1024 * 1024 + 99);
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

describe('DHT poisoning', () => {
  it('refuses garbage, forged and rolled-back values under share-head keys; FIND_VALUE returns only the genuine head', async () => {
    const a = await start();
    // A publishes: its DHT now knows its share key, so heads claiming A's share must verify against it.
    const own = await a.publishText('own', 'the genuine share');
    const aShareId = fromHex(own.shareId, 32);
    const attacker = await connect(a);
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
      await store(key, head(4n)), // rolled back
      await store(key, Uint8Array.of(0xa1, 0x00, 0x01)), // garbage
      await store(shareHeadKey(aShareId), forged), // signed by another key, claiming A's share
      await store(shareHeadKey(aShareId), head(9n)), // a valid head of one share under another share's key
      await store(new Uint8Array(32).fill(7), head(9n)), // under a key of no keyspace
    ];
    for (const r of refused) {
      expect(r.error, JSON.stringify(r)).toBeDefined();
      expect(r.error!.length).toBeGreaterThan(0);
    }
    // A flood of bogus keys is refused one by one and leaves the connection and node serving.
    const bogus = await Promise.all(Array.from({ length: 200 }, (_, i) => store(new Uint8Array(32).fill(i), Uint8Array.of(i))));
    expect(bogus.every((r) => r.error !== undefined)).toBe(true);

    // An honest peer asks: it gets the genuine head (seq 5), and nothing under the keys the attacker tried to poison.
    const honest = await connect(a);
    const found = findValueResultCodec.decode((await honest.request(MessageType.FIND_VALUE, findValueCodec.encode({ key }))).payload);
    expect(found.value).not.toBeNull();
    expect(decodeShareHead(found.value!.value).latestSeq).toBe(5n);
    const aHead = findValueResultCodec.decode((await honest.request(MessageType.FIND_VALUE, findValueCodec.encode({ key: shareHeadKey(aShareId) }))).payload);
    expect(aHead.value).not.toBeNull();
    expect(decodeShareHead(aHead.value!.value).latestSeq).toBe(BigInt(own.seq));
    expect(attacker.isClosed).toBe(false);
    expect(a.health().actors.every((x) => x.restarts === 0)).toBe(true);
  }, 60_000);
});
