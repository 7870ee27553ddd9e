#!/usr/bin/env node
// The far end for bench/session.bench.mjs, in its own process: an SCP2P responder built from our own
// connection shell (dist/actors/session/peer-connection.js) on our TLS and QUIC listeners, answering
// GET_CHUNK with a 256 KiB CHUNK_DATA and PEX_REQUEST with an empty offer; plus a raw node:tls server for the
// baseline (4-byte length-prefixed request -> a reply of the size the request names). Prints its addresses
// as one JSON line, then serves until stdin closes.
import { randomBytes } from 'node:crypto';
import * as tls from 'node:tls';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const imp = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
const { PeerConnection } = await imp('actors/session/peer-connection.js');
const { TlsTransport } = await imp('actors/session/transport/tls-transport.js');
const { QuicTransport } = await imp('actors/session/transport/quic-transport.js');
const { processCertificate } = await imp('actors/session/transport/certs.js');
const { NonceTracker } = await imp('protocol/handshake.js');
const { publicKeyFromSeed } = await imp('protocol/keys.js');
const { MessageType } = await imp('protocol/registry.js');
const { chunkDataCodec } = await imp('protocol/transfer-messages.js');
const { pexOfferCodec } = await imp('protocol/pex.js');
const { systemClock } = await imp('actors/runtime/clock.js');

const seed = new Uint8Array(randomBytes(32));
const chunk = chunkDataCodec.encode({ contentId: new Uint8Array(32).fill(3), chunkIndex: 0, bytes: new Uint8Array(256 * 1024).fill(7) });
const emptyOffer = pexOfferCodec.encode({ peers: [] });
const caps = { dht: false, store: false, relay: false, contentSeed: true, mobileLight: false };
let nextId = 1;
const hooks = {
  now: () => Date.now(),
  clock: systemClock,
  onEstablished() {},
  onRequestsEnabled() {},
  onClosed() {},
  onInbound(pc, req) {
    if (req.request.type === MessageType.GET_CHUNK) pc.respond(req.id, { payload: chunk });
    else if (req.request.type === MessageType.PEX_REQUEST) pc.respond(req.id, { payload: emptyOffer });
    else pc.respond(req.id, { payload: new Uint8Array(0) });
  },
};
const nonces = new NonceTracker();
const limits = { maxInboundInFlight: 64 };
const serve = (conn) =>
  new PeerConnection(nextId++, conn, { randomBytes: (n) => new Uint8Array(randomBytes(n)), nonceTracker: nonces, rateLimiter: null }, { role: 'responder', nodeSeed: seed, capabilities: caps, limits }, hooks, null).start();
const tcp = await new TlsTransport().listen({ host: '127.0.0.1', port: 0 }, serve);
const quic = await new QuicTransport().listen({ host: '127.0.0.1', port: 0 }, serve);

const cert = processCertificate();
const raw = tls.createServer({ key: cert.keyPem, cert: cert.certPem, minVersion: 'TLSv1.3' }, (s) => {
  s.setNoDelay(true);
  let buf = Buffer.alloc(0);
  const replies = new Map();
  s.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 8) {
      const want = buf.readUInt32BE(4);
      buf = buf.subarray(8);
      let r = replies.get(want);
      if (!r) {
        r = Buffer.alloc(4 + want, 7);
        r.writeUInt32BE(want, 0);
        replies.set(want, r);
      }
      s.write(r);
    }
  });
  s.on('error', () => {});
});
await new Promise((r) => raw.listen(0, '127.0.0.1', r));

console.log(JSON.stringify({ pubkey: Buffer.from(publicKeyFromSeed(seed)).toString('hex'), tcp: tcp.address.port, quic: quic.address.port, raw: raw.address().port }));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
