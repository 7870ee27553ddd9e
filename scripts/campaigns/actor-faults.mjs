#!/usr/bin/env node
// Actor-fault campaign (issue 12, docs/RELIABILITY.md "Actor faults during downloads").
//
// Two real nodes on loopback (worker actors): a seeder publishes a folder holding one random file, the
// downloader downloads it again and again (each round into a fresh folder, verified by sha256 against the
// source) while every actor of the downloader (persistence, session, dht, fetcher, relay, index) is crashed
// `crashesPerActor` times at random moments, by throw, exit and hang in turn, with the restart intensity raised
// by config (`supervision`). Then the durable state is checked (identity, subscription, own share, peer DB,
// downloads), the node is restarted with the default limits, and crashed until escalation: it must fail,
// stop within seconds, leave no worker thread behind, release its data directory, and resume the download it
// was in the middle of when started again.
//
//   node scripts/campaigns/actor-faults.mjs [--size-mib 256] [--crashes-per-actor 100] [--budget-min 15]
//                                           [--side downloader|seeder] [--escalation false] [--seed N] [--keep]
// `--side seeder` crashes the seeder's actors instead (the downloader then has one provider that keeps
// restarting its session, fetcher, ...).
//
// Exit code 0 when every check passed; the report (JSON) goes to stdout, progress to stderr.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MiB, jsonSafe, loadScp2p, parseOpts, prng, randomFile, sha256File, sleep, threadCount, waitFor } from './common.mjs';

const ACTORS = ['persistence', 'session', 'dht', 'fetcher', 'relay', 'index'];
const MODES = ['throw', 'exit', 'hang'];
/** Unflushed bitmap window: 64 chunks or 200 ms (chunk-bitmap.ts), plus the chunks in flight. */
const MAX_PROGRESS_DROP = 24 * MiB;

export const DEFAULTS = {
  sizeMib: 256,
  crashesPerActor: 100,
  budgetMin: 15,
  seed: 0,
  minDelayMs: 100,
  maxDelayMs: 1_500,
  heartbeatTimeoutMs: 1_200,
  escalation: true,
  keep: false,
  logLevel: 'error',
  /** Whose actors are crashed: the downloader's (default) or the seeder's. */
  side: 'downloader',
};

/**
 * Runs the campaign; resolves with the report (its `ok` says whether every check passed). `log` gets one-line
 * progress notes. The base folder is removed at the end unless `keep`.
 */
