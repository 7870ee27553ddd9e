#!/usr/bin/env node
// Requests through a session, end to end through the actors, beside raw node:tls, in the same run:
//   - client: a node narrowed to persistence + session (worker threads, as in production); every request is
//     `session.request` from this thread -> session worker -> TLS or QUIC -> peer, and the response payload is
//     copied once into a fresh buffer and transferred back;
//   - far end: bench/session-bench-peer.mjs in its own process (our connection shell answering GET_CHUNK with
//     256 KiB CHUNK_DATA and PEX_REQUEST with an empty offer), plus a raw node:tls server for the baseline.
// Figures: round trips/s (one small request in flight), requests/s with 32 in flight, and bulk MiB/s
// (GET_CHUNK, 256 KiB each) with 1 and with 8 requests in flight (the latter on 1/8 of the bytes). Ratios are against raw node:tls doing the same exchange sizes.
// Options: SCP2P_BENCH_MIB (TLS bulk, default 1024), SCP2P_BENCH_QUIC_MIB (default 64), SCP2P_BENCH_RR_MS
// (default 1000), SCP2P_BENCH_ONLY (comma list of: session-tls,session-quic,raw-tls).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { createInterface } from 'node:readline';
import { MIB, distUrl, requireDist, root } from './lib/bench-common.mjs';

requireDist('actors/session/worker.js', '`npx tsc -p tsconfig.json`');
const imp = (p) => import(distUrl(p));
const { Supervisor, DEFAULT_LIMITS } = await imp('supervisor.js');
const { systemClock } = await imp('actors/runtime/clock.js');
const { MessageType } = await imp('protocol/registry.js');
const { getChunkCodec } = await imp('protocol/transfer-messages.js');
const { pexRequestCodec } = await imp('protocol/pex.js');

const tlsBytes = Number(process.env.SCP2P_BENCH_MIB ?? 1024) * MIB;
const quicBytes = Number(process.env.SCP2P_BENCH_QUIC_MIB ?? 64) * MIB;
const rrMs = Number(process.env.SCP2P_BENCH_RR_MS ?? 1000);
const only = process.env.SCP2P_BENCH_ONLY?.split(',');
const WINDOW = 8;
const CHUNK_REPLY = 256 * 1024 + 60; // CHUNK_DATA payload + envelope, near enough for the raw baseline

