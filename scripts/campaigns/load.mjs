#!/usr/bin/env node
// Load campaign (issue 12, docs/RELIABILITY.md "Load: one seeder, 200 sessions").
//
// One seeder node in its own process (load-seeder.mjs) serves one random file; this process opens `sessions`
// TLS connections to it, each with its own node identity, and on each runs the 3-message handshake (the
// protocol core's HandshakeMachine, no session layer of ours), asks GET_CHUNK_HASHES once (checked against the
// item's chunk_list_hash), then loops GET_CHUNK with `depth` requests in flight, every chunk checked against
// its BLAKE3 hash. Meanwhile it calls `status` through the seeder's control API every second. It stops by
// itself after `durationS` (or `maxChunks` per session) and reports aggregate MiB/s, chunk latency (p50/p99
// over all chunks, and the worst session's p99), errors by kind, the seeder's RSS and main-thread event-loop
// delay, and whether every status call was answered within `responsiveMs`.
//
//   node scripts/campaigns/load.mjs [--sessions 200] [--duration-s 60] [--size-mib 64] [--depth 1]
//                                   [--max-chunks 0] [--serve-threads N (the seeder's NodeConfig.serveThreads)]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DIST, MiB, jsonSafe, parseOpts, quantile, randomFile } from './common.mjs';

const SEEDER = fileURLToPath(new URL('./load-seeder.mjs', import.meta.url));
const HANDSHAKE_MAX = 65_536;
const ENVELOPE_MAX = 2_097_152;

export const DEFAULTS = { sessions: 200, durationS: 60, sizeMib: 64, depth: 1, maxChunks: 0, requestTimeoutMs: 30_000, responsiveMs: 5_000, serveThreads: 0 };