export async function runActorFaults(options = {}, log = (m) => process.stderr.write(`${m}\n`)) {
  const o = { ...DEFAULTS, ...options };
  const seed = o.seed || (Date.now() >>> 0);
  const { Node } = await loadScp2p();
  const base = await mkdtemp(join(tmpdir(), 'scp2p-actor-faults-'));
  const started = Date.now();
  const deadline = started + o.budgetMin * 60_000;
  const report = { seed, loadAvg: { start: +loadavg()[0].toFixed(1) }, sizeMiB: o.sizeMib, crashesPerActor: o.crashesPerActor, crashes: {}, rounds: [], failures: [], checks: {}, escalation: null, ok: false };
  const fail = (what) => {
    report.failures.push(what);
    log(`FAIL ${what}`);
  };
  const nodes = [];
  try {
    const srcDir = join(base, 'src');
    const srcFile = join(srcDir, 'blob.bin');
    await randomFile(srcFile, o.sizeMib * MiB);
    const srcSha = await sha256File(srcFile);
    const listen = { listen: { tcp: 0, quic: null }, host: '127.0.0.1', logLevel: o.logLevel };
    const supervision = { intensity: 1_000_000, periodMs: 60_000, heartbeatIntervalMs: 250, heartbeatTimeoutMs: o.heartbeatTimeoutMs };
    const seeder = await Node.start({ dataDir: join(base, 'seeder'), ...listen, seed: seed ^ 1, ...(o.side === 'seeder' ? { supervision } : {}) });
    nodes.push(seeder);
    const pub = await seeder.publishFolder(srcDir, { title: 'actor-fault campaign', visibility: 'private' });
    const dlDir = join(base, 'downloader');
    let dl = await Node.start({ dataDir: dlDir, ...listen, bootstrap: seeder.addresses(), supervision, seed: seed ^ 2 });
    nodes.push(dl);
    const own = await dl.publishText('campaign note', 'a share of the downloader that must survive every crash', { visibility: 'private' });
    await dl.subscribe(pub.shareId, { trust: 'trusted' });
    await dl.syncSubscriptions();
    const identity = { ...dl.id };
    log(`seed ${seed}; ${o.sizeMib} MiB file; seeder ${seeder.addresses().join(',')}; share ${pub.shareId.slice(0, 16)}…`);

    // ---- progress watch: a restarted fetcher must pick up from its bitmap, not from zero
    const lastProgress = new Map();
    let fetcherRestartedAt = 0;
    const afterRestart = new Set();
    let maxDrop = 0;
    const watch = (node) =>
      node.events$.subscribe((e) => {
        if (e.type === 'ActorRestarted' && e.actor === 'fetcher') {
          fetcherRestartedAt = Date.now();
          for (const id of lastProgress.keys()) afterRestart.add(id);
        }
        if (e.type === 'DownloadProgress') {
          const done = Number(e.bytesDone);
          if (afterRestart.delete(e.id)) maxDrop = Math.max(maxDrop, (lastProgress.get(e.id) ?? 0) - done);
          lastProgress.set(e.id, done);
        }
        if (e.type === 'DownloadFailed') fail(`download ${e.id} failed: ${e.code}: ${e.error}`);
      });
    let sub = watch(dl);

    // ---- the download rounds, while crashes run
    let crashing = true;
    let activeRound = false;
    const downloads = (async () => {
      for (let r = 0; crashing || r === 0; r++) {
        if (Date.now() > deadline) {
          fail(`time budget (${o.budgetMin} min) ran out during download round ${r}`);
          return;
        }
        const dest = join(base, `dest-${r}`);
        const t0 = Date.now();
        activeRound = true;
        const outcome = await completeDownload(dl, pub.shareId, dest, deadline, log).catch((e) => ({ error: e }));
        activeRound = false;
        if (outcome.error) {
          fail(`round ${r}: ${outcome.error.code ?? ''} ${outcome.error.message}`);
          await rm(dest, { recursive: true, force: true });
          continue;
        }
        const sha = await sha256File(join(dest, 'blob.bin'));
        const ms = Date.now() - t0;
        report.rounds.push({ round: r, ms, mibPerS: +((o.sizeMib * 1000) / ms).toFixed(1), reattached: outcome.reattached, verified: sha === srcSha });
        if (sha !== srcSha) fail(`round ${r}: sha256 differs from the source`);
        log(`round ${r}: ${o.sizeMib} MiB in ${(ms / 1000).toFixed(1)} s, verified ${sha === srcSha}, re-attached ${outcome.reattached}×`);
        await rm(dest, { recursive: true, force: true });
      }
    })();

    // ---- the crash plan: one stream per actor, each crashing its actor crashesPerActor times (throw, exit and
    // hang in turn) at random moments; the streams overlap, so two actors are sometimes down together.
    for (const a of ACTORS) report.crashes[a] = { throw: 0, exit: 0, hang: 0, duringDownload: 0, restartMs: [] };
    let done = 0;
    const total = ACTORS.length * o.crashesPerActor;
    const stream = async (actor, r) => {
      for (let i = 0; i < o.crashesPerActor; i++) {
        if (Date.now() > deadline) {
          fail(`time budget ran out after ${i} crashes of ${actor}`);
          return;
        }
        const mode = MODES[(i + ACTORS.indexOf(actor)) % MODES.length];
        await sleep(r.int(o.minDelayMs, o.maxDelayMs));
        const victim = o.side === 'seeder' ? seeder : dl;
        const state = () => victim.health().actors.find((a) => a.name === actor);
        await waitFor(() => state().state === 'running', { withinMs: 60_000, what: `${actor} running` });
        const before = state().restarts;
        const t0 = Date.now();
        const during = activeRound;
        await victim.debug.crashActor(actor, mode);
        await waitFor(() => state().state === 'running' && state().restarts > before, { withinMs: 60_000, everyMs: 10, what: `${actor} restarted after ${mode}` });
        const c = report.crashes[actor];
        c[mode]++;
        if (during) c.duringDownload++;
        c.restartMs.push(Date.now() - t0);
        if (++done % 60 === 0) log(`${done}/${total} crashes; restarts ${(o.side === 'seeder' ? seeder : dl).health().actors.map((a) => `${a.name}:${a.restarts}`).join(' ')}`);
      }
    };
    await Promise.all(ACTORS.map((a, i) => stream(a, prng(seed + 101 * (i + 1)))));
    crashing = false;
    await downloads;
    for (const c of Object.values(report.crashes)) {
      const s = c.restartMs.sort((a, b) => a - b);
      c.restartMs = { p50: s[Math.floor(s.length / 2)] ?? 0, max: s[s.length - 1] ?? 0 };
    }
    report.maxProgressDropMiB = +(maxDrop / MiB).toFixed(1);
    if (maxDrop > MAX_PROGRESS_DROP) fail(`a restarted fetcher went back ${report.maxProgressDropMiB} MiB: its bitmap was not used`);
    void fetcherRestartedAt;

    // ---- nothing lost: live, then after a restart of the node
    report.checks.live = await checkState(dl, { identity, shareId: pub.shareId, ownShareId: own.shareId, seederId: seeder.id.nodeId }, fail);
    sub.unsubscribe();
    const t = Date.now();
    await dl.stop();
    report.checks.stopMs = Date.now() - t;
    nodes.splice(nodes.indexOf(dl), 1);

    if (o.escalation) {
      const threadsBefore = threadCount();
      dl = await Node.start({ dataDir: dlDir, ...listen, bootstrap: seeder.addresses(), seed: seed ^ 3 });
      nodes.push(dl);
      report.checks.afterRestart = await checkState(dl, { identity, shareId: pub.shareId, ownShareId: own.shareId, seederId: seeder.id.nodeId }, fail);
      report.escalation = await escalate(dl, { Node, dlDir, listen, seeder, pub, srcSha, base, threadsBefore, seed, fail, log });
      nodes.splice(nodes.indexOf(dl), 1);
    }
    report.elapsedS = Math.round((Date.now() - started) / 1000);
    report.loadAvg.end = +loadavg()[0].toFixed(1);
    report.ok = report.failures.length === 0;
    return report;
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    if (!o.keep) await rm(base, { recursive: true, force: true });
    else report.baseDir = base;
  }
}

