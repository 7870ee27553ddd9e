#!/usr/bin/env node
/**
 * `npm run soak`: real nodes on loopback (TLS over TCP) with churn, for a bounded time. Publishers publish and
 * re-publish (new manifest versions); the others subscribe, sync and download the whole time while nodes join,
 * leave gracefully, and worker-mode nodes in child processes are killed with SIGKILL and restarted. At the end
 * every node comes back and: every completed download matched its source bytes (SHA-256), every subscription
 * converged to its publisher's latest seq, and the figures are printed (last line: SOAK_RESULT {json}).
 *
 * Env: SCP2P_SOAK_MINUTES (10) or SCP2P_SOAK_SECONDS, SCP2P_SOAK_NODES (50), SCP2P_SOAK_CHILDREN (6, worker-mode
 * nodes in child processes), SCP2P_SOAK_PUBLISHERS (5), SCP2P_SOAK_SEED, SCP2P_SOAK_MAX_FILE (bytes, 3 MiB),
 * SCP2P_SOAK_DOWNLOADS (in flight, 6), SCP2P_SOAK_CHURN=0 (no churn: a baseline for the same load),
 * SCP2P_SOAK_ONE_IP=1 (every node on 127.0.0.1 instead of one 127.0.x.y each). Then `npm run sim` runs the deterministic whole-node simulation.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRandom } from '../../dist/actors/runtime/random.js';
import { ChildMember, InlineMember } from './members.mjs';

const num = (k, d) => (process.env[k] ? Number(process.env[k]) : d);
const durationMs = process.env.SCP2P_SOAK_SECONDS ? num('SCP2P_SOAK_SECONDS', 600) * 1000 : num('SCP2P_SOAK_MINUTES', 10) * 60_000;
const N = num('SCP2P_SOAK_NODES', 50);
const C = Math.min(num('SCP2P_SOAK_CHILDREN', 6), N - 2);
const P = Math.min(num('SCP2P_SOAK_PUBLISHERS', 5), N - C - 1);
const seed = num('SCP2P_SOAK_SEED', (Date.now() ^ process.pid) >>> 0) >>> 0;
const maxFile = num('SCP2P_SOAK_MAX_FILE', 3 * 1024 * 1024);
const maxDownloads = num('SCP2P_SOAK_DOWNLOADS', 6);
const syncIntervalMs = 20_000;
const churnOn = process.env.SCP2P_SOAK_CHURN !== '0';
const oneIp = process.env.SCP2P_SOAK_ONE_IP === '1';
const rnd = createRandom(seed);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-soak-'));
const t0 = Date.now();
const log = (s) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (xs) => xs[rnd.int(xs.length)];

const counts = {
  nodes: N, childNodes: C, publishers: P, publishes: 0, republishes: 0, publishFailed: 0, syncsOk: 0, syncsFailed: 0,
  downloadsOk: 0, downloadsFailed: 0, downloadsInterrupted: 0, downloadsCorrupt: 0, bytesDownloaded: 0,
  kills: 0, restarts: 0, leaves: 0, rejoins: 0, joins: 0, recordsChecked: 0, recordsUnverified: 0,
  rssMaxMiB: 0, childRssMaxMiB: 0, totalRssMaxMiB: 0, subscriptions: 0, converged: 0,
};
const problems = [];
const failureSamples = [];

// ------------------------------------------------------------------ members
const members = [];
let nextName = 0;
const publisherAddrs = () => members.filter((m) => m.publisher && m.up).flatMap((m) => m.addresses).slice(0, 3);
const newMember = (kind) => {
  const name = `${kind === 'child' ? 'c' : 'n'}${nextName++}`;
  const M = kind === 'child' ? ChildMember : InlineMember;
  // One loopback address per node (Linux routes all of 127/8 to lo): peers look like distinct hosts, as in the
  // field; SCP2P_SOAK_ONE_IP=1 puts every node on 127.0.0.1 (PEX then passes on ≤ 4 addresses per IP and offer).
  const n = nextName - 1;
  const host = oneIp ? '127.0.0.1' : `127.0.${1 + (n >> 8)}.${1 + (n & 255)}`;
  const m = new M(name, path.join(root, name), publisherAddrs, syncIntervalMs, host);
  m.subs = [];
  members.push(m);
  return m;
};

/** Publisher state: its folder, name -> sha256 of the source bytes, latest seq it published. */
const shares = [];
const srcByContent = new Map();
let fileNo = 0;

