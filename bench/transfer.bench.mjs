#!/usr/bin/env node
// Swarm download throughput over TLS on loopback through the public Node API, beside libtorrent on the same
// file in the same run (issue 8): 1 seeder → 1 downloader and 4 seeders → 1 downloader; MiB/s and the
// downloader's peak RSS (the downloader runs in its own process, sampled every 50 ms). libtorrent: Debian's
// python3-libtorrent (`apt-get install -y python3-libtorrent`; run by /usr/bin/python3), one seeding and one
// downloading session, 256 KiB pieces, DHT/LSD/uTP off. Imports the built package: `npm run build` first.
// Options: SCP2P_BENCH_MIB (file size, default 1024).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIB, importDist, distUrl, sha256File, writePseudoRandomFile } from './lib/bench-common.mjs';

const { Node } = await importDist();

const sizeMiB = Number(process.env.SCP2P_BENCH_MIB ?? 1024);
const dir = mkdtempSync(join(tmpdir(), 'scp2p-bench-xfer-'));
const file = join(dir, 'src', 'blob.bin');

const LIBTORRENT_PAIR = `
import libtorrent as lt, time, os, shutil, sys, tempfile
path = sys.argv[1]; d, name = os.path.split(path); size = os.path.getsize(path)
fs = lt.file_storage(); lt.add_files(fs, path)
t = lt.create_torrent(fs, 262144); lt.set_piece_hashes(t, d)
ti = lt.torrent_info(t.generate())
def sess():
    return lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
                       'enable_natpmp': False, 'alert_mask': 0, 'enable_outgoing_utp': False, 'enable_incoming_utp': False})
seed = sess(); seed.add_torrent({'ti': ti, 'save_path': d, 'flags': lt.torrent_flags.seed_mode})
out = tempfile.mkdtemp(); dl = sess(); h = dl.add_torrent({'ti': ti, 'save_path': out})
time.sleep(0.3); t0 = time.time(); h.connect_peer(('127.0.0.1', seed.listen_port()))
while not h.status().is_seeding:
    time.sleep(0.02)
    if time.time() - t0 > 600: break
dt = time.time() - t0; shutil.rmtree(out, ignore_errors=True)
print(size / 2**20 / dt)
`;

function libtorrent() {
  const script = join(dir, 'libtorrent-pair.py');
  writeFileSync(script, LIBTORRENT_PAIR);
  try {
    return Number(execFileSync('/usr/bin/python3', [script, file], { encoding: 'utf8', timeout: 900_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim());
  } catch (e) {
    console.log(`libtorrent: not measured (${String(e.stderr ?? e.message).trim().split('\n').pop()}); apt-get install -y python3-libtorrent`);
    return null;
  }
}

// The downloader in its own process, so its RSS is its own (worker threads included).
const DOWNLOADER = `
const [distUrl, argsJson] = process.argv.slice(2);
const { Node } = await import(distUrl);
const a = JSON.parse(argsJson);
let peak = 0;
const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 50);
const n = await Node.start({ dataDir: a.dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap: a.bootstrap });
for (const addr of a.connect) await n.connect(addr).catch(() => {});
await n.subscribe(a.shareId); await n.syncSubscriptions();
let maxPeers = 0;
n.events$.subscribe((e) => { if (e.type === 'DownloadProgress') maxPeers = Math.max(maxPeers, e.peers); });
const t0 = performance.now();
await n.downloadItems(a.shareId, 'all', a.dest);
const seconds = (performance.now() - t0) / 1000;
peak = Math.max(peak, process.memoryUsage.rss());
clearInterval(sample);
await n.stop();
console.log(JSON.stringify({ seconds, peakRss: peak, maxPeers }));
`;

async function scp2p(seeders, label) {
  const nodes = [];
  try {
    for (let k = 0; k < seeders; k++) {
      nodes.push(await Node.start({ dataDir: join(dir, `${label}-seed-${k}`), listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap: k === 0 ? [] : nodes[0].addresses() }));
    }
    // Every seeder publishes the same file: same content id, so each announces itself as its provider.
    let pub;
    for (const n of nodes) {
      const r = await n.publishFiles([file], { title: `bench ${label}`, visibility: 'private' });
      pub ??= r;
    }
    const script = join(dir, 'downloader.mjs');
    writeFileSync(script, DOWNLOADER);
    const dest = join(dir, `${label}-dest`);
    const args = {
      dataDir: join(dir, `${label}-dl`),
      bootstrap: nodes[0].addresses(),
      connect: nodes.flatMap((n) => n.addresses()),
      shareId: pub.shareId,
      dest,
    };
    const out = await new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [script, distUrl(), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      c.stdout.on('data', (b) => (text += b));
      c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(text.trim().split('\n').pop())) : reject(new Error(`downloader exited with ${code}`))));
    });
    const ok = (await sha256File(join(dest, 'blob.bin'))) === srcHash;
    rmSync(dest, { recursive: true, force: true });
    return { mibs: sizeMiB / out.seconds, peakRssMiB: out.peakRss / MIB, maxPeers: out.maxPeers, ok };
  } finally {
    for (const n of nodes) await n.stop().catch(() => {});
  }
}

writePseudoRandomFile(file, sizeMiB * MIB, 0x9e3779b9);
const srcHash = await sha256File(file);
console.log(`file: ${sizeMiB} MiB`);
const lt = libtorrent();
if (lt !== null) console.log(`libtorrent 1→1: ${lt.toFixed(0)} MiB/s`);
let failed = false;
for (const [seeders, label] of [[1, '1to1'], [4, '4to1']]) {
  try {
    const r = await scp2p(seeders, label);
    failed ||= !r.ok;
    const ratio = lt ? ` ratio vs libtorrent ${(r.mibs / lt).toFixed(2)} (goal 2.0)` : '';
    console.log(
      `scp2p ${seeders}→1 over TLS: ${r.mibs.toFixed(0)} MiB/s, downloader peak RSS ${r.peakRssMiB.toFixed(0)} MiB (goal < 256), peers seen ${r.maxPeers}${ratio}${r.ok ? '' : '  BYTES DIFFER'}`,
    );
  } catch (e) {
    failed = true;
    console.log(`scp2p ${seeders}→1: failed: ${e?.code ?? ''} ${e?.message ?? e}`);
  }
}
rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
