#!/usr/bin/env node
// Actor runtime figures (issue 4), from dist/ (build first):
//  1. request/reply round trip between two actor threads over a direct MessageChannel: the runtime's
//     RpcEndpoint (plain structured-clone frames) beside comlink on the same kind of port — p50/p99 µs, msgs/s;
//  2. 1 GiB of 256 KiB chunks moved between two actor threads: transferred fresh, copied, transferred pooled;
//  3. the hashing pool (dist/hashing) at 1 and 2 threads on one file, beside `b3sum --num-threads 1` on it.
// Options: SCP2P_BENCH_MIB (hashing file size, default 1024), SCP2P_BENCH_RPC_N (default 20000).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { MIB, distUrl, requireDist } from './lib/bench-common.mjs';

requireDist('actors/runtime/rpc-endpoint.js');
const workerFile = new URL('./actors-bench-worker.mjs', import.meta.url);
const urls = { rpcUrl: distUrl('actors/runtime/rpc-endpoint.js'), clockUrl: distUrl('actors/runtime/clock.js'), transferUrl: distUrl('actors/runtime/transfer.js') };

async function pairRun(kind, extra) {
  const { port1, port2 } = new MessageChannel();
  const server = new Worker(workerFile, { workerData: { ...urls, role: 'server', kind, port: port2 }, transferList: [port2] });
  await new Promise((r) => server.once('message', r));
  const client = new Worker(workerFile, { workerData: { ...urls, role: 'client', kind, port: port1, ...extra }, transferList: [port1] });
  const result = await new Promise((r, j) => {
    client.once('message', r);
    client.once('error', j);
  });
  await server.terminate();
  return result;
}

const fmt = (x, d = 1) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

// 1. request/reply
const n = Number(process.env.SCP2P_BENCH_RPC_N ?? 20000);
console.log(`request/reply between two actor threads (direct MessageChannel), ${n} sequential calls + ${n * 4} with 64 in flight`);
const rr = {};
for (const kind of ['rpc', 'comlink']) {
  const r = await pairRun(kind, { n });
  rr[kind] = r;
  console.log(
    `  ${kind === 'rpc' ? 'RpcEndpoint (ours)' : 'comlink 4        '}  p50 ${fmt(r.p50us)} µs  p99 ${fmt(r.p99us)} µs  sequential ${fmt(r.seqPerSec, 0)} msgs/s  pipelined ${fmt(r.pipelinedPerSec, 0)} msgs/s`,
  );
}
console.log(`  comlink / ours: p50 x${fmt(rr.comlink.p50us / rr.rpc.p50us, 2)}, pipelined throughput x${fmt(rr.comlink.pipelinedPerSec / rr.rpc.pipelinedPerSec, 2)}`);

// 2. bulk bytes
console.log('\n1 GiB in 256 KiB chunks, actor thread -> actor thread (16 in flight)');
const bulk = {};
for (const kind of ['fresh', 'copied', 'pooled']) {
  const r = await pairRun(kind, { totalBytes: 2 ** 30 });
  bulk[kind] = r;
  const label = { fresh: 'transferred, fresh buffers ', copied: 'copied (structured clone) ', pooled: 'transferred, pooled buffers' }[kind];
  console.log(`  ${label}  ${fmt(r.gibPerSec, 2)} GiB/s  (${fmt(r.secs, 2)} s)`);
}
console.log(`  pooled / fresh x${fmt(bulk.pooled.gibPerSec / bulk.fresh.gibPerSec, 1)}; transferred fresh / copied x${fmt(bulk.fresh.gibPerSec / bulk.copied.gibPerSec, 2)}`);

// 3. hashing
const { HashingPool } = await import(distUrl('hashing/hashing-pool.js'));
const sizeMiB = Number(process.env.SCP2P_BENCH_MIB ?? 1024);
const dir = mkdtempSync(join(tmpdir(), 'scp2p-bench-actors-'));
const file = join(dir, 'content.bin');
{
  const block = new Uint8Array(8 * MIB);
  let x = 0x2545f491;
  for (let i = 0; i < block.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    block[i] = x & 0xff;
  }
  const fd = openSync(file, 'w');
  for (let w = 0; w < sizeMiB; w += 8) {
    block[0] = w & 0xff;
    writeSync(fd, block);
  }
  closeSync(fd);
}
console.log(`\nhashing a ${sizeMiB} MiB file (BLAKE3, 256 KiB chunks; page cache warm)`);
const gib = sizeMiB / 1024;
async function timeIt(fn) {
  const t = performance.now();
  const r = await fn();
  return { secs: (performance.now() - t) / 1000, r };
}
let b3sumRate;
let b3sumId;
const b3 = spawnSync('b3sum', ['--version'], { encoding: 'utf8' });
if (b3.error) {
  console.log('  b3sum --num-threads 1: b3sum is missing (install it: apt-get install b3sum)');
} else {
  spawnSync('b3sum', ['--num-threads', '1', file]); // warm the page cache
  const t = performance.now();
  const out = spawnSync('b3sum', ['--num-threads', '1', '--no-names', file], { encoding: 'utf8' });
  const secs = (performance.now() - t) / 1000;
  b3sumRate = gib / secs;
  b3sumId = out.stdout.trim().split(/\s/)[0];
  console.log(`  b3sum --num-threads 1 (whole-file hash)            ${fmt(b3sumRate, 2)} GiB/s   ${out.stdout.trim().slice(0, 16)}…`);
}
for (const threads of [1, 2]) {
  const pool = new HashingPool({ threads });
  await pool.hashFileChunks(file); // spin up threads, warm
  if (threads === 1) {
    const whole = await timeIt(() => pool.hashFile(file));
    const id = Buffer.from(whole.r.contentId).toString('hex');
    console.log(`  pool x1 hashFile (ContentId + chunk hashes, 1 pass) ${fmt(gib / whole.secs, 2)} GiB/s   ${id.slice(0, 16)}…${b3sumId ? (b3sumId === id ? ' = b3sum' : ' != b3sum (WRONG)') : ''}${b3sumRate ? `  (b3sum x${fmt(b3sumRate / (gib / whole.secs), 2)} faster)` : ''}`);
  }
  const chunks = await timeIt(() => pool.hashFileChunks(file));
  console.log(`  pool x${threads} hashFileChunks (chunk hashes only)       ${fmt(gib / chunks.secs, 2)} GiB/s${b3sumRate ? `   (vs b3sum x1: ${fmt(gib / chunks.secs / b3sumRate, 2)})` : ''}`);
  await pool.close();
}
rmSync(dir, { recursive: true, force: true });
