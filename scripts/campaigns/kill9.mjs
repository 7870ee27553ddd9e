#!/usr/bin/env node
// kill -9 campaign (issue 12, docs/RELIABILITY.md "Process faults (kill -9)").
//
// A seeder node runs in this process; the victim is a real node process (victim-node.mjs, the built package
// through its public API) on one data directory that is killed with SIGKILL, again and again:
//   - `downloadKills` times mid-download of a random file (at a random moment within the time an uninterrupted
//     download takes); each round ends when the download completes, and is verified by sha256 against the source;
//   - `publishKills` times mid-publish of a folder of `files` files (some rewritten before each attempt, so
//     there is real hashing to interrupt).
// On every restart: the node starts (lmdb consistent), its identity, subscription and own shares are intact, a
// publish it once reported is still there (seq never goes back), and the target folder holds no file under its
// final name unless it verifies (partials live under `.scp2p-partial`). Resume is measured, not assumed: the
// seeder's bytes written (wchar of this process's live threads, where only the seeder writes to sockets) over a
// round, against the file size — a download that started over after each kill would show it.
//
//   node scripts/campaigns/kill9.mjs [--size-mib 256] [--download-kills 20] [--publish-kills 20] [--files 2000]
//                                    [--budget-min 15] [--seed N] [--keep]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MiB, jsonSafe, listFiles, loadScp2p, parseOpts, prng, randomFile, sha256File, sleep } from './common.mjs';

const VICTIM = fileURLToPath(new URL('./victim-node.mjs', import.meta.url));
const PARTIAL = '.scp2p-partial';
/** What one kill may cost in re-fetched bytes: the unflushed bitmap window (64 chunks / 200 ms) + chunks in flight. */
const REFETCH_PER_KILL = 24 * MiB;

export const DEFAULTS = { sizeMib: 256, downloadKills: 20, publishKills: 20, files: 2000, budgetMin: 15, seed: 0, keep: false };

/**
 * Bytes written by the live threads of this process (sockets included). Per thread, because the process
 * total also takes in the writes of reaped children (the victim's own file writes) and of ended threads.
 */
export function writtenBytes() {
  let sum = 0;
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const m = /^wchar:\s*(\d+)/m.exec(readFileSync(`/proc/self/task/${t}/io`, 'utf8'));
      if (m) sum += Number(m[1]);
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return sum;
}

