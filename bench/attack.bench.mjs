#!/usr/bin/env node
// Download speed under attack (issue 12): an honest 1 seeder → 1 downloader download over TLS on loopback,
// undisturbed, then with hostile peers (bench/attack-peers.mjs, their own process) attacking the seeder and the
// downloader at once — request floods, a Sybil churn of fresh identities, slowloris frames, garbage and
// oversize frames — and a corrupt-chunk seeder placed first in the downloader's swarm; then undisturbed again.
// The attackers connect from their own source address (127.0.0.66, see attack-peers.mjs), the honest nodes from
// 127.0.0.1: on a real network an attacker does not share its victim's peers' IP.
// One warm-up download is not counted (the seeder's first serving runs on cold JIT and pools, which made the first
// undisturbed run 20–40% slower than the last and skewed the ratio); then SCP2P_ATTACK_ROUNDS (default 2) rounds of
// undisturbed → attacked, and a last undisturbed run. Prints the speeds and the ratio mean attacked / mean
// undisturbed (goal ≥ 0.8), and the attackers' counters. Every download is checked (SHA-256) and a fresh downloader
// node is used each time.
// Options: SCP2P_ATTACK_MIB (file size, default 256), SCP2P_ATTACK_INTENSITY (attackers per kind ×, default 1),
// SCP2P_ATTACK_KINDS (comma list of flood,churn,slowloris,garbage,corrupt; default all), SCP2P_ATTACK_NICE (a nice
// value for the attackers' process, e.g. 19, to tell CPU contention on a shared machine from the node's own cost),
// SCP2P_ATTACK_GREEDY=1 (the flooders also fetch chunks of the real file: bandwidth the seeder shares, not refuses).
// SCP2P_ATTACK_TARGETS (both, seeder or downloader: which honest node the network attacks hit; default both).
// Imports the built package: `npm run build` first.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(root, 'dist');
if (!existsSync(join(distDir, 'index.js'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const { Node } = await import(pathToFileURL(join(distDir, 'index.js')).href);

const MIB = 1 << 20;
const sizeMiB = Number(process.env.SCP2P_ATTACK_MIB ?? 256);
const rounds = Math.max(1, Number(process.env.SCP2P_ATTACK_ROUNDS ?? 2));
const targetsOpt = process.env.SCP2P_ATTACK_TARGETS ?? 'both';
const intensity = Number(process.env.SCP2P_ATTACK_INTENSITY ?? 1);
const kinds = process.env.SCP2P_ATTACK_KINDS?.split(',');
const greedy = process.env.SCP2P_ATTACK_GREEDY === '1';
const niceness = process.env.SCP2P_ATTACK_NICE !== undefined ? Number(process.env.SCP2P_ATTACK_NICE) : undefined;
const dir = mkdtempSync(join(tmpdir(), 'scp2p-bench-attack-'));
const file = join(dir, 'blob.bin');

function makeFile() {
  const block = new Uint8Array(8 * MIB);
  let x = 0x2545f491;
  const fd = openSync(file, 'w');
  for (let done = 0; done < sizeMiB; done += 8) {
    for (let i = 0; i < block.length; i += 4) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      block[i] = x & 0xff; block[i + 1] = (x >>> 8) & 0xff; block[i + 2] = (x >>> 16) & 0xff; block[i + 3] = x >>> 24;
    }
    writeSync(fd, block, 0, Math.min(8, sizeMiB - done) * MIB);
  }
  closeSync(fd);
}

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

function startAttackers(targets, contentId, manifestId) {
  const c = spawn(process.execPath, [join(root, 'bench/attack-peers.mjs'), JSON.stringify({ dist: distDir, targets, contentId, manifestId, file, intensity, kinds, greedy })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // On one machine the attackers take CPU from the nodes too; a nice value separates that from what refusing costs.
  if (niceness !== undefined) setPriority(c.pid, niceness);
  let out = '';
  const ready = new Promise((resolve, reject) => {
    c.stdout.on('data', (b) => {
      out += b;
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    c.on('exit', (code) => reject(new Error(`attackers exited early (${code})`)));
  });
  const stop = () =>
    new Promise((resolve) => {
      c.removeAllListeners('exit');
      c.on('exit', () => {
        const line = out.trim().split('\n').pop();
        try {
          resolve(JSON.parse(line));
        } catch {
          resolve({});
        }
      });
      c.kill('SIGTERM');
    });
  return { ready, stop };
}

async function download(label, seeder, item, attack) {
  const node = await Node.start({ dataDir: join(dir, `${label}-dl`), listen: { tcp: 0, quic: null }, host: '127.0.0.1' });
  const out = join(dir, `${label}.bin`);
  let attackers;
  try {
    let peers = [seeder.addresses().find((a) => a.startsWith('tcp://'))];
    if (attack) {
      const seederAddr = peers[0];
      const downloaderAddr = node.addresses().find((a) => a.startsWith('tcp://'));
      const targets = targetsOpt === 'seeder' ? [seederAddr] : targetsOpt === 'downloader' ? [downloaderAddr] : [seederAddr, downloaderAddr];
      attackers = startAttackers(targets, item.contentId, attack.manifestId);
      const corruptPort = await attackers.ready;
      if (corruptPort) peers = [`tcp://127.0.0.1:${corruptPort}`, ...peers];
      await new Promise((r) => setTimeout(r, 3_000)); // let the floods and slowloris connections build up
    }
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await node.downloadContent(item.contentId, out, { peers, timeoutMs: 600_000 });
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    // Both honest nodes run in this process: their CPU per GiB, to tell what the attack costs the nodes from what
    // the attackers' process takes from the shared cores.
    const cpuPerGiB = ((c.user + c.system) / 1e6 / sizeMiB) * 1024;
    const stats = attackers ? await attackers.stop() : undefined;
    attackers = undefined;
    const ok = sha256(out) === srcHash;
    const restarts = [...seeder.health().actors, ...node.health().actors].reduce((n, a) => n + a.restarts, 0);
    return { mibs: sizeMiB / seconds, cpuPerGiB, ok, stats, restarts };
  } finally {
    if (attackers) await attackers.stop();
    await node.stop().catch(() => {});
    rmSync(out, { force: true });
  }
}

makeFile();
const srcHash = sha256(file);
console.log(`file: ${sizeMiB} MiB, attack intensity ${intensity}`);
const seeder = await Node.start({ dataDir: join(dir, 'seed'), listen: { tcp: 0, quic: null }, host: '127.0.0.1' });
let failed = false;
try {
  const pub = await seeder.publishFiles([file], { title: 'attack bench', visibility: 'private' });
  const [item] = await seeder.listShareItems(pub.shareId);
  const warm = await download('warm-up', seeder, item, null);
  const calm = [];
  const attacked = [];
  for (let r = 0; r < rounds; r++) {
    calm.push(await download(`calm-${r}`, seeder, item, null));
    attacked.push(await download(`attacked-${r}`, seeder, item, { manifestId: pub.manifestId }));
  }
  calm.push(await download(`calm-${rounds}`, seeder, item, null));
  failed = [warm, ...calm, ...attacked].some((d) => !d.ok) || attacked.some((d) => d.restarts > 0);
  const mean = (runs) => runs.reduce((a, d) => a + d.mibs, 0) / runs.length;
  const list = (runs) => runs.map((d) => d.mibs.toFixed(0)).join(', ');
  console.log(`warm-up (not counted): ${warm.mibs.toFixed(0)} MiB/s`);
  console.log(`undisturbed 1→1 over TLS: ${list(calm)} MiB/s (mean ${mean(calm).toFixed(0)})`);
  console.log(`under attack 1→1 over TLS: ${list(attacked)} MiB/s (mean ${mean(attacked).toFixed(0)})${attacked.every((d) => d.ok) ? '' : '  BYTES DIFFER'}, actor restarts ${attacked.reduce((n, d) => n + d.restarts, 0)}`);
  const cpu = (runs) => (runs.reduce((a, d) => a + d.cpuPerGiB, 0) / runs.length).toFixed(2);
  console.log(`honest nodes' CPU (this process, both nodes): ${cpu(calm)} s/GiB undisturbed, ${cpu(attacked)} s/GiB under attack`);
  console.log(`ratio under attack / undisturbed: ${(mean(attacked) / mean(calm)).toFixed(2)} (goal ≥ 0.8)`);
  for (const d of attacked) console.log(`attackers: ${JSON.stringify(d.stats)}`);
} catch (e) {
  failed = true;
  console.log(`attack bench failed: ${e?.code ?? ''} ${e?.message ?? e}`);
} finally {
  await seeder.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
