/**
 * The whole-node scenario: N nodes on the simulated network publish folders, re-publish (new manifest versions),
 * subscribe, sync, search and download while nodes crash, leave, come back and the network drops and partitions,
 * all on virtual time and all drawn from one seed. At the end every node is back, every subscription must have
 * converged to its publisher's latest seq, and every completed download must match its source bytes (SHA-256).
 * `SCP2P_SIM_SEED=<seed>` replays a run exactly (same trace digest).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sha256File, WholeNodeSim, type SimHost } from './whole-node-sim.js';

export interface ScenarioOptions {
  seed: number;
  baseDir: string;
  nodes?: number;
  publishers?: number;
  /** Virtual duration of the busy phase (convergence comes after it). */
  virtualMs?: number;
  loss?: number;
  churn?: boolean;
  partitions?: boolean;
  keepTrace?: boolean;
  /** Largest file a publisher writes (bytes). */
  maxFileBytes?: number;
  log?: (line: string) => void;
}

export interface ScenarioCounts {
  publishes: number;
  republishes: number;
  syncs: number;
  syncFailures: number;
  searches: number;
  searchHits: number;
  downloadsOk: number;
  downloadsFailed: number;
  downloadsCorrupt: number;
  crashes: number;
  leaves: number;
  restarts: number;
  partitions: number;
  interrupted: number;
}

export interface ScenarioResult {
  seed: number;
  digest: string;
  traceEvents: number;
  traceBytes: number;
  virtualMs: number;
  realMs: number;
  steps: number;
  counts: ScenarioCounts;
  /** Broken guarantees (corrupt download, a subscription that did not converge); empty when the run passed. */
  problems: string[];
  converged: { subscriptions: number; atLatest: number };
  net: WholeNodeSim['net']['stats'];
  traceTail: string[];
  traceLines?: string[];
}

interface Publisher {
  host: SimHost;
  dir: string;
  files: Map<string, string>; // file name -> sha256 of its bytes
  latestSeq: bigint;
  nextFile: number;
}

