#!/usr/bin/env node
// Transports on loopback, client and server in this one process, all in the same run:
//   bulk MiB/s (one stream, 256 KiB writes honouring backpressure) and request/response round trips/s
//   (64-byte request, 64-byte answer, one in flight) for
//   - our TLS transport (src/actors/session/transport/tls-transport.ts)
//   - our QUIC transport (@matrixai/quic with our patch and tuning; docs/QUIC.md)
//   - raw node:tls sockets (no Connection wrapper) — the ceiling for our TLS path
//   - Hyperswarm's UDX + secret-stream (udx-native, @hyperswarm/secret-stream) — a UDP transport done well
// printed with ratios. Imports the built package: `npx tsc -p tsconfig.json` first.
// The machine is shared, so kinds run round-robin for SCP2P_BENCH_ROUNDS rounds and the best round of each is
// reported (contention only ever makes a run slower).
// Options: SCP2P_BENCH_MIB (bulk size, default 128), SCP2P_BENCH_RR_MS (round-trip phase length, default 1000),
// SCP2P_BENCH_ROUNDS (default 3), SCP2P_BENCH_ONLY (comma list of: tls,quic,raw-tls,udx).
import * as tls from 'node:tls';
import { MIB, distUrl, importDist } from './lib/bench-common.mjs';

const { TlsTransport } = await importDist('actors/session/transport/tls-transport.js', '`npx tsc -p tsconfig.json`');
const { QuicTransport } = await import(distUrl('actors/session/transport/quic-transport.js'));
const { processCertificate } = await import(distUrl('actors/session/transport/certs.js'));

const bulkBytes = Number(process.env.SCP2P_BENCH_MIB ?? 128) * MIB;
const rrMs = Number(process.env.SCP2P_BENCH_RR_MS ?? 1000);
const only = process.env.SCP2P_BENCH_ONLY?.split(',');
const rounds = Number(process.env.SCP2P_BENCH_ROUNDS ?? 3);
const CHUNK = new Uint8Array(256 * 1024).fill(7);
const REQ = new Uint8Array(64).fill(1);

/** A byte pipe the bench drives: `send` honours backpressure, `onBytes` sees every received slice. */
// kind: { name, setup(): Promise<{ client: Pipe, server: Pipe, teardown() }> }
// Pipe: { write(b): true|Promise, onBytes(fn), end(): Promise }

function connectionPipe(conn) {
  let fn = () => {};
  void (async () => {
    try {
      for await (const b of conn) fn(b);
    } catch {
      /* torn down */
    }
  })();
  return {
    write: (b) => conn.write(b),
    onBytes: (f) => (fn = f),
    end: () => conn.close(),
  };
}

function nodeStreamPipe(s) {
  let fn = () => {};
  s.on('data', (b) => fn(b));
  s.on('error', () => {});
  return {
    write: (b) => (s.write(b) ? true : new Promise((r) => s.once('drain', r))),
    onBytes: (f) => (fn = f),
    end: () => new Promise((r) => { s.once('close', r); s.end(); setTimeout(() => { s.destroy(); r(); }, 2000).unref(); }),
  };
}

async function ourTransport(t) {
  let serverConn;
  const got = new Promise((r) => (serverConn = r));
  const l = await t.listen({ host: '127.0.0.1', port: 0 }, (c) => serverConn(c));
  const c = await t.dial(l.address);
  const client = connectionPipe(c);
  await client.write(new Uint8Array(1)); // QUIC: the client's first bytes open the stream on the server
  const server = connectionPipe(await got);
  await new Promise((r) => server.onBytes(() => r()));
  return { client, server, teardown: async () => { await c.close().catch(() => {}); await l.close({ destroyConnections: true }); } };
}

async function rawTls() {
  const cert = processCertificate();
  let serverSock;
  const got = new Promise((r) => (serverSock = r));
  const srv = tls.createServer({ key: cert.keyPem, cert: cert.certPem, minVersion: 'TLSv1.3' }, (s) => serverSock(s));
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const c = tls.connect({ host: '127.0.0.1', port: srv.address().port, rejectUnauthorized: false, servername: 'localhost' });
  await new Promise((r) => c.once('secureConnect', r));
  c.setNoDelay(true);
  const s = await got;
  s.setNoDelay(true);
  return { client: nodeStreamPipe(c), server: nodeStreamPipe(s), teardown: async () => { c.destroy(); s.destroy(); await new Promise((r) => srv.close(r)); } };
}