// ------------------------------------------------------------------ far end
const peer = spawn(process.execPath, [join(root, 'bench/session-bench-peer.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
const info = await new Promise((resolve, reject) => {
  createInterface({ input: peer.stdout }).once('line', (l) => resolve(JSON.parse(l)));
  peer.once('exit', (c) => reject(new Error(`peer exited ${c}`)));
});
const pubkeyHint = new Uint8Array(Buffer.from(info.pubkey, 'hex'));

// ------------------------------------------------------------------ client node (persistence + session)
const dataDir = mkdtempSync(join(tmpdir(), 'scp2p-bench-sess-'));
const sup = new Supervisor({
  dataDir,
  mode: 'worker',
  clock: systemClock,
  seed: 1,
  limits: DEFAULT_LIMITS,
  actors: ['persistence', 'session'],
  actorConfig: { session: { listen: null, host: '127.0.0.1', bootstrap: [] } },
});
await sup.start();

const getChunk = getChunkCodec.encode({ contentId: new Uint8Array(32).fill(3), chunkIndex: 0 });
const pexReq = pexRequestCodec.encode({ maxPeers: 8 });

function sessionKind(name, transport, bulkBytes) {
  const to = { ip: '127.0.0.1', port: info[transport], transport, pubkeyHint };
  const req = (messageType, payload) => sup.request('session', { type: 'request', to, messageType, payload, timeoutMs: 30_000 }, { timeoutMs: 35_000 });
  return { name, bulkBytes, small: () => req(MessageType.PEX_REQUEST, pexReq), bulk: async () => (await req(MessageType.GET_CHUNK, getChunk)).payload.length, close: async () => {} };
}

async function rawKind() {
  const s = tls.connect({ host: '127.0.0.1', port: info.raw, rejectUnauthorized: false, servername: 'localhost' });
  s.setNoDelay(true);
  await new Promise((r, j) => (s.once('secureConnect', r), s.once('error', j)));
  const waiting = [];
  let need = -1;
  let out;
  let have = 0;
  let hdr = Buffer.alloc(0);
  s.on('data', (d) => {
    let i = 0;
    while (i < d.length) {
      if (need < 0) {
        hdr = Buffer.concat([hdr, d.subarray(i, i + 4 - hdr.length)]);
        i += Math.min(4, d.length - i);
        if (hdr.length < 4) continue;
        need = hdr.readUInt32BE(0);
        hdr = Buffer.alloc(0);
        // the same one copy the session path makes, into a fresh buffer
        out = new Uint8Array(need);
        have = 0;
      }
      const k = Math.min(need - have, d.length - i);
      out.set(d.subarray(i, i + k), have);
      have += k;
      i += k;
      if (have === need) {
        need = -1;
        waiting.shift()(out.length);
      }
    }
  });
  const ask = (want) => {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(want, 4);
    s.write(h);
    return new Promise((r) => waiting.push(r));
  };
  return { name: 'raw node:tls', bulkBytes: tlsBytes, small: () => ask(64), bulk: () => ask(CHUNK_REPLY), close: async () => s.destroy() };
}

async function measure(k) {
  await k.small(); // warm up: connect + handshake
  await k.bulk();
  let n = 0;
  let t0 = performance.now();
  while (performance.now() - t0 < rrMs) {
    await k.small();
    n++;
  }
  const rt = (n * 1000) / (performance.now() - t0);
  n = 0;
  t0 = performance.now();
  const lane = async () => {
    while (performance.now() - t0 < rrMs) {
      await k.small();
      n++;
    }
  };
  await Promise.all(Array.from({ length: 32 }, lane));
  const pipelined = (n * 1000) / (performance.now() - t0);
  const bulk = async (window, bytes) => {
    let got = 0;
    const t = performance.now();
    const bulkLane = async () => {
      while (got < bytes) got += await k.bulk();
    };
    await Promise.all(Array.from({ length: window }, bulkLane));
    return { mibs: got / MIB / ((performance.now() - t) / 1000), mib: Math.round(got / MIB) };
  };
  const one = await bulk(1, k.bulkBytes);
  const many = await bulk(WINDOW, Math.max(MIB, k.bulkBytes / 8));
  return { name: k.name, rt, pipelined, mibs: one.mibs, mib: one.mib, mibsMany: many.mibs };
}

const kinds = [];
if (!only || only.includes('raw-tls')) kinds.push(await rawKind());
if (!only || only.includes('session-tls')) kinds.push(sessionKind('session TLS', 'tcp', tlsBytes));
if (!only || only.includes('session-quic')) kinds.push(sessionKind('session QUIC', 'quic', quicBytes));
const results = [];
for (const k of kinds) {
  try {
    results.push(await measure(k));
  } catch (err) {
    console.error(`${k.name}: ${err?.message ?? err}`);
  }
  await k.close();
}
const base = results.find((r) => r.name === 'raw node:tls');
const f = (x, d = 0) => x.toFixed(d).padStart(9);
console.log(`\n${'kind'.padEnd(16)}${'rt/s'.padStart(9)}${'req/s@32'.padStart(10)}${'MiB/s@1'.padStart(9)}${'MiB'.padStart(7)}${'MiB/s@8'.padStart(9)}  ratios vs raw node:tls (rt, req@32, bulk@1, bulk@8)`);
for (const r of results) {
  const ratio = base ? `  ${(r.rt / base.rt).toFixed(2)} ${(r.pipelined / base.pipelined).toFixed(2)} ${(r.mibs / base.mibs).toFixed(2)} ${(r.mibsMany / base.mibsMany).toFixed(2)}` : '';
  console.log(`${r.name.padEnd(16)}${f(r.rt)}${f(r.pipelined).padStart(10)}${f(r.mibs)}${String(r.mib).padStart(7)}${f(r.mibsMany)}${ratio}`);
}
await sup.stop();
peer.stdin.end();
rmSync(dataDir, { recursive: true, force: true });