export async function runWholeNodeScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const t0 = performance.now();
  const n = o.nodes ?? 6;
  const np = Math.min(o.publishers ?? 2, n - 1);
  const busyMs = o.virtualMs ?? 120_000;
  const maxFile = o.maxFileBytes ?? 600_000;
  const log = o.log ?? (() => {});
  const sim = new WholeNodeSim({ seed: o.seed, baseDir: o.baseDir, loss: o.loss ?? 0.02, keepTrace: o.keepTrace });
  const rnd = sim.random;
  const counts: ScenarioCounts = {
    publishes: 0, republishes: 0, syncs: 0, syncFailures: 0, searches: 0, searchHits: 0, downloadsOk: 0, downloadsFailed: 0,
    downloadsCorrupt: 0, crashes: 0, leaves: 0, restarts: 0, partitions: 0, interrupted: 0,
  };
  const problems: string[] = [];
  const converged = { subscriptions: 0, atLatest: 0 };
  for (let i = 0; i < n; i++) sim.addHost();
  const hosts = sim.hosts;
  const boot = (h: SimHost): string[] => (h.index === 0 ? [] : [hosts[0]!.addr, ...(h.index > 1 ? [hosts[1]!.addr] : [])]);
  const publishers: Publisher[] = hosts.slice(0, np).map((host) => ({ host, dir: path.join(o.baseDir, `share-${host.index}`), files: new Map(), latestSeq: 0n, nextFile: 0 }));
  const subscribers = hosts.slice(np);
  const pubByShare = new Map(publishers.map((p) => [p.host.shareId, p]));
  let dl = 0;

  const writeFile = (p: Publisher): void => {
    fs.mkdirSync(p.dir, { recursive: true });
    const size = 1 + rnd.int(maxFile);
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 4) {
      const v = (rnd.next() * 0x1_0000_0000) >>> 0;
      bytes[i] = v & 255;
      if (i + 1 < size) bytes[i + 1] = (v >>> 8) & 255;
      if (i + 2 < size) bytes[i + 2] = (v >>> 16) & 255;
      if (i + 3 < size) bytes[i + 3] = v >>> 24;
    }
    const name = `file${p.host.index}x${p.nextFile++} ${WORDS[rnd.int(WORDS.length)]}.bin`;
    fs.writeFileSync(path.join(p.dir, name), bytes);
    p.files.set(name, createHash('sha256').update(bytes).digest('hex'));
  };

  const publish = async (p: Publisher, again: boolean): Promise<void> => {
    const node = p.host.node;
    if (!node) return;
    writeFile(p);
    const r = await node.publishFolder(p.dir, { title: `share of n${p.host.index}`, timeoutMs: 120_000 });
    if (r.seq > p.latestSeq) p.latestSeq = r.seq;
    if (again) counts.republishes++;
    else counts.publishes++;
    sim.note(`published n${p.host.index} seq=${r.seq} ${r.manifestId.slice(0, 8)}`);
  };

  const sync = async (h: SimHost): Promise<void> => {
    const node = h.node;
    if (!node) return;
    const r = await node.syncSubscriptions({ timeoutMs: 120_000 });
    counts.syncs++;
    if (r.failed.length > 0) counts.syncFailures++;
    sim.note(`synced n${h.index} checked=${r.checked} updated=${r.updated.map((u) => u.seq).join(',')} failed=${r.failed.length}`);
  };

  const search = async (h: SimHost): Promise<void> => {
    const node = h.node;
    if (!node) return;
    const word = WORDS[rnd.int(WORDS.length)]!;
    const r = await node.search(word, { limit: 50 });
    counts.searches++;
    counts.searchHits += r.hits.length;
    sim.note(`search n${h.index} ${word} hits=${r.hits.length}`);
  };

  const download = async (h: SimHost): Promise<void> => {
    const node = h.node;
    if (!node) return;
    const subs = (await node.listSubscriptions()).filter((s) => (s.latestSeq ?? 0n) > 0n);
    if (subs.length === 0) return;
    const sub = subs[rnd.int(subs.length)]!;
    const items = await node.listShareItems(sub.shareId);
    if (items.length === 0) return;
    const item = items[rnd.int(items.length)]!;
    const target = path.join(o.baseDir, `dl-${h.index}-${dl++}`);
    let recs;
    try {
      recs = await node.downloadItems(sub.shareId, [item.contentId], target, { timeoutMs: 180_000 });
    } catch (err) {
      counts.downloadsFailed++;
      sim.note(`download-failed n${h.index} ${item.contentId.slice(0, 8)} ${(err as { code?: string }).code ?? 'ERR'}`);
      return;
    }
    for (const rec of recs) {
      if (rec.state !== 'completed') {
        counts.downloadsFailed++;
        continue;
      }
      const want = pubByShare.get(sub.shareId)?.files.get(item.name);
      const got = sha256File(rec.path);
      if (want !== got) {
        counts.downloadsCorrupt++;
        problems.push(`n${h.index} downloaded ${item.name} (${item.contentId}) with sha256 ${got}, source has ${want}`);
      } else counts.downloadsOk++;
      sim.note(`downloaded n${h.index} ${item.contentId.slice(0, 8)} ${got.slice(0, 16)}`);
      fs.rmSync(target, { recursive: true, force: true });
    }
  };

  const restartLater = (h: SimHost, ms: number): Promise<void> =>
    sim.sleep(ms).then(async () => {
      await sim.start(h, boot(h));
      counts.restarts++;
    });

  const inflight = new Set<Promise<void>>();
  const spawn = (what: string, h: SimHost | undefined, fn: () => Promise<void>): void => {
    const p = fn()
      .catch((err: unknown) => {
        // A node that crashed or left under a request: the request fails with a typed error, nothing more.
        counts.interrupted++;
        sim.note(`interrupted ${what} n${h?.index ?? '-'} ${(err as { code?: string }).code ?? (err as Error).message}`);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };

  const result = await sim.run(async () => {
    for (const h of hosts) await sim.start(h, boot(h));
    await sim.sleep(10_000);
    for (const p of publishers) await publish(p, false);
    for (const h of subscribers) {
      for (const p of publishers) await h.node!.subscribe(p.host.shareId, { sharePubkey: p.host.sharePubkey });
    }
    await sim.sleep(5_000);
    const end = sim.now + busyMs;
    let partitioned = false;
    while (sim.now < end) {
      await sim.sleep(1_000 + rnd.int(4_000));
      const roll = rnd.int(100);
      const up = subscribers.filter((h) => h.node);
      const anyUp = up.length > 0 ? up[rnd.int(up.length)]! : undefined;
      if (roll < 12) {
        const p = publishers[rnd.int(publishers.length)]!;
        spawn('republish', p.host, () => publish(p, true));
      } else if (roll < 32 && anyUp) spawn('sync', anyUp, () => sync(anyUp));
      else if (roll < 45 && anyUp) spawn('search', anyUp, () => search(anyUp));
      else if (roll < 75 && anyUp) spawn('download', anyUp, () => download(anyUp));
      else if (roll < 83 && o.churn !== false && up.length > 1) {
        const h = up[rnd.int(up.length)]!;
        counts.crashes++;
        await sim.crash(h);
        spawn('restart', h, () => restartLater(h, 5_000 + rnd.int(20_000)));
      } else if (roll < 90 && o.churn !== false && up.length > 1) {
        const h = up[rnd.int(up.length)]!;
        counts.leaves++;
        await sim.stop(h);
        spawn('rejoin', h, () => restartLater(h, 5_000 + rnd.int(20_000)));
      } else if (roll < 94 && o.partitions !== false && !partitioned && n >= 4) {
        partitioned = true;
        counts.partitions++;
        const a = hosts.filter((_, i) => i % 2 === 0).map((h) => h.ip);
        const b = hosts.filter((_, i) => i % 2 === 1).map((h) => h.ip);
        sim.net.partition([a, b]);
        spawn('heal', undefined, () =>
          sim.sleep(10_000 + rnd.int(20_000)).then(() => {
            sim.net.heal();
            partitioned = false;
          }),
        );
      }
    }
    log(`busy phase over at t=${sim.now} ms; waiting for ${inflight.size} actions`);
    while (inflight.size > 0) await Promise.all([...inflight]);
    sim.net.heal();
    for (const h of hosts) if (!h.node) await sim.start(h, boot(h));
    // Convergence: every subscriber syncs until it holds each publisher's latest seq (bounded tries).
    await sim.sleep(15_000);
    for (const h of subscribers) {
      for (let attempt = 0; attempt < 4; attempt++) {
        await sync(h).catch(() => {});
        const subs = await h.node!.listSubscriptions();
        if (subs.every((s) => s.latestSeq === pubByShare.get(s.shareId)?.latestSeq)) break;
        await sim.sleep(10_000);
      }
      for (const s of await h.node!.listSubscriptions()) {
        converged.subscriptions++;
        const want = pubByShare.get(s.shareId)?.latestSeq;
        if (s.latestSeq === want) converged.atLatest++;
        else problems.push(`n${h.index}'s subscription to n${pubByShare.get(s.shareId)?.host.index} is at seq ${s.latestSeq}, the publisher at ${want}`);
      }
    }
    // One verified download per subscriber at the end, with everyone back.
    for (const h of subscribers) await download(h).catch(() => void counts.downloadsFailed++);
    sim.note(`end converged=${converged.atLatest}/${converged.subscriptions}`);
  }, busyMs + 900_000).then(
    () => undefined,
    (err: Error) => err,
  );
  if (result) problems.push(`scenario failed: ${result.message}`);
  const out: ScenarioResult = {
    seed: sim.seed,
    digest: sim.trace.digest(),
    traceEvents: sim.trace.events,
    traceBytes: sim.trace.bytes,
    virtualMs: sim.now,
    realMs: Math.round(performance.now() - t0),
    steps: sim.stats.steps,
    counts,
    problems,
    converged,
    net: { ...sim.net.stats },
    traceTail: sim.trace.tail(),
    ...(sim.trace.lines ? { traceLines: [...sim.trace.lines] } : {}),
  };
  await sim.dispose();
  return out;
}

const WORDS = ['alpha', 'bravo', 'delta', 'harbor', 'granite', 'violet', 'meadow', 'copper'];
