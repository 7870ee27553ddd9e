// The hostile peers of bench/attack.bench.mjs, in a process of their own (their CPU is the attack's, not the
// bench's event loop). Built from the package's own protocol core (dist/): each attacker completes a genuine
// SCP2P handshake through a ConnectionCore initiator, then misbehaves:
//   flood     pipelines requests (GET_MANIFEST, FIND_NODE, PEX_REQUEST, GET_CHUNK_HASHES, GET_CHUNK of unknown
//             content (of the real file with `greedy`), unknown types) with 32 in
//             flight on one identity, forever (the per-identity rate limits answer most of it with error texts);
//   churn     a new identity every connection: handshake, 20 requests, hang up (a Sybil flood of the limiter);
//   slowloris a frame's length prefix, then a byte every 2 s (cut off by the node's frame timeout, then again);
//   garbage   random bytes and oversize prefixes right after the handshake (silent close), reconnecting;
//   corrupt   a seeder (TLS listener) that lists the genuine chunk hashes but serves every chunk with a flipped byte.
// Every attacking connection leaves from its own source address, 127.0.0.66 (Linux routes all of 127/8 to lo), as
// attackers on a real network do not share the honest peer's IP; per-IP defences (the accept budget) then see
// them as one host, which is what they are. Nothing else is held back: fresh identities, full pipelines.
// argv[2]: JSON { dist, targets: ["tcp://ip:port"...], contentId, manifestId, file, intensity, kinds? }. Prints
// "ready <corruptPort>" once the corrupt seeder listens; on SIGTERM prints a JSON line of counters and exits.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';

const args = JSON.parse(process.argv[2]);
const imp = (p) => import(pathToFileURL(`${args.dist}/${p}`).href);
const { ConnectionCore } = await imp('actors/session/connection-core.js');
const { generateSelfSignedCertificate } = await imp('actors/session/transport/certs.js');
const { describeContent } = await imp('protocol/content.js');
const { fromHex } = await imp('protocol/bytes.js');
const { MessageType } = await imp('protocol/registry.js');
const { NO_CAPABILITIES } = await imp('protocol/peer-addr.js');
const { pexRequestCodec } = await imp('protocol/pex.js');
const { findNodeCodec } = await imp('protocol/dht-messages.js');
const { getManifestCodec, getChunkHashesCodec, getChunkCodec, chunkDataCodec, chunkHashListCodec } = await imp('protocol/transfer-messages.js');

const rnd = (n) => new Uint8Array(randomBytes(n));
const stats = { floodAnswers: 0, floodErrors: 0, churnConnections: 0, slowlorisCut: 0, garbageConnections: 0, corruptChunksServed: 0, handshakeFailures: 0 };
let stopping = false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const contentId = fromHex(args.contentId, 32);
const manifestId = fromHex(args.manifestId, 32);
const intensity = args.intensity ?? 1;
const ATTACKER_IP = '127.0.0.66';

/** A TLS connection through a genuine handshake; resolves { sock, core, pump, closed } or null. */
function connect(target) {
  const [, host, port] = /^tcp:\/\/([\d.]+):(\d+)$/.exec(target);
  return new Promise((resolve) => {
    const sock = tls.connect({ host, port: Number(port), rejectUnauthorized: false, servername: 'localhost', localAddress: ATTACKER_IP });
    const core = new ConnectionCore({ randomBytes: rnd }, { role: 'initiator', nodeSeed: rnd(32), capabilities: NO_CAPABILITIES, limits: { maxOutboundInFlight: 4096 } });
    const waiters = new Map();
    let raw = false;
    let done = false;
    const closed = new Promise((r) => sock.once('close', r));
    const pump = () => {
      for (let t = core.pollTransmit(); t; t = core.pollTransmit()) sock.write(t);
      for (let e = core.pollEffect(); e; e = core.pollEffect()) {
        if (e.kind === 'established' && !done) {
          done = true;
          resolve(conn);
        } else if (e.kind === 'response' || e.kind === 'request-failed') {
          const w = waiters.get(e.id);
          waiters.delete(e.id);
          w?.(e);
        } else if (e.kind === 'close') sock.destroy();
      }
    };
    const conn = {
      sock,
      closed,
      request(type, payload) {
        const r = core.request({ type, payload, timeoutMs: 30_000 }, Date.now());
        if (!r.ok) return Promise.resolve({ kind: 'request-failed' });
        const p = new Promise((res) => waiters.set(r.id, res));
        pump();
        return p;
      },
      raw(bytes) {
        raw = true;
        return sock.write(bytes);
      },
    };
    sock.on('error', () => {});
    sock.on('data', (d) => {
      if (raw) return;
      core.handle({ kind: 'bytes', data: new Uint8Array(d) }, Date.now());
      pump();
    });
    sock.once('secureConnect', () => {
      core.start(Date.now());
      pump();
    });
    const tick = setInterval(() => {
      core.handleTimeout(Date.now());
      pump();
    }, 250);
    closed.then(() => {
      clearInterval(tick);
      for (const w of waiters.values()) w({ kind: 'request-failed' });
      waiters.clear();
      if (!done) {
        done = true;
        stats.handshakeFailures++;
        resolve(null);
      }
    });
  });
}