function writeSourceFile(share) {
  const size = 32 * 1024 + rnd.int(maxFile);
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i + 4 <= size; i += 4) buf.writeUInt32LE((rnd.next() * 0x1_0000_0000) >>> 0, i);
  for (let i = size - (size % 4); i < size; i++) buf[i] = rnd.int(256);
  const name = `f${fileNo++}-${share.member.name}.bin`;
  fs.writeFileSync(path.join(share.dir, name), buf);
  share.files.set(name, createHash('sha256').update(buf).digest('hex'));
}

async function publish(share, again) {
  if (share.busy) return;
  share.busy = true;
  try {
    writeSourceFile(share);
    const r = await share.member.call('publishFolder', share.dir, `soak share of ${share.member.name}`);
    if (r.seq > share.latestSeq) share.latestSeq = r.seq;
    if (again) counts.republishes++;
    else counts.publishes++;
  } catch (err) {
    counts.publishFailed++;
    sample('publish', share.member, err);
  } finally {
    share.busy = false;
  }
}

function sample(what, m, err) {
  const line = `${what} on ${m.name}: ${err?.code ?? ''} ${String(err?.message ?? err).slice(0, 300)}`;
  if (failureSamples.length < 30) failureSamples.push(line);
  if (failureSamples.length <= 10) log(`failure: ${line}`);
}

/** Starts (or restarts) a member; a failed start is retried, then recorded as a problem. */
async function startMember(m) {
  for (let attempt = 1; ; attempt++) {
    try {
      await m.start();
      return true;
    } catch (err) {
      sample(`start (attempt ${attempt})`, m, err);
      if (m.kind === 'child') await m.kill();
      else await m.stop().catch(() => {});
      if (attempt >= 3) {
        problems.push(`${m.name} did not start: ${String(err?.message ?? err).slice(0, 300)}`);
        return false;
      }
      await sleep(5_000);
    }
  }
}

async function subscribeSome(m) {
  const want = 1 + rnd.int(Math.min(3, shares.length));
  const order = [...shares].sort(() => rnd.next() - 0.5).slice(0, want);
  for (const s of order) {
    if (m.subs.includes(s)) continue;
    await m.call('subscribe', s.member.id.shareId, s.member.id.sharePubkey);
    m.subs.push(s);
  }
}

async function sync(m) {
  try {
    const r = await m.call('sync');
    if (r.failed.length > 0) {
      counts.syncsFailed++;
      sample('sync (partial)', m, { code: r.failed[0].code, message: `${r.failed.length}/${r.checked} failed, first: ${r.failed[0].shareId.slice(0, 8)} ${r.failed[0].error}` });
    } else counts.syncsOk++;
  } catch (err) {
    if (err?.code !== 'NODE_STOPPED' && err?.code !== 'ACTOR_UNAVAILABLE') {
      counts.syncsFailed++;
      sample('sync', m, err);
    }
  }
}

let dlNo = 0;
async function download(m) {
  try {
    await downloadOne(m);
  } catch (err) {
    // listing failed: the node went down under us (churn), or a real failure
    if (err?.code === 'NODE_STOPPED' || err?.code === 'ACTOR_UNAVAILABLE' || !m.up) counts.downloadsInterrupted++;
    else {
      counts.downloadsFailed++;
      sample('download (listing)', m, err);
    }
  }
}