export async function runKill9(options = {}, log = (m) => process.stderr.write(`${m}\n`)) {
  const o = { ...DEFAULTS, ...options };
  const seed = o.seed || (Date.now() >>> 0);
  const rnd = prng(seed);
  const { Node } = await loadScp2p();
  const base = await mkdtemp(join(tmpdir(), 'scp2p-kill9-'));
  const started = Date.now();
  const deadline = started + o.budgetMin * 60_000;
  const report = { seed, loadAvg: { start: +loadavg()[0].toFixed(1) }, sizeMiB: o.sizeMib, download: { kills: 0, rounds: [], resumes: [] }, publish: { kills: 0, attempts: 0, finishedBeforeKill: 0, maxSeq: '0' }, restarts: 0, startMs: [], failures: [], ok: false };
  const fail = (what) => {
    report.failures.push(what);
    log(`FAIL ${what}`);
  };
  const children = new Set();
  let seeder;
  try {
    const srcDir = join(base, 'src');
    await randomFile(join(srcDir, 'blob.bin'), o.sizeMib * MiB);
    const srcSha = await sha256File(join(srcDir, 'blob.bin'));
    seeder = await Node.start({ dataDir: join(base, 'seeder'), listen: { tcp: 0, quic: null }, host: '127.0.0.1', logLevel: 'error', seed: seed ^ 1 });
    const pub = await seeder.publishFolder(srcDir, { title: 'kill -9 campaign', visibility: 'private' });
    const victimDir = join(base, 'victim');
    const common = { dataDir: victimDir, bootstrap: seeder.addresses(), note: 'a labelled share that must survive every kill' };
    log(`seed ${seed}; ${o.sizeMib} MiB file; seeder ${seeder.addresses().join(',')}`);

    // ---- what must hold at every start of the victim
    const expect = { identity: null, noted: false, subscribed: false, publishedSeq: 0n, seenSeq: 0n };
    const checkStarted = (line, when) => {
      report.restarts++;
      report.startMs.push(line.ms);
      const id = JSON.stringify(line.id);
      if (expect.identity === null) expect.identity = id;
      else if (id !== expect.identity) fail(`${when}: identity changed`);
      if (expect.noted && !line.ownShares.some((s) => s.title === 'victim note')) fail(`${when}: the labelled "victim note" share is gone`);
      if (expect.subscribed && !line.subscriptions.includes(pub.shareId)) fail(`${when}: the subscription is gone`);
      const def = line.ownShares.find((s) => s.shareId === line.id.shareId);
      const seq = BigInt(def?.seq ?? 0);
      if (seq < expect.publishedSeq) fail(`${when}: own share seq ${seq} < ${expect.publishedSeq}, a publish that was reported is lost`);
      if (seq < expect.seenSeq) fail(`${when}: own share seq went back from ${expect.seenSeq} to ${seq}`);
      if (seq > expect.seenSeq) expect.seenSeq = seq;
    };
    const checkDest = async (dest, when) => {
      for (const rel of listFiles(dest)) {
        if (rel.endsWith(PARTIAL)) continue;
        if ((await sha256File(join(dest, rel))) !== srcSha) fail(`${when}: ${rel} is shown under its final name but does not verify`);
      }
    };

    const runVictim = (cfg) => {
      const child = spawn(process.execPath, [VICTIM, JSON.stringify({ ...common, ...cfg })], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      const lines = [];
      const waiters = [];
      let buf = '';
      let stderr = '';
      child.stdout.on('data', (b) => {
        buf += b.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const text = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let line;
          try {
            line = JSON.parse(text);
          } catch {
            continue;
          }
          lines.push(line);
          for (const w of [...waiters]) if (w.pred(line)) w.resolve(line);
        }
      });
      child.stderr.on('data', (b) => (stderr = (stderr + b.toString()).slice(-4000)));
      const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
        children.delete(child);
        for (const w of waiters) w.resolve(null);
        resolve({ code, signal });
      }));
      const next = (pred, ms = 120_000) => {
        const found = lines.find(pred);
        if (found) return Promise.resolve(found);
        return new Promise((resolve) => {
          const w = { pred, resolve: (l) => { waiters.splice(waiters.indexOf(w), 1); clearTimeout(timer); resolve(l); } };
          const timer = setTimeout(() => w.resolve(null), ms);
          waiters.push(w);
        });
      };
      return { child, lines, next, exited, stderr: () => stderr };
    };
    /** True when SIGKILL ended it; false when it had just finished and exited cleanly (a lost race, no fault). */
    const kill = async (v) => {
      v.child.kill('SIGKILL');
      const e = await v.exited;
      if (e.signal === 'SIGKILL') return true;
      if (e.code === 0 && v.lines.some((l) => l.ev === 'stopped')) return false;
      fail(`victim exited with ${JSON.stringify(e)} before the kill landed; stderr: ${v.stderr().slice(-1500)}`);
      return false;
    };
    const startedLine = async (v, when) => {
      const s = await v.next((l) => l.ev === 'started' || l.ev === 'error', 120_000);
      if (!s || s.ev !== 'started') {
        fail(`${when}: the node did not start again (${s ? s.message : 'no output'}); stderr: ${v.stderr().slice(-3000)}`);
        return null;
      }
      checkStarted(s, when);
      return s;
    };

    // ---- mid-download kills
    let est = 2_000; // ms from "downloading" to "downloaded" in the last round without a kill
    for (let round = 0; report.download.kills < o.downloadKills; round++) {
      if (Date.now() > deadline) {
        fail(`time budget ran out after ${report.download.kills} download kills`);
        break;
      }
      const dest = join(base, `dest-${round}`);
      const w0 = writtenBytes();
      let kills = 0;
      let lastBefore = 0;
      for (;;) {
        const v = runVictim({ action: 'download', shareId: pub.shareId, dest });
        const when = `download round ${round}, start ${kills + 1}`;
        if (!(await startedLine(v, when))) return report;
        if (kills > 0) {
          const first = await v.next((l) => l.ev === 'progress' || l.ev === 'downloaded' || l.ev === 'error', 60_000);
          if (first?.ev === 'progress') report.download.resumes.push({ beforeKillMiB: +(lastBefore / MiB).toFixed(1), firstAfterMiB: +(Number(first.bytesDone) / MiB).toFixed(1) });
        }
        const go = await v.next((l) => l.ev === 'downloading' || l.ev === 'error', 120_000);
        if (go?.ev !== 'downloading') {
          fail(`${when}: ${go ? `${go.code}: ${go.message}` : 'no downloading line'}`);
          await kill(v);
          return report;
        }
        expect.noted = true;
        expect.subscribed = true;
        const end = v.next((l) => l.ev === 'downloaded' || l.ev === 'error', 600_000);
        const killNow = report.download.kills < o.downloadKills;
        // A random moment within the time a download has been taking (what is left of it, after a resume).
        const delay = rnd.int(50, Math.max(150, Math.floor(est * 0.9)));
        const first = await Promise.race([end, killNow ? sleep(delay).then(() => null) : new Promise(() => {})]);
        if (first) {
          if (first.ev === 'error') fail(`${when}: ${first.code}: ${first.message}`);
          else if (kills === 0) est = first.t - go.t;
          await v.exited;
          break;
        }
        const progress = v.lines.filter((l) => l.ev === 'progress');
        lastBefore = Number(progress[progress.length - 1]?.bytesDone ?? 0);
        if (!(await kill(v))) break;
        kills++;
        report.download.kills++;
        await checkDest(dest, `after download kill ${report.download.kills}`);
      }
      const sha = await sha256File(join(dest, 'blob.bin')).catch(() => 'missing');
      const served = writtenBytes() - w0;
      const size = o.sizeMib * MiB;
      const r = { round, kills, verified: sha === srcSha, servedMiB: +(served / MiB).toFixed(1), refetchedMiB: +((served - size) / MiB).toFixed(1) };
      report.download.rounds.push(r);
      log(`download round ${round}: ${kills} kill(s), verified ${r.verified}, seeder wrote ${r.servedMiB} MiB for ${o.sizeMib} MiB`);
      if (!r.verified) fail(`download round ${round}: the completed file does not verify`);
      if (served > size * 1.02 + kills * REFETCH_PER_KILL + 4 * MiB) fail(`download round ${round}: the seeder sent ${r.servedMiB} MiB for a ${o.sizeMib} MiB file over ${kills} kill(s): verified chunks were fetched again`);
      await rm(dest, { recursive: true, force: true });
    }

    // ---- mid-publish kills
    const pubDir = join(base, 'folder');
    const sizes = Array.from({ length: o.files }, () => rnd.int(16, 256) * 1024);
    await Promise.all(sizes.map((n, i) => mkdir(join(pubDir, `d${i % 20}`), { recursive: true }).then(() => writeFile(join(pubDir, `d${i % 20}`, `f${i}.bin`), randomBytes(n)))));
    // One publish to the end first: its duration bounds the kill moments, so kills land in every phase
    // (scan, hashing, manifest, signing, seeding) and not only in the first seconds of hashing.
    const first = runVictim({ action: 'publish', dir: pubDir });
    await startedLine(first, 'first publish');
    const go0 = await first.next((l) => l.ev === 'publishing', 120_000);
    const done0 = await first.next((l) => l.ev === 'published' || l.ev === 'error', 600_000);
    await first.exited;
    if (done0?.ev !== 'published' || !go0) fail(`first publish: ${done0 ? `${done0.code}: ${done0.message}` : 'no answer'}`);
    else expect.publishedSeq = BigInt(done0.seq);
    report.publish.uninterruptedMs = done0 && go0 ? done0.t - go0.t : null;
    report.publish.killedAt = [];
    let maxDelay = Math.max(300, Math.floor((report.publish.uninterruptedMs ?? 3_000) * 1.1));
    while (report.publish.kills < o.publishKills && report.publish.attempts < o.publishKills * 4) {
      if (Date.now() > deadline) {
        fail(`time budget ran out after ${report.publish.kills} publish kills`);
        break;
      }
      report.publish.attempts++;
      // Fresh bytes in a tenth of the files, so the hash cache cannot make every publish instant.
      for (let k = 0; k < Math.ceil(o.files / 10); k++) {
        const i = rnd.int(0, o.files - 1);
        await writeFile(join(pubDir, `d${i % 20}`, `f${i}.bin`), randomBytes(sizes[i]));
      }
      const v = runVictim({ action: 'publish', dir: pubDir });
      const when = `publish attempt ${report.publish.attempts}`;
      if (!(await startedLine(v, when))) return report;
      const go = await v.next((l) => l.ev === 'publishing' || l.ev === 'error', 120_000);
      if (go?.ev !== 'publishing') {
        fail(`${when}: ${go ? `${go.code}: ${go.message}` : 'no publishing line'}`);
        await kill(v);
        return report;
      }
      const end = v.next((l) => l.ev === 'published' || l.ev === 'error', 600_000);
      const first = await Promise.race([end, sleep(rnd.int(20, maxDelay)).then(() => null)]);
      if (first) {
        if (first.ev === 'error') fail(`${when}: ${first.code}: ${first.message}`);
        else {
          expect.publishedSeq = BigInt(first.seq);
          report.publish.finishedBeforeKill++;
          maxDelay = Math.max(150, Math.floor(maxDelay * 0.7));
        }
        await v.exited;
        continue;
      }
      const prog = v.lines.filter((l) => l.ev === 'publish-progress').pop();
      if (!(await kill(v))) {
        const fin = v.lines.find((l) => l.ev === 'published');
        if (fin) expect.publishedSeq = BigInt(fin.seq);
        report.publish.finishedBeforeKill++;
        continue;
      }
      report.publish.killedAt.push(prog ? `${prog.filesDone}/${prog.filesTotal}` : 'before the first progress');
      report.publish.kills++;
    }
    // One last publish runs to the end, then a plain start shows it.
    const fin = runVictim({ action: 'publish', dir: pubDir });
    await startedLine(fin, 'final publish');
    const done = await fin.next((l) => l.ev === 'published' || l.ev === 'error', 600_000);
    await fin.exited;
    if (done?.ev !== 'published') fail(`final publish: ${done ? `${done.code}: ${done.message}` : 'no answer'}`);
    else expect.publishedSeq = BigInt(done.seq);
    const last = runVictim({ action: 'state' });
    const s = await startedLine(last, 'final state');
    await last.exited;
    if (s) {
      const def = s.ownShares.find((x) => x.shareId === s.id.shareId);
      report.publish.maxSeq = String(def?.seq ?? 0);
      report.publish.finalItems = def?.items ?? null;
      if (def?.items !== o.files) fail(`final state: the folder share lists ${def?.items} items, expected ${o.files}`);
      const notDone = s.downloads.filter((d) => d.state !== 'completed');
      if (notDone.length > 0) fail(`final state: downloads not completed: ${JSON.stringify(notDone)}`);
    }
    const sm = [...report.startMs].sort((a, b) => a - b);
    report.startMs = { p50: sm[Math.floor(sm.length / 2)] ?? 0, max: sm[sm.length - 1] ?? 0 };
    report.elapsedS = Math.round((Date.now() - started) / 1000);
    report.loadAvg.end = +loadavg()[0].toFixed(1);
    report.ok = report.failures.length === 0;
    return report;
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await seeder?.stop().catch(() => undefined);
    if (!o.keep) await rm(base, { recursive: true, force: true });
    else report.baseDir = base;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await runKill9(parseOpts(process.argv.slice(2), DEFAULTS));
  process.stdout.write(`${jsonSafe(report)}\n`);
  process.exit(report.ok ? 0 : 1);
}