async function udxSecretStream() {
  const { default: UDX } = await import('udx-native');
  const { default: SecretStream } = await import('@hyperswarm/secret-stream');
  const udx = new UDX();
  const a = udx.createSocket();
  const b = udx.createSocket();
  a.bind(0, '127.0.0.1');
  b.bind(0, '127.0.0.1');
  const ra = udx.createStream(1);
  const rb = udx.createStream(2);
  ra.connect(a, 2, b.address().port, '127.0.0.1');
  rb.connect(b, 1, a.address().port, '127.0.0.1');
  const sa = new SecretStream(true, ra);
  const sb = new SecretStream(false, rb);
  await Promise.all([sa.opened, sb.opened]);
  return {
    client: nodeStreamPipe(sa),
    server: nodeStreamPipe(sb),
    teardown: async () => { sa.destroy(); sb.destroy(); await Promise.all([a.close(), b.close()]); },
  };
}

async function bulk(p) {
  let received = 0;
  const done = new Promise((r) => p.server.onBytes((b) => { received += b.length; if (received >= bulkBytes) r(); }));
  const t0 = performance.now();
  for (let sent = 0; sent < bulkBytes; sent += CHUNK.length) {
    const r = p.client.write(CHUNK);
    if (r !== true) await r;
  }
  await done;
  return bulkBytes / MIB / ((performance.now() - t0) / 1000);
}

async function roundTrips(p) {
  // 64-byte messages: read exactly 64 bytes before answering / sending the next one.
  let serverHave = 0;
  p.server.onBytes((b) => {
    serverHave += b.length;
    while (serverHave >= 64) {
      serverHave -= 64;
      void p.server.write(REQ);
    }
  });
  let clientHave = 0;
  let wake = () => {};
  p.client.onBytes((b) => { clientHave += b.length; if (clientHave >= 64) wake(); });
  const end = performance.now() + rrMs;
  let n = 0;
  while (performance.now() < end) {
    const got = new Promise((r) => (wake = r));
    await p.client.write(REQ);
    if (clientHave < 64) await got;
    clientHave -= 64;
    n++;
  }
  return n / (rrMs / 1000);
}

const kinds = [
  { name: 'scp2p TLS', key: 'tls', setup: () => ourTransport(new TlsTransport()) },
  { name: 'scp2p QUIC', key: 'quic', setup: () => ourTransport(new QuicTransport()) },
  { name: 'scp2p QUIC reno', key: 'quic', setup: () => ourTransport(new QuicTransport({ congestionControl: 'reno' })) },
  { name: 'raw node:tls', key: 'raw-tls', setup: rawTls },
  { name: 'UDX+secret-stream', key: 'udx', setup: udxSecretStream },
].filter((k) => !only || only.includes(k.key));

const rows = kinds.map((k) => ({ name: k.name, mibs: 0, rts: 0 }));
for (let round = 1; round <= rounds; round++) {
  for (const [i, k] of kinds.entries()) {
    // fresh connections per phase so one phase's leftovers cannot skew the other
    const p1 = await k.setup();
    const mibs = await bulk(p1);
    await p1.teardown();
    const p2 = await k.setup();
    const rts = await roundTrips(p2);
    await p2.teardown();
    rows[i].mibs = Math.max(rows[i].mibs, mibs);
    rows[i].rts = Math.max(rows[i].rts, rts);
    console.log(`round ${round} ${k.name.padEnd(18)} bulk ${mibs.toFixed(1).padStart(7)} MiB/s   round trips ${rts.toFixed(0).padStart(6)}/s`);
  }
}

const ref = (name) => rows.find((r) => r.name === name);
const raw = ref('raw node:tls');
const udx = ref('UDX+secret-stream');
console.log(`\nbest of ${rounds} rounds: ${bulkBytes / MIB} MiB bulk, ${rrMs} ms of round trips, loopback, one process`);
console.log('transport            MiB/s   rt/s    MiB/s vs raw-tls  vs udx   rt/s vs raw-tls  vs udx');
for (const r of rows) {
  const f = (x, y) => (y ? (x / y).toFixed(2) : '  - ').padStart(6);
  console.log(
    `${r.name.padEnd(18)} ${r.mibs.toFixed(1).padStart(7)} ${r.rts.toFixed(0).padStart(7)}    ${f(r.mibs, raw?.mibs)}       ${f(r.mibs, udx?.mibs)}   ${f(r.rts, raw?.rts)}         ${f(r.rts, udx?.rts)}`,
  );
}
process.exit(0);