/**
 * downloadItems until every item is completed. A crash of the fetcher (or the index, which resolves the items)
 * rejects the call with ACTOR_UNAVAILABLE; the download itself is persisted and resumes in the new fetcher,
 * so the call is made again and attaches to the same download records.
 */
async function completeDownload(node, shareId, dest, deadline, log) {
  let reattached = 0;
  for (;;) {
    try {
      const recs = await node.downloadItems(shareId, 'all', dest, { timeoutMs: Math.max(1, deadline - Date.now()) });
      if (!recs.every((r) => r.state === 'completed')) throw new Error(`downloadItems resolved with ${recs.map((r) => r.state).join(',')}`);
      return { recs, reattached };
    } catch (e) {
      if (e?.code !== 'ACTOR_UNAVAILABLE') throw e;
      reattached++;
      if (Date.now() > deadline) throw e;
      await waitFor(() => ['fetcher', 'index'].every((n) => node.health().actors.find((a) => a.name === n).state === 'running'), {
        withinMs: 60_000,
        what: 'fetcher and index running again',
      });
      void log;
    }
  }
}

async function checkState(node, want, fail) {
  const out = {};
  out.identity = JSON.stringify({ ...node.id }) === JSON.stringify(want.identity);
  const subs = await node.listSubscriptions();
  out.subscription = subs.some((s) => s.shareId === want.shareId && s.trust === 'trusted');
  const own = await node.listOwnShares();
  out.ownShare = own.some((s) => s.shareId === want.ownShareId);
  const items = await node.listShareItems(want.shareId);
  out.manifestItems = items.length;
  const peers = await node.peers();
  out.seederInPeerDb = peers.some((p) => p.nodeId === want.seederId || p.pubkey === want.seederId);
  const downloads = await node.listDownloads();
  out.downloads = downloads.length;
  out.downloadsNotCompleted = downloads.filter((d) => d.state !== 'completed').map((d) => `${d.state}:${d.error ?? ''}`);
  out.actorsRunning = node.health().actors.every((a) => a.state === 'running');
  for (const [k, v] of Object.entries(out)) {
    if (v === false) fail(`state check ${k} failed`);
  }
  if (out.manifestItems === 0) fail('state check: the subscribed share lists no items');
  if (out.downloadsNotCompleted.length > 0) fail(`downloads not completed: ${out.downloadsNotCompleted.join('; ')}`);
  return out;
}