async function downloadOne(m) {
  const subs = (await m.call('listSubscriptions')).filter((s) => (s.latestSeq ?? 0n) > 0n);
  if (subs.length === 0) return;
  const sub = pick(subs);
  const share = shares.find((s) => s.member.id.shareId === sub.shareId);
  const items = await m.call('listShareItems', sub.shareId);
  if (!share || items.length === 0) return;
  const item = pick(items);
  const want = share.files.get(item.name);
  srcByContent.set(item.contentId, want);
  const dir = path.join(root, 'dl', m.name, String(dlNo++));
  try {
    const recs = await m.call('downloadItems', sub.shareId, [item.contentId], dir, 180_000);
    for (const rec of recs) {
      if (rec.state !== 'completed') {
        counts.downloadsFailed++;
        continue;
      }
      const got = createHash('sha256').update(fs.readFileSync(rec.path)).digest('hex');
      if (got !== want) {
        counts.downloadsCorrupt++;
        problems.push(`${m.name}: ${item.name} downloaded with sha256 ${got}, source ${want}`);
      } else {
        counts.downloadsOk++;
        counts.bytesDownloaded += Number(item.size);
      }
    }
  } catch (err) {
    if (err?.code === 'NODE_STOPPED' || err?.code === 'ACTOR_UNAVAILABLE' || !m.up) counts.downloadsInterrupted++;
    else {
      counts.downloadsFailed++;
      sample('download', m, err);
    }
  } finally {
    // Child nodes keep their files: after a kill -9 and restart, every record shown completed is re-verified.
    if (m.kind !== 'child') fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** After a restart: nothing may be shown complete unless its bytes verify. */
async function checkRecords(m) {
  const recs = await m.call('listDownloads').catch(() => []);
  for (const r of recs) {
    if (r.state !== 'completed' || !fs.existsSync(r.path)) continue;
    counts.recordsChecked++;
    const want = srcByContent.get(r.contentId);
    const got = createHash('sha256').update(fs.readFileSync(r.path)).digest('hex');
    if (want && got !== want) {
      counts.recordsUnverified++;
      problems.push(`${m.name} after restart: download ${r.id} shown completed, sha256 ${got} != source ${want}`);
    }
  }
}

// An escaped error is a finding (the run fails), not the end of the run: record it and keep going.
process.on('uncaughtException', (err) => problems.push(`uncaught exception: ${err?.stack ?? err}`));
process.on('unhandledRejection', (err) => problems.push(`unhandled rejection: ${err?.stack ?? err}`));

// ------------------------------------------------------------------ RSS sampling and the hard deadline
const rssTimer = setInterval(() => {
  const own = process.memoryUsage().rss;
  const kids = members.reduce((a, m) => a + m.rss(), 0);
  const maxKid = members.reduce((a, m) => Math.max(a, m.rss()), 0);
  counts.rssMaxMiB = Math.max(counts.rssMaxMiB, Math.round(own / 1048576));
  counts.childRssMaxMiB = Math.max(counts.childRssMaxMiB, Math.round(maxKid / 1048576));
  counts.totalRssMaxMiB = Math.max(counts.totalRssMaxMiB, Math.round((own + kids) / 1048576));
}, 2_000);
const hardStop = setTimeout(() => {
  console.log(`soak: hard deadline passed; killing everything`);
  for (const m of members) if (m.kind === 'child') m.child?.kill('SIGKILL');
  finish(3);
}, durationMs + 12 * 60_000);

// ------------------------------------------------------------------ run
const inflight = new Set();
const spawn = (p) => {
  const q = p.catch((err) => sample('action', { name: '?' }, err)).finally(() => inflight.delete(q));
  inflight.add(q);
};

await main().catch(async (err) => {
  problems.push(`soak driver failed: ${err?.stack ?? err}`);
  await finish(1);
});

async function main() {
  log(`seed ${seed}: ${N} nodes (${C} in child processes, ${P} publishers) for ${(durationMs / 1000).toFixed(0)} s under ${root}`);
  for (let i = 0; i < P; i++) {
    const m = newMember('inline');
    m.publisher = true;
    if (!(await startMember(m))) await finish(1);
    const share = { member: m, dir: path.join(root, `share-${m.name}`), files: new Map(), latestSeq: 0n, busy: false };
    fs.mkdirSync(share.dir, { recursive: true });
    writeSourceFile(share);
    writeSourceFile(share);
    shares.push(share);
    await publish(share, false);
  }
  for (let i = 0; i < C; i++) newMember('child');
  while (members.length < N) newMember('inline');
  const others = members.filter((m) => !m.publisher);
  for (let i = 0; i < others.length; i += 4) {
    await Promise.all(others.slice(i, i + 4).map(async (m) => {
      if (await startMember(m)) await subscribeSome(m).catch((err) => sample('subscribe', m, err));
    }));
  }
  log(`all ${members.length} nodes up; churn and traffic start`);

  const end = t0 + durationMs;
  let nextChurn = Date.now() + 5_000;
  let churnNo = 0;
  let nextRepublish = Date.now() + 10_000;
  let nextReport = Date.now() + 30_000;
  let downloadsInFlight = 0;
  let syncsInFlight = 0;
  while (Date.now() < end) {
    await sleep(250);
    const up = others.filter((m) => m.up);
    while (downloadsInFlight < maxDownloads && up.length > 0) {
      const m = pick(up);
      downloadsInFlight++;
      spawn(download(m).finally(() => downloadsInFlight--));
    }
    if (syncsInFlight < 2 && up.length > 0 && rnd.int(8) === 0) {
      const m = pick(up);
      syncsInFlight++;
      spawn(sync(m).finally(() => syncsInFlight--));
    }
    if (Date.now() >= nextRepublish) {
      nextRepublish = Date.now() + 4_000 + rnd.int(8_000);
      spawn(publish(pick(shares), true));
    }
    if (churnOn && Date.now() >= nextChurn) {
      nextChurn = Date.now() + 4_000 + rnd.int(8_000);
      // The first three are one of each (kill -9, leave, join), so that even a short run sees every kind.
      const roll = churnNo < 3 ? [0, 4, 9][churnNo] : rnd.int(10);
      churnNo++;
      const kids = others.filter((m) => m.kind === 'child' && m.up);
      const inl = others.filter((m) => m.kind === 'inline' && m.up);
      if (roll < 4 && kids.length > 0) {
        const m = pick(kids);
        counts.kills++;
        await m.kill();
        spawn(sleep(2_000 + rnd.int(8_000)).then(async () => {
          if (!(await startMember(m))) return;
          counts.restarts++;
          await checkRecords(m);
        }));
      } else if (roll < 8 && inl.length > 2) {
        const m = pick(inl);
        counts.leaves++;
        spawn(m.stop().then(() => sleep(5_000 + rnd.int(15_000))).then(async () => {
          if (await startMember(m)) counts.rejoins++;
        }));
      } else if (others.length < N + 10) {
        // A newcomer: a fresh data directory, subscribes at once (the swarm grows a little over the run).
        const m = newMember('inline');
        others.push(m);
        counts.joins++;
        spawn(startMember(m).then((ok) => (ok ? subscribeSome(m) : undefined)));
      }
    }
    if (Date.now() >= nextReport) {
      nextReport = Date.now() + 30_000;
      const upNow = members.filter((m) => m.up).length;
      log(`up ${upNow}/${members.length} | dl ok ${counts.downloadsOk} failed ${counts.downloadsFailed} interrupted ${counts.downloadsInterrupted} corrupt ${counts.downloadsCorrupt} | syncs ${counts.syncsOk}/${counts.syncsFailed} | publishes ${counts.publishes}+${counts.republishes} | kills ${counts.kills} leaves ${counts.leaves} joins ${counts.joins} | rss ${counts.rssMaxMiB}+${counts.childRssMaxMiB} MiB`);
    }
  }

  log(`traffic phase over; waiting for ${inflight.size} actions (bounded)`);
  await Promise.race([Promise.all([...inflight]), sleep(240_000)]);
  for (const m of members) {
    if (!m.up && (await startMember(m))) counts.restarts++;
  }
  log('convergence: every subscriber syncs until it holds each publisher\'s latest seq');
  const latest = new Map(shares.map((s) => [s.member.id.shareId, s.latestSeq]));
  let behind = [];
  const laggingNames = new Set();
  const convergeBy = Date.now() + 5 * 60_000;
  for (let round = 0; round < 6 && Date.now() < convergeBy; round++) {
    behind = [];
    const upOthers = others.filter((m) => m.up);
    // Only the subscribers still behind sync again (all at once: the phase is bounded by time, not by rounds).
    const lagging = round === 0 ? upOthers : upOthers.filter((m) => laggingNames.has(m.name));
    await Promise.all(lagging.map((m) => sync(m)));
    laggingNames.clear();
    for (const m of upOthers) {
      const subs = await m.call('listSubscriptions').catch(() => []);
      const connected = subs.some((x) => x.latestSeq !== latest.get(x.shareId)) ? await m.call('peers').catch(() => '?') : 0;
      for (const s of subs) {
        if (s.latestSeq === latest.get(s.shareId)) continue;
        behind.push(`${m.name}: ${s.shareId.slice(0, 8)} at ${s.latestSeq}, latest ${latest.get(s.shareId)} (${connected} peers connected)`);
        laggingNames.add(m.name);
      }
    }
    if (behind.length === 0) break;
    log(`round ${round}: ${behind.length} subscriptions behind`);
    await sleep(10_000);
  }
  for (const m of others.filter((x) => x.up)) {
    const subs = await m.call('listSubscriptions').catch(() => []);
    counts.subscriptions += subs.length;
    counts.converged += subs.filter((s) => s.latestSeq === latest.get(s.shareId)).length;
  }
  for (const b of behind) problems.push(`not converged: ${b}`);
  for (const m of others.filter((x) => x.kind === 'child' && x.up)) await checkRecords(m);
  await finish(problems.length === 0 && counts.downloadsOk > 0 ? 0 : 1);
}

async function finish(code) {
  clearInterval(rssTimer);
  clearTimeout(hardStop);
  await Promise.all(members.map((m) => Promise.race([m.stop().catch(() => {}), sleep(20_000)])));
  for (const m of members) if (m.kind === 'child') m.child?.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
  const result = { seed, seconds: Math.round((Date.now() - t0) / 1000), ...counts, problems: problems.slice(0, 20), failureSamples: failureSamples.slice(0, 10) };
  console.log(`downloads ok ${counts.downloadsOk} (${(counts.bytesDownloaded / 1048576).toFixed(0)} MiB), failed ${counts.downloadsFailed}, interrupted by churn ${counts.downloadsInterrupted}, corrupt ${counts.downloadsCorrupt}`);
  console.log(`syncs ok ${counts.syncsOk}, with failures ${counts.syncsFailed}; publishes ${counts.publishes} + re-publishes ${counts.republishes} (failed ${counts.publishFailed})`);
  console.log(`kills ${counts.kills}, restarts ${counts.restarts}, leaves ${counts.leaves}, rejoins ${counts.rejoins}, joins ${counts.joins}; records checked after restarts ${counts.recordsChecked}, unverified ${counts.recordsUnverified}`);
  console.log(`subscriptions converged ${counts.converged}/${counts.subscriptions}; RSS max: soak process ${counts.rssMaxMiB} MiB, one child node ${counts.childRssMaxMiB} MiB, all ${counts.totalRssMaxMiB} MiB`);
  for (const p of problems.slice(0, 20)) console.log(`problem: ${p}`);
  for (const f of failureSamples.slice(0, 10)) console.log(`failure sample: ${f}`);
  console.log(`SOAK_RESULT ${JSON.stringify(result, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
  process.exit(code);
}
