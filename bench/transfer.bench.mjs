#!/usr/bin/env node
// Swarm download throughput over TLS on loopback through the public Node API, beside libtorrent on the same
// file in the same run (issue 8): 1 seeder → 1 downloader and 4 seeders → 1 downloader; MiB/s, CPU-seconds per
// GiB (both ends together) and the downloader's peak RSS (the downloader runs in its own process, sampled every
// 50 ms). libtorrent: Debian's python3-libtorrent (`apt-get install -y python3-libtorrent`; run by
// /usr/bin/python3), one seeding and one downloading session, 256 KiB pieces, DHT/LSD/uTP off.
//
// Each contender downloads the file SCP2P_BENCH_ROUNDS times (default 4) into a fresh folder: the first round
// is "cold" (scp2p: a node that just started, its JIT not warmed; libtorrent: a fresh session pair), the others
// "warm" (scp2p: the same running nodes; libtorrent: fresh sessions in the same process), reported as their
// median. Before each contender the machine's free memory is touched and released (a file of twice the size
// written and deleted): on these VMs a page new to the guest costs 1.3–1.8 CPU-s per GiB to fill, so whoever
// wrote into the page cache first would pay a tax the next one does not.
// Imports the built package: `npm run build` first. Options: SCP2P_BENCH_MIB (file size, default 1024),
// SCP2P_BENCH_ROUNDS, SCP2P_BENCH_SEEDERS (comma list, default "1,4"), SCP2P_BENCH_LIBTORRENT=0 (skip libtorrent),
// SCP2P_BENCH_QUIC=1 (every node listens on QUIC too and the downloader is given all the seeders' addresses, so it
// holds a TLS and a QUIC session to each: the transfer should still run on the policy's transport, TLS).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIB, importDist, distUrl, jsonChild, sha256File, writePseudoRandomFile } from './lib/bench-common.mjs';

const { Node } = await importDist();

const sizeMiB = Number(process.env.SCP2P_BENCH_MIB ?? 1024);
const rounds = Math.max(1, Number(process.env.SCP2P_BENCH_ROUNDS ?? 4));
const seederCounts = (process.env.SCP2P_BENCH_SEEDERS ?? '1,4').split(',').map(Number);
const quic = process.env.SCP2P_BENCH_QUIC === '1';
const gib = sizeMiB / 1024;
const dir = mkdtempSync(join(tmpdir(), 'scp2p-bench-xfer-'));
const file = join(dir, 'src', 'blob.bin');

/** Writes and deletes 2 × the file size: the pages the next contender's downloads land in are not new to the VM. */
function touchFreeMemory() {
  const path = join(dir, 'touch.bin');
  const block = new Uint8Array(8 * MIB).fill(1);
  const fd = openSync(path, 'w');
  for (let i = 0; i < (2 * sizeMiB) / 8; i++) writeSync(fd, block);
  closeSync(fd);
  rmSync(path);
}

const LIBTORRENT_PAIR = `
import libtorrent as lt, time, os, shutil, sys, tempfile, resource
path = sys.argv[1]; rounds = int(sys.argv[2]); nseed = int(sys.argv[3]); d, name = os.path.split(path); size = os.path.getsize(path)
fs = lt.file_storage(); lt.add_files(fs, path)
t = lt.create_torrent(fs, 262144); lt.set_piece_hashes(t, d)
ti = lt.torrent_info(t.generate())
def sess():
    return lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
                       'enable_natpmp': False, 'alert_mask': 0, 'enable_outgoing_utp': False, 'enable_incoming_utp': False})
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
for _ in range(rounds):
    seeds = [sess() for _ in range(nseed)]
    for seed in seeds: seed.add_torrent({'ti': ti, 'save_path': d, 'flags': lt.torrent_flags.seed_mode})
    out = tempfile.mkdtemp(); dl = sess(); h = dl.add_torrent({'ti': ti, 'save_path': out})
    time.sleep(0.3); c0 = cpu(); t0 = time.time()
    for seed in seeds: h.connect_peer(('127.0.0.1', seed.listen_port()))
    while not h.status().is_seeding:
        time.sleep(0.02)
        if time.time() - t0 > 600: break
    dt = time.time() - t0; c = cpu() - c0
    print(size / 2**20 / dt, c, flush=True)
    del h, dl, seeds
    shutil.rmtree(out, ignore_errors=True)
`;