export async function runLoad(options = {}, log = (m) => process.stderr.write(`${m}\n`)) {
  const o = { ...DEFAULTS, ...options };
  const P = await import(pathToFileURL(DIST.replace(/index\.js$/, 'protocol/index.js')).href);
  const base = await mkdtemp(join(tmpdir(), 'scp2p-load-'));
  const report = { sessions: o.sessions, serveThreads: o.serveThreads || 1, depth: o.depth, durationS: o.durationS, sizeMiB: o.sizeMib, loadAvg: { start: +loadavg()[0].toFixed(1) }, ok: false, failures: [] };
  const fail = (what) => {
    report.failures.push(what);
    log(`FAIL ${what}`);
  };
  let seeder;
  try {
    const file = join(base, 'src', 'blob.bin');
    await randomFile(file, o.sizeMib * MiB);
    seeder = spawn(process.execPath, [SEEDER, join(base, 'seeder'), file, ...(o.serveThreads ? [String(o.serveThreads)] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
    const samples = [];
    const ready = await new Promise((resolve, reject) => {
      let buf = '';
      seeder.stdout.on('data', (b) => {
        buf += b.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (line.ev === 'ready') resolve(line);
          if (line.ev === 'sample') samples.push(line);
        }
      });
      seeder.once('exit', (code) => reject(new Error(`the seeder exited with ${code} before it was ready`)));
      setTimeout(() => reject(new Error('the seeder was not ready within 120 s')), 120_000);
    });
    const addr = new URL(ready.addresses[0]);
    const host = addr.hostname;
    const port = Number(addr.port);
    const item = ready.item;
    const contentId = P.fromHex(item.contentId);
    const chunkCount = item.chunkCount;
    log(`seeder ${ready.addresses[0]}; ${o.sizeMib} MiB item of ${chunkCount} chunks; ${o.sessions} sessions × ${o.depth} in flight for ${o.durationS} s`);

    // ---- status through the control API: 5 calls before the load (the idle figure on this machine right now),
    // then once a second for the whole run
    const callStatus = async () => {
      const res = await fetch(`${ready.control}/api/v1/call/status`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ready.token}`, 'content-type': 'application/json' },
        body: '{}',
        signal: AbortSignal.timeout(30_000),
      });
      const body = await res.json();
      if (!res.ok || !body.result?.health) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
    };
    const idle = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await callStatus();
      idle.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
    const status = { calls: 0, answered: 0, latenciesMs: [], errors: [] };
    let running = true;
    const probe = (async () => {
      while (running) {
        const t0 = performance.now();
        status.calls++;
        try {
          await callStatus();
          status.answered++;
          status.latenciesMs.push(performance.now() - t0);
        } catch (e) {
          status.errors.push(String(e?.message ?? e));
        }
        await new Promise((r) => setTimeout(r, Math.max(0, 1_000 - (performance.now() - t0))));
      }
    })();

    // ---- the sessions
    const t0 = performance.now();
    const until = t0 + o.durationS * 1_000;
    const results = await Promise.all(
      Array.from({ length: o.sessions }, (_, i) => runSession(P, { host, port, contentId, chunkCount, chunkListHash: item.chunkListHash, until, start: Math.floor((i * chunkCount) / o.sessions), ...o })),
    );
    const elapsedS = (performance.now() - t0) / 1_000;
    running = false;
    await probe;

    const all = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const bytes = results.reduce((s, r) => s + r.bytes, 0);
    const errors = {};
    for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    const perSessionP99 = results.filter((r) => r.latencies.length > 0).map((r) => quantile([...r.latencies].sort((a, b) => a - b), 0.99)).sort((a, b) => a - b);
    const load = samples.filter((s) => s.t >= Date.now() - elapsedS * 1_000 - 500);
    report.elapsedS = +elapsedS.toFixed(1);
    report.loadAvg.end = +loadavg()[0].toFixed(1);
    report.chunksVerified = results.reduce((s, r) => s + r.verified, 0);
    report.badChunks = results.reduce((s, r) => s + r.bad, 0);
    report.aggregateMiBps = +(bytes / MiB / elapsedS).toFixed(1);
    report.latencyMs = { p50: +quantile(all, 0.5).toFixed(1), p99: +quantile(all, 0.99).toFixed(1), max: +(all[all.length - 1] ?? 0).toFixed(1) };
    report.perSessionP99Ms = { median: +quantile(perSessionP99, 0.5).toFixed(1), worst: +(perSessionP99[perSessionP99.length - 1] ?? 0).toFixed(1) };
    report.handshakeMs = (() => {
      const h = results.map((r) => r.handshakeMs).filter((x) => x !== null).sort((a, b) => a - b);
      return { p50: +quantile(h, 0.5).toFixed(1), max: +(h[h.length - 1] ?? 0).toFixed(1) };
    })();
    report.sessionsServed = results.filter((r) => r.verified > 0).length;
    report.errors = errors;
    report.seeder = {
      rssMiB: { before: samples[0]?.rssMiB ?? null, max: Math.max(...load.map((s) => s.rssMiB)), after: samples[samples.length - 1]?.rssMiB ?? null },
      eventLoopDelayMs: { p99: Math.max(...load.map((s) => s.eldP99Ms)), max: Math.max(...load.map((s) => s.eldMaxMs)) },
      actorsAtEnd: samples[samples.length - 1]?.actors ?? null,
    };
    const sl = [...status.latenciesMs].sort((a, b) => a - b);
    report.status = { idleP50Ms: +quantile(idle.sort((a, b) => a - b), 0.5).toFixed(1), calls: status.calls, answered: status.answered, p50Ms: +quantile(sl, 0.5).toFixed(1), maxMs: +(sl[sl.length - 1] ?? 0).toFixed(1), errors: status.errors.slice(0, 5) };
    report.responsive = status.answered === status.calls && (sl[sl.length - 1] ?? Infinity) <= o.responsiveMs;

    if (report.badChunks > 0) fail(`${report.badChunks} chunk(s) failed their hash`);
    if (Object.keys(errors).length > 0) fail(`errors: ${JSON.stringify(errors)}`);
    if (report.sessionsServed < o.sessions) fail(`${o.sessions - report.sessionsServed} session(s) got no chunk`);
    if (!report.responsive) fail(`the seeder's status answers were slow or missing: ${JSON.stringify(report.status)}`);
    if (report.seeder.actorsAtEnd && !report.seeder.actorsAtEnd.split(' ').every((a) => a.endsWith(':running:0'))) fail(`seeder actors at the end: ${report.seeder.actorsAtEnd}`);
    report.ok = report.failures.length === 0;
    return report;
  } finally {
    if (seeder && seeder.exitCode === null) {
      const exited = new Promise((r) => seeder.once('exit', r));
      seeder.stdin.end();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (seeder.exitCode === null) seeder.kill('SIGKILL');
    }
    await rm(base, { recursive: true, force: true });
  }
}

/** One downloading session: TLS, handshake, chunk list, then GET_CHUNK with `depth` in flight until `until`. */
async function runSession(P, s) {
  const out = { verified: 0, bad: 0, bytes: 0, latencies: [], errors: {}, handshakeMs: null };
  const err = (kind) => (out.errors[kind] = (out.errors[kind] ?? 0) + 1);
  let sock;
  try {
    const t0 = performance.now();
    sock = await new Promise((resolve, reject) => {
      const c = tls.connect({ host: s.host, port: s.port, rejectUnauthorized: false, servername: 'localhost' }, () => resolve(c));
      c.once('error', reject);
      c.setTimeout(s.requestTimeoutMs, () => c.destroy(new Error('connect timeout')));
    });
    sock.setTimeout(0);
    const reader = new Reader(P, sock);
    const m = new P.HandshakeMachine({ role: 'initiator', nodeSeed: new Uint8Array(randomBytes(32)), capabilities: P.NO_CAPABILITIES, random: (n) => new Uint8Array(randomBytes(n)) });
    const now = () => Math.floor(Date.now() / 1000);
    for (const ev of m.start(now())) if (ev.kind === 'send') sock.write(ev.frame);
    let established = false;
    while (!established) {
      const body = await reader.next(HANDSHAKE_MAX, s.requestTimeoutMs);
      for (const ev of m.handle(body, now())) {
        if (ev.kind === 'send') sock.write(ev.frame);
        else if (ev.kind === 'failed') throw Object.assign(new Error(ev.message), { kind: 'handshake' });
        else if (ev.kind === 'established') established = true;
      }
    }
    out.handshakeMs = performance.now() - t0;
    reader.max = ENVELOPE_MAX;

    let reqId = 1;
    const pending = new Map();
    reader.onEnvelope = (env) => {
      const p = pending.get(env.reqId);
      if (!p || (env.flags & P.FLAG_RESPONSE) === 0) return err('unexpected-envelope');
      pending.delete(env.reqId);
      p.resolve(env);
    };
    reader.onClose = (e) => {
      for (const p of pending.values()) p.reject(Object.assign(e ?? new Error('closed'), { kind: 'closed' }));
      pending.clear();
    };
    const ask = (type, payload) => {
      const id = reqId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(Object.assign(new Error('request timed out'), { kind: 'timeout' }));
        }, s.requestTimeoutMs);
        pending.set(id, { resolve: (e) => (clearTimeout(timer), resolve(e)), reject: (e) => (clearTimeout(timer), reject(e)) });
        if (reader.closed) return reader.onClose(reader.closed);
        sock.write(P.encodeEnvelopeFrame({ type, reqId: id, flags: 0, payload }));
      });
    };
    const answer = (type, env) => {
      if (P.isError(env)) throw Object.assign(new Error(P.errorText(env)), { kind: `remote:${P.errorText(env)}` });
      return P.decodeResponsePayload(type, env.payload);
    };
    const list = answer(P.MessageType.GET_CHUNK_HASHES, await ask(P.MessageType.GET_CHUNK_HASHES, P.getChunkHashesCodec.encode({ contentId: s.contentId })));
    if (P.toHex(P.chunkListHash(list.hashes)) !== s.chunkListHash) throw Object.assign(new Error('chunk list hash differs'), { kind: 'bad-chunk-list' });

    let next = s.start;
    let asked = 0;
    const lane = async () => {
      while (performance.now() < s.until && (s.maxChunks === 0 || asked < s.maxChunks)) {
        const index = next++ % s.chunkCount;
        asked++;
        const t = performance.now();
        const msg = answer(P.MessageType.GET_CHUNK, await ask(P.MessageType.GET_CHUNK, P.getChunkCodec.encode({ contentId: s.contentId, chunkIndex: index })));
        out.latencies.push(performance.now() - t);
        if (msg.chunkIndex !== index || !P.verifyChunk(list.hashes[index], msg.bytes)) {
          out.bad++;
          continue;
        }
        out.verified++;
        out.bytes += msg.bytes.length;
      }
    };
    await Promise.all(Array.from({ length: s.depth }, lane));
  } catch (e) {
    err(e?.kind ?? (out.handshakeMs === null ? 'connect' : 'other'));
  } finally {
    sock?.destroy();
  }
  return out;
}

