#!/usr/bin/env node
// Multi-core seeding (issue 8): one seeder feeding 4 downloaders at once over TLS on loopback, with the seeder's
// inbound connections served on 1 event loop (serveThreads: 1, the session's own) and on 2 (one serve thread
// on the same port, SO_REUSEPORT), in the same run. Prints aggregate MiB/s (4 × file size / time until the last
// downloader finished) and the seeder's CPU-seconds per GiB served. Every node runs in its own process (worker
// actors, as in production); downloaded bytes are checked by SHA-256.
// Options: SCP2P_BENCH_MIB (file size, default 128), SCP2P_BENCH_DOWNLOADERS (default 4),
// SCP2P_BENCH_SERVE (comma list of serveThreads values, default "1,2"). Imports dist/: `npm run build` first.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MIB, distUrl, jsonChild, requireDist, sha256File, writePseudoRandomFile } from './lib/bench-common.mjs';

// ------------------------------------------------------------------ child roles
const role = process.argv[2];
if (role === 'seeder' || role === 'downloader') {
  const { Node } = await import(distUrl());
  const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
  const lines = createInterface({ input: process.stdin });
  const dataDir = mkdtempSync(join(tmpdir(), `scp2p-bench-${role}-`));
  if (role === 'seeder') {
    const node = await Node.start({ dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', serveThreads: Number(process.argv[4]) });
    const pub = await node.publishFiles([process.argv[3]], { title: 'serve-bench', visibility: 'private' });
    let cpu0 = process.cpuUsage();
    send({ ready: true, shareId: pub.shareId, addr: node.addresses()[0] });
    for await (const line of lines) {
      const cmd = JSON.parse(line);
      if (cmd.mark) cpu0 = process.cpuUsage();
      if (cmd.cpu) {
        const c = process.cpuUsage(cpu0);
        send({ cpuSec: (c.user + c.system) / 1e6, serve: (await node.status()).serve });
      }
      if (cmd.stop) break;
    }
    await node.stop();
  } else {
    const node = await Node.start({ dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap: [process.argv[3]] });
    await node.subscribe(process.argv[4]);
    await node.syncSubscriptions();
    const dest = mkdtempSync(join(tmpdir(), 'scp2p-bench-dest-'));
    send({ ready: true });
    for await (const line of lines) {
      const cmd = JSON.parse(line);
      if (cmd.go) {
        const t0 = performance.now();
        await node.downloadItems(process.argv[4], 'all', dest);
        send({ secs: (performance.now() - t0) / 1000, sha: await sha256File(join(dest, 'blob.bin')) });
      }
      if (cmd.stop) break;
    }
    await node.stop();
    rmSync(dest, { recursive: true, force: true });
  }
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}

// ------------------------------------------------------------------ driver
requireDist();
const sizeMiB = Number(process.env.SCP2P_BENCH_MIB ?? 128);
const downloaders = Number(process.env.SCP2P_BENCH_DOWNLOADERS ?? 4);
const serveValues = (process.env.SCP2P_BENCH_SERVE ?? '1,2').split(',').map(Number);
const dir = mkdtempSync(join(tmpdir(), 'scp2p-bench-serve-'));
const file = join(dir, 'blob.bin');
writePseudoRandomFile(file, sizeMiB * MIB, 0x2545f491);
const want = await sha256File(file);

const child = (args) => jsonChild([fileURLToPath(import.meta.url), ...args]);

const results = [];
for (const serveThreads of serveValues) {
  const seeder = child(['seeder', file, String(serveThreads)]);
  const s = await seeder.next();
  const ds = Array.from({ length: downloaders }, () => child(['downloader', s.addr, s.shareId]));
  await Promise.all(ds.map((d) => d.next()));
  seeder.send({ mark: true });
  const t0 = performance.now();
  ds.forEach((d) => d.send({ go: true }));
  const done = await Promise.all(ds.map((d) => d.next()));
  const wall = (performance.now() - t0) / 1000;
  seeder.send({ cpu: true });
  const cpu = await seeder.next();
  const ok = done.every((d) => d.sha === want);
  const gib = (downloaders * sizeMiB) / 1024;
  results.push({ serveThreads, mibps: (downloaders * sizeMiB) / wall, cpuPerGiB: cpu.cpuSec / gib, ok, served: cpu.serve });
  ds.forEach((d) => d.send({ stop: true }));
  seeder.send({ stop: true });
  await Promise.all([...ds.map((d) => d.exited), seeder.exited]);
}
rmSync(dir, { recursive: true, force: true });

console.log(`serve threads: 1 seeder → ${downloaders} downloaders, ${sizeMiB} MiB file each, TLS on loopback`);
console.log('serveThreads  aggregate MiB/s  seeder CPU-s/GiB  verified  requests via serve threads');
for (const r of results) {
  console.log(
    `${String(r.serveThreads).padStart(12)}  ${r.mibps.toFixed(0).padStart(15)}  ${r.cpuPerGiB.toFixed(2).padStart(16)}  ${String(r.ok).padStart(8)}  ${r.served?.requests ?? 0}`,
  );
}
if (results.length >= 2) {
  const [a, b] = results;
  console.log(`ratio ${b.serveThreads} vs ${a.serveThreads} loops: throughput x${(b.mibps / a.mibps).toFixed(2)}, seeder CPU/GiB x${(b.cpuPerGiB / a.cpuPerGiB).toFixed(2)}`);
}
if (results.some((r) => !r.ok)) process.exit(1);