/** Default limits: crash actors one after the other (each restarted first) until the node escalates. */
async function escalate(node, c) {
  const out = { crashes: 0, failedState: null, stopMs: null, threadsBefore: c.threadsBefore, threadsRunning: threadCount(), threadsAfter: null, lockReleased: false, resumedVerified: false };
  const failed = new Promise((resolve) => {
    const s = node.events$.subscribe({ next: (e) => e.type === 'NodeFailed' && resolve(e.reason), complete: () => resolve('events completed') });
    void s;
  });
  const dest = join(c.base, 'dest-escalation');
  const pending = node.downloadItems(c.pub.shareId, 'all', dest).catch((e) => e);
  await waitFor(async () => (await node.listDownloads().catch(() => [])).some((d) => d.path.startsWith(dest) && Number(d.bytesDone) > 8 * MiB), {
    withinMs: 60_000,
    what: 'escalation download under way',
  });
  let reason;
  const victims = ['session', 'dht', 'relay', 'index', 'fetcher'];
  for (let i = 0; i < 50 && !reason; i++) {
    await waitFor(() => node.state !== 'running' || node.health().actors.every((a) => a.state === 'running'), { withinMs: 60_000, what: 'actors running' });
    if (node.state !== 'running') break;
    await node.debug.crashActor(victims[i % victims.length], i % 2 ? 'exit' : 'throw');
    out.crashes++;
    reason = await Promise.race([failed, sleep(400).then(() => undefined)]);
  }
  reason ??= await Promise.race([failed, sleep(10_000).then(() => undefined)]);
  const tf = Date.now();
  await waitFor(() => node.state !== 'running', { withinMs: 10_000, everyMs: 5, what: 'node leaves running' }).catch(() => undefined);
  out.failedToStoppedMs = Date.now() - tf;
  out.reason = reason ?? null;
  if (!reason) c.fail('escalation: no NodeFailed after the default intensity was exceeded');
  await waitFor(() => node.state === 'failed', { withinMs: 10_000, what: 'node state failed' }).catch(() => c.fail(`escalation: node state is ${node.state}, not failed`));
  out.failedState = node.state;
  const e = await pending;
  out.callerOutcome = Array.isArray(e) ? `resolved: ${e.map((r) => r.state).join(',')}` : `${e?.code}: ${e?.message}`;
  const t = Date.now();
  await node.stop();
  out.stopMs = Date.now() - t;
  if (out.stopMs > 5_000) c.fail(`escalation: stop() took ${out.stopMs} ms`);
  out.actorStates = [...new Set(node.health().actors.map((a) => a.state))];
  await waitFor(() => threadCount() <= c.threadsBefore, { withinMs: 10_000, what: 'worker threads gone' }).catch(() => undefined);
  out.threadsAfter = threadCount();
  if (out.threadsAfter > c.threadsBefore) c.fail(`escalation: ${out.threadsAfter - c.threadsBefore} thread(s) left after stop`);
  // Released data dir; the interrupted download resumes by itself and verifies.
  const again = await c.Node.start({ dataDir: c.dlDir, ...c.listen, bootstrap: c.seeder.addresses(), seed: c.seed ^ 4 });
  out.lockReleased = true;
  try {
    await waitFor(async () => {
      const d = (await again.listDownloads()).find((r) => r.path.startsWith(dest));
      if (d?.state === 'failed') throw new Error(`resumed download failed: ${d.error}`);
      return d?.state === 'completed';
    }, { withinMs: 300_000, everyMs: 250, what: 'interrupted download completed after restart' });
    out.resumedVerified = (await sha256File(join(dest, 'blob.bin'))) === c.srcSha;
    if (!out.resumedVerified) c.fail('escalation: the resumed download does not match the source');
  } catch (err) {
    c.fail(`escalation: ${err.message}`);
  } finally {
    await again.stop();
  }
  c.log(`escalation after ${out.crashes} crashes: ${out.reason}; stop ${out.stopMs} ms; threads ${out.threadsBefore} → ${out.threadsRunning} → ${out.threadsAfter}`);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const o = parseOpts(process.argv.slice(2), DEFAULTS);
  const report = await runActorFaults(o);
  process.stdout.write(`${jsonSafe(report)}\n`);
  process.exit(report.ok ? 0 : 1);
}