const REQUESTS = [
  () => [MessageType.GET_MANIFEST, getManifestCodec.encode({ manifestId })],
  () => [MessageType.FIND_NODE, findNodeCodec.encode({ targetNodeId: rnd(20) })],
  () => [MessageType.PEX_REQUEST, pexRequestCodec.encode({ maxPeers: 64 })],
  () => [MessageType.GET_CHUNK_HASHES, getChunkHashesCodec.encode({ contentId })],
  // Chunks of content the node does not have: a flooder fetching the real file is a greedy downloader, which the
  // seeder shares its upload with fairly (per-peer read slots) rather than refuses; SCP2P_ATTACK_GREEDY=1 adds that.
  () => [MessageType.GET_CHUNK, getChunkCodec.encode({ contentId: args.greedy ? contentId : rnd(32), chunkIndex: Math.floor(Math.random() * 8) })],
  () => [0x7777, rnd(16)],
];

async function flood(target) {
  while (!stopping) {
    const c = await connect(target);
    if (!c) {
      await sleep(200);
      continue;
    }
    const lane = async () => {
      let i = 0;
      while (!stopping && !c.sock.destroyed) {
        const [type, payload] = REQUESTS[i++ % REQUESTS.length]();
        const e = await c.request(type, payload);
        if (e.kind === 'response') (e.error ? stats.floodErrors++ : stats.floodAnswers++);
        else break;
      }
    };
    await Promise.all(Array.from({ length: 32 }, lane));
    c.sock.destroy();
  }
}

async function churn(target) {
  while (!stopping) {
    const c = await connect(target);
    stats.churnConnections++;
    if (c) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => c.request(...REQUESTS[i % REQUESTS.length]())));
      c.sock.destroy();
    } else await sleep(100);
  }
}

async function slowloris(target) {
  while (!stopping) {
    const c = await connect(target);
    if (!c) {
      await sleep(500);
      continue;
    }
    c.raw(Uint8Array.of(0, 0, 0x40, 0));
    while (!stopping && !c.sock.destroyed) {
      await Promise.race([sleep(2_000), c.closed]);
      if (!c.sock.destroyed) c.raw(Uint8Array.of(1));
    }
    if (!stopping) stats.slowlorisCut++;
  }
}

async function garbage(target) {
  while (!stopping) {
    const c = await connect(target);
    stats.garbageConnections++;
    if (c) {
      c.raw(Math.random() < 0.5 ? rnd(64 + Math.floor(Math.random() * 512)) : Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2, 3));
      await Promise.race([c.closed, sleep(2_000)]);
      c.sock.destroy();
    }
    await sleep(50);
  }
}

/** A seeder of corrupt chunks (genuine hash list), answering over the package's own responder core. */
async function corruptSeeder() {
  const bytes = readFileSync(args.file);
  const d = describeContent(bytes);
  const cert = generateSelfSignedCertificate();
  const server = tls.createServer({ key: cert.keyPem, cert: cert.certPem }, (sock) => {
    const core = new ConnectionCore({ randomBytes: rnd }, { role: 'responder', nodeSeed: rnd(32), capabilities: { ...NO_CAPABILITIES, contentSeed: true }, responderRequests: 'explicit' });
    const pump = () => {
      for (let t = core.pollTransmit(); t; t = core.pollTransmit()) sock.write(t);
      for (let e = core.pollEffect(); e; e = core.pollEffect()) {
        if (e.kind === 'inbound-request') {
          const r = e.request;
          if (r.type === MessageType.GET_CHUNK_HASHES) {
            core.respond(e.id, { payload: chunkHashListCodec.encode({ contentId: d.contentId, hashes: d.chunkHashes }) }, Date.now());
          } else if (r.type === MessageType.GET_CHUNK) {
            const i = r.payload.chunkIndex;
            const chunk = Uint8Array.from(bytes.subarray(i * 262_144, Math.min(bytes.length, (i + 1) * 262_144)));
            chunk[chunk.length >> 1] ^= 0x5a;
            stats.corruptChunksServed++;
            core.respond(e.id, { payload: chunkDataCodec.encode({ contentId: d.contentId, chunkIndex: i, bytes: chunk }) }, Date.now());
          } else if (r.type === MessageType.HAVE_CONTENT || r.type === MessageType.PEX_OFFER) {
            core.respond(e.id, { payload: new Uint8Array(0) }, Date.now());
          } else core.respond(e.id, { error: 'unsupported message type' }, Date.now());
        } else if (e.kind === 'close') sock.destroy();
      }
    };
    sock.on('error', () => {});
    sock.on('data', (b) => {
      core.handle({ kind: 'bytes', data: new Uint8Array(b) }, Date.now());
      pump();
    });
    sock.on('close', () => core.handle({ kind: 'eof' }, Date.now()));
    core.start(Date.now());
    pump();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server.address().port;
}

const kinds = new Set(args.kinds ?? ['flood', 'churn', 'slowloris', 'garbage', 'corrupt']);
const port = kinds.has('corrupt') ? await corruptSeeder() : 0;
console.log(`ready ${port}`);
const all = [];
for (const t of args.targets) {
  if (kinds.has('flood')) for (let k = 0; k < 2 * intensity; k++) all.push(flood(t));
  if (kinds.has('churn')) for (let k = 0; k < intensity; k++) all.push(churn(t));
  if (kinds.has('slowloris')) for (let k = 0; k < 10 * intensity; k++) all.push(slowloris(t));
  if (kinds.has('garbage')) for (let k = 0; k < intensity; k++) all.push(garbage(t));
}
process.on('SIGTERM', () => {
  stopping = true;
  console.log(JSON.stringify(stats));
  process.exit(0);
});
await Promise.all(all);