function libtorrent(seeders = 1) {
  const script = join(dir, 'libtorrent-pair.py');
  writeFileSync(script, LIBTORRENT_PAIR);
  try {
    const out = execFileSync('/usr/bin/python3', [script, file, String(rounds), String(seeders)], { encoding: 'utf8', timeout: 1_800_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return out.trim().split('\n').map((l) => {
      const [mibs, cpu] = l.split(' ').map(Number);
      return { mibs, cpuPerGiB: cpu / gib };
    });
  } catch (e) {
    console.log(`libtorrent: not measured (${String(e.stderr ?? e.message).trim().split('\n').pop()}); apt-get install -y python3-libtorrent`);
    return null;
  }
}

// The downloader in its own process, so its RSS and CPU are its own (worker threads included). Commands on stdin.
const DOWNLOADER = `
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
const [distUrl, argsJson] = process.argv.slice(2);
const { Node } = await import(distUrl);
const a = JSON.parse(argsJson);
let peak = 0;
const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 50);
const n = await Node.start({ dataDir: a.dataDir, listen: { tcp: 0, quic: a.quic ? 0 : null }, host: '127.0.0.1', bootstrap: a.bootstrap });
for (const addr of a.connect) await n.connect(addr).catch(() => {});
await n.subscribe(a.shareId); await n.syncSubscriptions();
let maxPeers = 0;
n.events$.subscribe((e) => { if (e.type === 'DownloadProgress') maxPeers = Math.max(maxPeers, e.peers); });
const say = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
say({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line);
  if (cmd.stop) break;
  rmSync(cmd.dest, { recursive: true, force: true });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await n.downloadItems(a.shareId, 'all', cmd.dest);
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  peak = Math.max(peak, process.memoryUsage.rss());
  say({ seconds, cpu: (c.user + c.system) / 1e6, peakRss: peak, maxPeers });
}
clearInterval(sample);
await n.stop();
process.exit(0);
`;

const downloaderProcess = (args) => jsonChild([join(dir, 'downloader.mjs'), distUrl(), JSON.stringify(args)]);

async function scp2p(seeders, label) {
  const nodes = [];
  try {
    for (let k = 0; k < seeders; k++) {
      nodes.push(await Node.start({ dataDir: join(dir, `${label}-seed-${k}`), listen: { tcp: 0, quic: quic ? 0 : null }, host: '127.0.0.1', bootstrap: k === 0 ? [] : nodes[0].addresses() }));
    }
    // Every seeder publishes the same file: same content id, so each announces itself as its provider.
    let pub;
    for (const n of nodes) {
      const r = await n.publishFiles([file], { title: `bench ${label}`, visibility: 'private' });
      pub ??= r;
    }
    writeFileSync(join(dir, 'downloader.mjs'), DOWNLOADER);
    const dest = join(dir, `${label}-dest`);
    const d = downloaderProcess({ dataDir: join(dir, `${label}-dl`), quic, bootstrap: nodes[0].addresses(), connect: nodes.flatMap((n) => n.addresses()), shareId: pub.shareId });
    await d.next();
    const out = [];
    let ok = true;
    for (let r = 0; r < rounds; r++) {
      const seedCpu0 = process.cpuUsage();
      d.send({ dest });
      const m = await d.next();
      const sc = process.cpuUsage(seedCpu0); // the seeders run in this process
      ok &&= (await sha256File(join(dest, 'blob.bin'))) === srcHash;
      out.push({ mibs: sizeMiB / m.seconds, cpuPerGiB: (m.cpu + (sc.user + sc.system) / 1e6) / gib, peakRssMiB: m.peakRss / MIB, maxPeers: m.maxPeers });
    }
    d.send({ stop: true });
    await d.exited;
    rmSync(dest, { recursive: true, force: true });
    return { rounds: out, ok };
  } finally {
    for (const n of nodes) await n.stop().catch(() => {});
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** First round and the median of the others (the first alone when there is one round). */
function summary(rs) {
  const warm = rs.length > 1 ? rs.slice(1) : rs;
  return { cold: rs[0], warm: { mibs: median(warm.map((r) => r.mibs)), cpuPerGiB: median(warm.map((r) => r.cpuPerGiB)) } };
}
const f0 = (x) => x.toFixed(0);
const f2 = (x) => x.toFixed(2);

writePseudoRandomFile(file, sizeMiB * MIB, 0x9e3779b9);
const srcHash = await sha256File(file);
console.log(`file: ${sizeMiB} MiB, ${rounds} rounds per contender (first = cold, the rest = warm, median)`);
touchFreeMemory();
const ltRounds = process.env.SCP2P_BENCH_LIBTORRENT === '0' ? null : libtorrent();
const lt = ltRounds ? summary(ltRounds) : null;
if (lt) {
  console.log(`libtorrent 1→1: cold ${f0(lt.cold.mibs)} MiB/s (${f2(lt.cold.cpuPerGiB)} CPU-s/GiB), warm ${f0(lt.warm.mibs)} MiB/s (${f2(lt.warm.cpuPerGiB)} CPU-s/GiB)  rounds: ${ltRounds.map((r) => f0(r.mibs)).join(' ')}`);
}
let failed = false;
for (const seeders of seederCounts) {
  const label = `${seeders}to1`;
  try {
    touchFreeMemory();
    const r = await scp2p(seeders, label);
    failed ||= !r.ok;
    const s = summary(r.rounds);
    const peak = Math.max(...r.rounds.map((x) => x.peakRssMiB));
    const ratio = lt ? `; ratio vs libtorrent 1→1: cold ${f2(s.cold.mibs / lt.cold.mibs)}, warm ${f2(s.warm.mibs / lt.warm.mibs)} (goal 2.0)` : '';
    console.log(
      `scp2p ${seeders}→1 over TLS${quic ? ' (QUIC sessions open too)' : ''}: cold ${f0(s.cold.mibs)} MiB/s (${f2(s.cold.cpuPerGiB)} CPU-s/GiB), warm ${f0(s.warm.mibs)} MiB/s (${f2(s.warm.cpuPerGiB)} CPU-s/GiB), ` +
        `downloader peak RSS ${f0(peak)} MiB (goal < 256), peers seen ${Math.max(...r.rounds.map((x) => x.maxPeers))}${ratio}  rounds: ${r.rounds.map((x) => f0(x.mibs)).join(' ')}${r.ok ? '' : '  BYTES DIFFER'}`,
    );
  } catch (e) {
    failed = true;
    console.log(`scp2p ${seeders}→1: failed: ${e?.code ?? ''} ${e?.message ?? e}`);
  }
  // For context (the ratio is against libtorrent 1→1): libtorrent in the same topology, all of it on the
  // same cores as here — 4 seeding sessions and 1 downloading session in one process.
  if (seeders > 1 && lt) {
    touchFreeMemory();
    const many = libtorrent(seeders);
    if (many) {
      const m = summary(many);
      console.log(`  libtorrent ${seeders}→1 (context): cold ${f0(m.cold.mibs)} MiB/s (${f2(m.cold.cpuPerGiB)} CPU-s/GiB), warm ${f0(m.warm.mibs)} MiB/s (${f2(m.warm.cpuPerGiB)} CPU-s/GiB)  rounds: ${many.map((r) => f0(r.mibs)).join(' ')}`);
    }
  }
}
rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