/** Frames off a socket through the protocol core's FrameReader; envelopes are handed to `onEnvelope`. */
class Reader {
  constructor(P, sock) {
    this.P = P;
    this.max = HANDSHAKE_MAX;
    this.frames = new P.FrameReader(ENVELOPE_MAX, 'frame');
    this.queue = [];
    this.waiter = null;
    this.onEnvelope = null;
    this.onClose = null;
    this.closed = null;
    sock.on('data', (d) => {
      this.frames.push(d);
      for (let f = this.frames.pull(); f !== undefined; f = this.frames.pull()) {
        if (this.onEnvelope) this.onEnvelope(P.decodeEnvelope(f));
        else this.queue.push(f);
      }
      this.wake();
    });
    const end = (e) => {
      this.closed ??= e ?? new Error('connection closed');
      this.wake();
      this.onClose?.(this.closed);
    };
    sock.on('error', end);
    sock.on('close', () => end());
  }

  wake() {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async next(max, timeoutMs) {
    const deadline = performance.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.closed) throw Object.assign(this.closed, { kind: 'closed-in-handshake' });
      if (performance.now() > deadline) throw Object.assign(new Error('handshake timed out'), { kind: 'handshake-timeout' });
      await new Promise((r) => {
        this.waiter = r;
        setTimeout(r, 250);
      });
    }
    const f = this.queue.shift();
    if (f.length > max) throw Object.assign(new Error('oversize frame'), { kind: 'oversize' });
    return f;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await runLoad(parseOpts(process.argv.slice(2), DEFAULTS));
  process.stdout.write(`${jsonSafe(report)}\n`);
  process.exit(report.ok ? 0 : 1);
}
