/**
 * Interop with the reference's wire behaviour, using our own reference-format peer (reference-peer.ts, written
 * from PROTOCOL.md without our session code) against real scp2p nodes over TLS on loopback:
 *  (a) a connection-per-request reference client talking to our node;
 *  (b) our node talking to a strictly sequential reference server that never sends PEX on its own.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from '../../src/index.js';
import { fromHex, toHex, bytesEqual } from '../../src/protocol/bytes.js';
import { FLAG_RESPONSE, FLAGS_ERROR_RESPONSE } from '../../src/protocol/envelope.js';
import { decodeManifest, verifyManifest } from '../../src/protocol/manifest.js';
import { decodeShareHead, verifyShareHead } from '../../src/protocol/share-head.js';
import { shareHeadKey, manifestLocKey } from '../../src/protocol/dht-keys.js';
import { findValueCodec, findValueResultCodec } from '../../src/protocol/dht-messages.js';
import { pexOfferCodec, pexRequestCodec } from '../../src/protocol/pex.js';
import { chunkDataCodec, chunkHashListCodec, getChunkCodec, getChunkHashesCodec, getManifestCodec, manifestDataCodec } from '../../src/protocol/transfer-messages.js';
import { chunkListHash, verifyChunk } from '../../src/protocol/content.js';
import { blake3 } from '../../src/protocol/hash.js';
import { NO_CAPABILITIES } from '../../src/protocol/peer-addr.js';
import { RefClient, RefServer } from './reference-peer.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-interop-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowSecs = () => Math.floor(Date.now() / 1000);
const nodes: Node[] = [];
const servers: RefServer[] = [];

afterEach(async () => {
  const crashed = nodes.flatMap((n) => n.health().actors.filter((a) => a.restarts > 0).map((a) => `${a.name}: ${a.lastError}`));
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => {})));
  await Promise.all(servers.splice(0).map((s) => s.close().catch(() => {})));
  expect(crashed, 'an actor of our node restarted').toEqual([]);
});

async function start(opts: Partial<Parameters<typeof Node.start>[0]> = {}): Promise<Node> {
  const n = await Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: null }, host: '127.0.0.1', actorMode: 'inline', ...opts });
  nodes.push(n);
  return n;
}

function tcpPort(n: Node): number {
  const a = n.addresses().find((x) => x.startsWith('tcp://'));
  if (!a) throw new Error(`no tcp address: ${n.addresses().join(' ')}`);
  return Number(/:(\d+)$/.exec(a)![1]);
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('reference-style client → our node (connection per request)', () => {
  // Our responder stays silent until the peer sends PEX (connection-core 'after-peer-pex'), taking that as the sign
  // of a peer that accepts pushed requests. The reference server never writes anything but responses, and the
  // reference client reads exactly one envelope after its request and checks its type and req_id.
  it.each([
    ['GET_MANIFEST', 400, 1, getManifestCodec.encode({ manifestId: new Uint8Array(32).fill(7) })],
    ['FIND_VALUE', 201, 1_000_000, findValueCodec.encode({ key: new Uint8Array(32).fill(3) })],
    ['PEX_REQUEST', 101, 1_000_000, pexRequestCodec.encode({ maxPeers: 32 })],
    ['PEX_OFFER', 100, 1_000_000, pexOfferCodec.encode({ peers: [] })],
  ] as const)('%s as the one request: the first envelope our node writes after the handshake is its response', async (_n, type, reqId, payload) => {
    const node = await start();
    const client = new RefClient(new Uint8Array(32).fill(0x52), '127.0.0.1', tcpPort(node));
    const r = await client.request(type, reqId, payload);
    expect(
      { reqId: r.env.reqId, response: (r.env.flags & FLAG_RESPONSE) !== 0 },
      `first envelope after a ${type} request: type ${r.env.type} flags ${r.env.flags} req_id ${r.env.reqId}`,
    ).toEqual({ reqId, response: true });
  });

  it('handshakes, answers PEX, serves manifest / head / chunk hashes / chunks, errors and silent closes like the reference', async () => {
    const node = await start();
    const client = new RefClient(new Uint8Array(32).fill(0x51), '127.0.0.1', tcpPort(node), { expectedRemotePubkey: fromHex(node.id.nodePubkey) });
    // Skip (and record) what our node pushes on an inbound stream, to check everything else; see the test above.
    client.tolerateServerRequests = true;

    // Handshake + PEX_REQUEST → PEX_OFFER (type 100, RESPONSE, same req_id).
    const pexId = client.nextDhtReqId();
    const pex = await client.request(101, pexId, pexRequestCodec.encode({ maxPeers: 32 }));
    expect(toHex(pex.session.remoteNodePubkey)).toBe(node.id.nodePubkey);
    expect(pex.session.remoteProtocolVersion).toBe(1);
    expect(pex.session.sessionSecret).toHaveLength(32);
    expect({ type: pex.env.type, reqId: pex.env.reqId, flags: pex.env.flags }).toEqual({ type: 100, reqId: pexId, flags: FLAG_RESPONSE });
    const offer = pexOfferCodec.decode(pex.env.payload);
    expect(offer.peers.length).toBeLessThanOrEqual(32);

    // Publish, then fetch like a reference subscriber would.
    const pub = await node.publishText('t', 'hello');
    const shareId = fromHex(pub.shareId);

    const head = await client.request(201, client.nextDhtReqId(), findValueCodec.encode({ key: shareHeadKey(shareId) }));
    expect({ type: head.env.type, flags: head.env.flags }, text(head.env.payload)).toEqual({ type: 201, flags: FLAG_RESPONSE });
    const fv = findValueResultCodec.decode(head.env.payload);
    expect(fv.value, 'the share head is in our node’s DHT store').not.toBeNull();
    expect(toHex(fv.value!.key)).toBe(toHex(shareHeadKey(shareId)));
    const shareHead = decodeShareHead(fv.value!.value);
    expect(toHex(shareHead.latestManifestId)).toBe(pub.manifestId);
    expect(shareHead.latestSeq).toBe(pub.seq);

    const man = await client.request(400, 1, getManifestCodec.encode({ manifestId: fromHex(pub.manifestId) }));
    expect({ type: man.env.type, reqId: man.env.reqId, flags: man.env.flags }, text(man.env.payload)).toEqual({ type: 401, reqId: 1, flags: FLAG_RESPONSE });
    const md = manifestDataCodec.decode(man.env.payload);
    expect(toHex(md.manifestId)).toBe(pub.manifestId);
    const manifest = decodeManifest(md.bytes);
    expect(toHex(verifyManifest(manifest, nowSecs()).manifestId)).toBe(pub.manifestId);
    expect(verifyShareHead(shareHead, manifest.sharePubkey)).toBe(true);

    // The manifest is also in the DHT under manifest:loc: (the whole signed manifest, §0).
    const loc = await client.request(201, client.nextDhtReqId(), findValueCodec.encode({ key: manifestLocKey(fromHex(pub.manifestId)) }));
    const locHit = findValueResultCodec.decode(loc.env.payload).value;
    if (locHit) expect(toHex(verifyManifest(decodeManifest(locHit.value), nowSecs()).manifestId)).toBe(pub.manifestId);

    // Chunk hashes (req_id 5000) and chunks (req_id 10000+), verified as the reference client does (§8.2).
    const item = manifest.items[0]!;
    const ch = await client.request(502, 5000, getChunkHashesCodec.encode({ contentId: item.contentId }));
    expect({ type: ch.env.type, reqId: ch.env.reqId, flags: ch.env.flags }, text(ch.env.payload)).toEqual({ type: 503, reqId: 5000, flags: FLAG_RESPONSE });
    const hl = chunkHashListCodec.decode(ch.env.payload);
    expect(bytesEqual(hl.contentId, item.contentId)).toBe(true);
    expect(hl.hashes).toHaveLength(item.chunkCount);
    expect(toHex(chunkListHash(hl.hashes))).toBe(toHex(item.chunkListHash));
    const parts: Uint8Array[] = [];
    for (let i = 0; i < item.chunkCount; i++) {
      const c = await client.request(500, 10_000 + i, getChunkCodec.encode({ contentId: item.contentId, chunkIndex: i }));
      expect({ type: c.env.type, reqId: c.env.reqId, flags: c.env.flags }, text(c.env.payload)).toEqual({ type: 501, reqId: 10_000 + i, flags: FLAG_RESPONSE });
      const cd = chunkDataCodec.decode(c.env.payload);
      expect(cd.chunkIndex).toBe(i);
      expect(bytesEqual(cd.contentId, item.contentId)).toBe(true);
      expect(verifyChunk(hl.hashes[i]!, cd.bytes)).toBe(true);
      parts.push(cd.bytes.slice());
    }
    const whole = Buffer.concat(parts);
    expect(toHex(blake3(whole))).toBe(toHex(item.contentId));
    expect(whole.toString('utf8')).toBe('hello');

    // Unknown message type: flags 3, the request's type, UTF-8 text.
    const unk = await client.request(999, client.nextDhtReqId(), new Uint8Array(0));
    expect({ type: unk.env.type, flags: unk.env.flags, text: text(unk.env.payload) }).toEqual({ type: 999, flags: FLAGS_ERROR_RESPONSE, text: 'unknown message type 999' });

    // Missing manifest: error envelope with the reference's text.
    const miss = await client.request(400, 2, getManifestCodec.encode({ manifestId: new Uint8Array(32).fill(9) }));
    expect({ type: miss.env.type, reqId: miss.env.reqId, flags: miss.env.flags, text: text(miss.env.payload) }).toEqual({ type: 400, reqId: 2, flags: FLAGS_ERROR_RESPONSE, text: 'manifest not found' });

    // Bad handshake signature: silent close (no bytes at all).
    const bad = await client.sendRawFirstFrame(client.clientHelloFrame((h) => ({ ...h, signature: h.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) })));
    expect(bad).toEqual({ closed: true, bytesReceived: 0 });

    // Replayed ClientHello nonce: the first gets a ServerHello, the replay a silent close.
    const hello = client.clientHelloFrame();
    const first = await client.sendRawFirstFrame(hello, 500);
    expect(first.bytesReceived).toBeGreaterThan(0);
    const replay = await client.sendRawFirstFrame(hello);
    expect(replay).toEqual({ closed: true, bytesReceived: 0 });

    // Clock skew beyond 300 s: silent close.
    const skewed = await client.sendRawFirstFrame(
      client.clientHelloFrame((h) => {
        const { signature: _s, ...rest } = h;
        void _s;
        return { ...rest, timestampUnixSecs: h.timestampUnixSecs - 301n, signature: h.signature };
      }),
    );
    expect(skewed.closed).toBe(true);
    expect(skewed.bytesReceived).toBe(0);

    // Still serving after all of that.
    const after = await client.request(101, client.nextDhtReqId(), pexRequestCodec.encode({ maxPeers: 8 }));
    expect(after.env.type).toBe(100);
    expect(client.connections).toBeGreaterThanOrEqual(10);
    console.log('envelopes our node pushed to the reference-style client:', JSON.stringify(client.serverRequests));
  });
});

describe('our node → reference-style server (strictly sequential, never sends PEX)', () => {
  // §0/§4.4: the relay binary advertises {dht, relay}; desktop and CLI binaries advertise all-false yet serve the DHT.
  it.each([
    ['relay binary', { dht: true, store: false, relay: true, contentSeed: false, mobileLight: false }],
    ['desktop/CLI binary (all-false capabilities)', NO_CAPABILITIES],
  ] as const)('%s: connects, publishes through it as bootstrap, answers arrive in order, and our node stays healthy', async (_name, capabilities) => {
    const ref = await RefServer.start({ capabilities });
    servers.push(ref);
    const node = await start({ bootstrap: [`${ref.url}@${toHex(ref.pubkey)}`] });

    const rec = await node.connect(ref.url);
    expect(rec.pubkey).toBe(toHex(ref.pubkey));
    expect(ref.handshakes.filter((h) => h.ok).map((h) => h.remote)).toContain(node.id.nodePubkey);

    const pub = await node.publishText('t', 'hello');
    const headKey = toHex(shareHeadKey(fromHex(pub.shareId)));
    await until('the share head STORE at the reference server', () => ref.dht.has(headKey), 20_000);
    const stored = ref.dht.get(headKey)!;
    const head = decodeShareHead(stored.value);
    expect(toHex(head.latestManifestId)).toBe(pub.manifestId);

    // Every request got exactly one answer, and on each connection req_ids/answers were strictly in order.
    expect(ref.anomalies).toEqual([]);
    const unknown = ref.log.filter((e) => e.answeredFlags === FLAGS_ERROR_RESPONSE);
    expect(unknown, 'requests the reference would have refused').toEqual([]);

    // Serve the manifest from the reference server; our node's view of the world is unaffected.
    const again = await node.connect(`${ref.url}@${toHex(ref.pubkey)}`);
    expect(again.pubkey).toBe(toHex(ref.pubkey));
    const pub2 = await node.publishText('t2', 'hello again');
    const headKey2 = toHex(shareHeadKey(fromHex(pub2.shareId)));
    await until('the second share head STORE', () => {
      const v = ref.dht.get(headKey2);
      return !!v && toHex(decodeShareHead(v.value).latestManifestId) === pub2.manifestId;
    }, 20_000);
    expect(node.health().actors.every((a) => a.restarts === 0)).toBe(true);
    expect(node.state).toBe('running');
    // eslint-disable-next-line no-console
    console.log('reference server log:', JSON.stringify(ref.log.map((e) => [e.conn, e.type, e.reqId, e.answeredType, e.answeredFlags])));
  });
});
