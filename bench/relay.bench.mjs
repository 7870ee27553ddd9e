#!/usr/bin/env node
// Download throughput through a relay tunnel beside a direct download of the same file in the same run (issue 9
// item 7), over TLS on loopback through the public Node API, default node settings throughout:
//   direct:  seeder (listening)                         → downloader that connects to it
//   relayed: publisher with no listener, tunnel to relay → downloader (no listener either) with only the share link
// MiB/s of each, their ratio, and the relayed runs' chunk rates: once with the relay's default per-peer
// request limits (what a user gets) and once with them raised (what the tunnel itself carries). Every download is checked byte for byte (SHA-256). Imports the built package: `npm run build`
// (or `npx tsc -p tsconfig.json`) first. Options: SCP2P_BENCH_MIB (file size, default 256).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIB, importDist, sha256File, writePseudoRandomFile } from './lib/bench-common.mjs';

const { Node } = await importDist();

const CHUNK = 256 * 1024;
const sizeMiB = Number(process.env.SCP2P_BENCH_MIB ?? 256);
if (!Number.isFinite(sizeMiB) || sizeMiB <= 0) {
  console.error('SCP2P_BENCH_MIB must be a positive number of MiB');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'scp2p-bench-relay-'));
const file = join(dir, 'src', 'blob.bin');
const loopback = { listen: { tcp: 0, quic: null }, host: '127.0.0.1' };

/** Subscribes, syncs until the manifest is known, times downloadItems, verifies the bytes. */
async function timedDownload(downloader, shareIdOrLink, shareId, label) {
  await downloader.subscribe(shareIdOrLink);
  for (let i = 0; (await downloader.listShareItems(shareId).catch(() => [])).length === 0; i++) {
    if (i >= 30) throw new Error(`${label}: the manifest never arrived`);
    await downloader.syncSubscriptions();
  }
  const dest = join(dir, `${label}-dest`);
  const t0 = performance.now();
  await downloader.downloadItems(shareId, 'all', dest);
  const seconds = (performance.now() - t0) / 1000;
  const ok = (await sha256File(join(dest, 'blob.bin'))) === srcHash;
  rmSync(dest, { recursive: true, force: true });
  return { seconds, mibs: sizeMiB / seconds, ok };
}

async function direct() {
  const nodes = [];
  try {
    const seeder = await Node.start({ dataDir: join(dir, 'direct-seed'), ...loopback });
    nodes.push(seeder);
    const pub = await seeder.publishFiles([file], { title: 'bench direct', visibility: 'private' });
    const dl = await Node.start({ dataDir: join(dir, 'direct-dl'), ...loopback, bootstrap: seeder.addresses() });
    nodes.push(dl);
    for (const a of seeder.addresses()) await dl.connect(a);
    return await timedDownload(dl, pub.shareId, pub.shareId, 'direct');
  } finally {
    for (const n of nodes.reverse()) await n.stop().catch(() => {});
  }
}

/** `rateLimits` for the relay node: undefined = the defaults (the reference's 180 relay requests a minute per peer). */
async function relayed(label, rateLimits) {
  const nodes = [];
  try {
    const relay = await Node.start({ dataDir: join(dir, `${label}-relay`), ...loopback, capabilities: { relay: true, dht: true }, ...(rateLimits ? { rateLimits } : {}) });
    nodes.push(relay);
    // No listener at all: the tunnel is the only way in.
    const publisher = await Node.start({ dataDir: join(dir, `${label}-pub`), listen: { tcp: null, quic: null }, host: '127.0.0.1', relays: relay.addresses() });
    nodes.push(publisher);
    const pub = await publisher.publishFiles([file], { title: `bench ${label}`, visibility: 'private' });
    let link;
    for (let i = 0; i < 150 && !link; i++) {
      const l = await publisher.shareLink(pub.shareId).catch(() => undefined);
      if (l && /[?&]r=[^&]*~\d+/.test(l)) link = l;
      else await new Promise((r) => setTimeout(r, 200));
    }
    if (!link) throw new Error('the publisher never registered a tunnel (no relay route in its share link)');
    // No listener on the downloader either: on loopback the publisher could otherwise dial it directly and serve
    // chunks over that connection, and the figure would not be a relayed one.
    const dl = await Node.start({ dataDir: join(dir, `${label}-dl`), listen: { tcp: null, quic: null }, host: '127.0.0.1' });
    nodes.push(dl);
    const r = await timedDownload(dl, link, pub.shareId, label);
    const row = (await dl.peers()).find((p) => p.nodeId === publisher.id.nodeId);
    return { ...r, relayedPeer: row?.relayed === true };
  } finally {
    for (const n of nodes.reverse()) await n.stop().catch(() => {});
  }
}

// Pseudo-random (incompressible, reproducible) bytes.
writePseudoRandomFile(file, sizeMiB * MIB, 0x2545f491);
const srcHash = await sha256File(file);
console.log(`file: ${sizeMiB} MiB (${Math.ceil((sizeMiB * MIB) / CHUNK)} chunks of 256 KiB), loopback, TLS`);
let failed = false;
const results = {};
// The relay's per-peer request limits, not the tunnel, bound a relayed download with default settings (each
// chunk is one RELAY_STREAM to the relay), so the tunnel's own capacity is measured with them raised as well.
const RAISED = { relay: 1_000_000, total: 1_000_000 };
const runs = [
  ['direct', 'direct', direct],
  ['relayed', 'relayed (relay rate limits raised)', () => relayed('raised', RAISED)],
  ['relayedDefault', 'relayed (default relay limits)', () => relayed('default')],
];
for (const [key, label, run] of runs) {
  try {
    const r = await run();
    results[key] = r;
    failed ||= !r.ok;
    const extra = key === 'direct' ? '' : `, ${((sizeMiB * MIB) / CHUNK / r.seconds).toFixed(1)} chunks/s, publisher in peers() as relayed: ${r.relayedPeer}`;
    console.log(`${label}: ${r.mibs.toFixed(1)} MiB/s (${r.seconds.toFixed(1)} s)${extra}${r.ok ? '' : '  BYTES DIFFER'}`);
  } catch (e) {
    failed = true;
    console.log(`${label}: failed: ${e?.code ?? ''} ${e?.message ?? e}`);
  }
}
for (const k of ['relayed', 'relayedDefault']) {
  if (results.direct && results[k]) console.log(`ratio ${k === 'relayed' ? 'relayed (raised)' : 'relayed (default)'} / direct: ${(results[k].mibs / results.direct.mibs).toFixed(2)}`);
}
rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
