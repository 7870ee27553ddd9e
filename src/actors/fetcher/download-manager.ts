/**
 * The fetcher's downloads: the registry (states, queue), one DownloadJob per running download, persistence in
 * `fetcher/downloads`, events, and the callers waiting on downloadContent / downloadItems. Every side
 * channel is injected (components), so it runs in tests without workers, sockets or lmdb.
 *
 * - At most `maxConcurrentDownloads` jobs run; the rest wait `queued` (downloadItems' bounded concurrency).
 * - A caller waits until its download completes (resolve), fails or is cancelled (reject). Pausing does not
 *   settle it: it keeps waiting through pause and resume (its own timeout or signal still apply).
 * - `restore()` after a crash or restart: running downloads become queued and start again; their bitmaps
 *   say which chunks are already on disk.
 * - `close()` (actor stop) halts running jobs but keeps them `running` on disk, so the next start resumes them.
 */
import { mkdir, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ScpError } from '../../errors.js';
import type { DownloadRecord as MailboxRecord } from '../../messages/fetcher-mailbox.js';
import type { ShareItemView } from '../../messages/index-mailbox.js';
import type { NodeEvent } from '../../messages/node-events.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import type { PeerAddr } from '../../protocol/peer-addr.js';
import type { Clock } from '../runtime/clock.js';
import type { Random } from '../runtime/random.js';
import { parseBootstrapPeer } from '../session/bootstrap.js';
import type { FlushPolicyInit } from './chunk-bitmap.js';
import { DownloadJob, type DownloadJobComponents, type PeerRequest } from './download-job.js';
import { DownloadRegistry, type DownloadRecord } from './download-registry.js';
import type { DownloadSpec, DownloadStore } from './fetcher-store.js';
import { PARTIAL_SUFFIX, prepareItemPath, resolveItemPath } from './safe-path.js';
import type { SwarmSchedulerInit } from './swarm-scheduler.js';

export interface DownloadManagerComponents {
  clock: Clock;
  random: Random;
  request: PeerRequest;
  /** Candidate providers: the DHT's first, then connected peers, plus `explicit`; never our own addresses. */
  discover(contentId: Uint8Array, explicit: PeerAddr[]): Promise<PeerAddr[]>;
  store: DownloadStore;
  emit(event: NodeEvent): void;
  /** After a verified download: seed the file and announce it (failures here do not fail the download). */
  completed(d: { contentId: string; path: string; size: number; chunkHashes: Uint8Array[] }): Promise<void>;
  verify?: DownloadJobComponents['verify'];
  penalise?: DownloadJobComponents['penalise'];
  recycle?: DownloadJobComponents['recycle'];
  openFile?: DownloadJobComponents['openFile'];
}

export interface DownloadManagerInit {
  /** Where relative outPath / targetDir land. */
  downloadDir: string;
  parallelChunks?: number;
  /** Downloads running at once (items of downloadItems included). Default 4. */
  maxConcurrentDownloads?: number;
  /** Bytes all downloads may hold together; null = no quota. */
  diskQuotaBytes?: number | null;
  requestTimeoutMs?: number;
  /** Minimum gap between DownloadProgress events of one download. Default 250 ms (≤ 4/s). */
  progressIntervalMs?: number;
  policy?: Omit<SwarmSchedulerInit, 'chunkCount' | 'verified' | 'peers'>;
  flush?: FlushPolicyInit;
  checkFreeSpace?: boolean;
  /** Full chunks written with O_DIRECT where the file system allows (file-writer.ts). Default false. */
  directWrites?: boolean;
}

export interface ContentRequest {
  contentId: string;
  outPath: string;
  size?: bigint | number;
  chunkCount?: number;
  chunkListHash?: string;
  shareId?: string;
  peers?: string[];
}

interface Waiter {
  resolve(r: MailboxRecord): void;
  reject(e: unknown): void;
}

export class DownloadManager {
  readonly #c: DownloadManagerComponents;
  readonly #init: DownloadManagerInit;
  #registry: DownloadRegistry;
  readonly #jobs = new Map<string, DownloadJob>();
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #lastProgress = new Map<string, number>();
  #closing = false;

  constructor(components: DownloadManagerComponents, init: DownloadManagerInit) {
    this.#c = components;
    this.#init = init;
    this.#registry = new DownloadRegistry({ random: components.random });
  }

  /** Loads persisted downloads and starts the unfinished ones (the node or the actor restarted). */
  restore(): number {
    const stored = this.#c.store.list();
    this.#registry = DownloadRegistry.restore({ random: this.#c.random }, stored.map((d) => d.record), this.#c.clock.now());
    const queued = this.#registry.list().filter((r) => r.state === 'queued').length;
    this.#pump();
    return queued;
  }

  list(): MailboxRecord[] {
    return this.#registry.list().map(toMailbox);
  }

  async downloadContent(req: ContentRequest): Promise<MailboxRecord> {
    const contentId = toHex(fromHex(req.contentId, 32, 'contentId'));
    const spec = specOf(req);
    if (typeof req.outPath !== 'string' || req.outPath.length === 0) throw ScpError.badInput('outPath must name the file to write');
    const path = resolve(this.#init.downloadDir, req.outPath);
    const st = await stat(path).catch(() => undefined);
    if (st?.isDirectory()) throw ScpError.badInput(`${path} is a folder; outPath must name a file`);
    await mkdir(dirname(path), { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw ScpError.io(`cannot create folder ${dirname(path)}: ${err.code ?? err.message}; check permissions`, err);
    });
    const id = await this.#add({ shareId: req.shareId ?? null, contentId, path }, spec);
    const done = this.#wait(id);
    this.#pump();
    return done;
  }

  /**
   * Checks every item's path first (an unsafe one refuses the whole request with BAD_INPUT before anything is
   * fetched), creates the folders, queues the items, and resolves when all are verified. When some fail, it
   * rejects with the first failure's code and lists every failure in `details.failed`.
   */
  async downloadItems(req: { shareId: string; items: ShareItemView[]; targetDir: string }): Promise<MailboxRecord[]> {
    if (typeof req.targetDir !== 'string' || req.targetDir.length === 0) throw ScpError.badInput('targetDir must name a folder');
    const root = resolve(this.#init.downloadDir, req.targetDir);
    const seen = new Map<string, string>();
    const plan = req.items.map((item) => {
      const path = resolveItemPath(root, item.path ?? null, item.name);
      const other = seen.get(path);
      if (other !== undefined && other !== item.contentId) {
        throw ScpError.badInput(`two items of the share land on the same path ${JSON.stringify(item.path ?? item.name)}; download them separately`);
      }
      seen.set(path, item.contentId);
      fromHex(item.contentId, 32, 'contentId');
      return { item, path, spec: specOf({ size: item.size, chunkCount: item.chunkCount, chunkListHash: item.chunkListHash }) };
    });
    await mkdir(root, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw ScpError.io(`cannot create ${root}: ${err.code ?? err.message}; pick a folder this user can write to`, err);
    });
    const unique = plan.filter((p, i) => plan.findIndex((q) => q.path === p.path) === i);
    for (const p of unique) await prepareItemPath(root, p.item.path ?? null, p.item.name);
    const ids: string[] = [];
    for (const p of unique) ids.push(await this.#add({ shareId: req.shareId, contentId: toHex(fromHex(p.item.contentId, 32)), path: p.path }, p.spec));
    const waits = ids.map((id) => this.#wait(id));
    this.#pump();
    const settled = await Promise.allSettled(waits);
    const failed = settled.flatMap((s, i) =>
      s.status === 'rejected' ? [{ id: ids[i] as string, code: (s.reason as ScpError).code ?? 'INTERNAL', error: String((s.reason as Error)?.message ?? s.reason) }] : [],
    );
    if (failed.length > 0) {
      const first = (settled.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason as ScpError;
      throw new ScpError(first.code ?? 'INTERNAL', `${failed.length} of ${ids.length} item(s) failed; first: ${first.message}`, { failed });
    }
    return settled.map((s) => (s as PromiseFulfilledResult<MailboxRecord>).value);
  }

  async pause(id: string): Promise<MailboxRecord> {
    const rec = this.#apply(id, { type: 'pause' });
    await this.#persist(id);
    const job = this.#jobs.get(id);
    if (job) await job.stop('pause');
    return toMailbox(this.#registry.get(id) ?? rec);
  }

  async resume(id: string): Promise<MailboxRecord> {
    const rec = this.#apply(id, { type: 'resume' });
    await this.#persist(id);
    this.#pump();
    return toMailbox(this.#registry.get(id) ?? rec);
  }

  async cancel(id: string): Promise<MailboxRecord> {
    const rec = this.#apply(id, { type: 'cancel' });
    await this.#persist(id);
    const job = this.#jobs.get(id);
    if (job) await job.stop('cancel');
    else {
      await unlink(rec.path + PARTIAL_SUFFIX).catch(() => undefined);
      await this.#c.store.removeBitmap(id);
    }
    this.#settle(id, new ScpError('ABORTED', `download ${id} was cancelled`, { id }));
    this.#pump();
    return toMailbox(rec);
  }

  /**
   * Live concurrency (NodeLimits.maxConcurrentDownloads, at least 1): raising it starts queued downloads at
   * once; lowering it lets running ones finish and holds the rest `queued`.
   */
  setMaxConcurrentDownloads(n: number): void {
    this.#init.maxConcurrentDownloads = Math.max(1, Math.floor(n));
    this.#pump();
  }

  /** Halts running jobs, keeping them resumable on the next start. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#jobs.values()].map((j) => j.stop('pause')));
    for (const id of [...this.#waiters.keys()]) this.#settle(id, ScpError.actorUnavailable('fetcher', 'stopping; the download resumes when it starts again'));
  }

  // ---- internals

  async #add(d: { shareId: string | null; contentId: string; path: string }, spec: DownloadSpec): Promise<string> {
    const now = this.#c.clock.now();
    const before = new Set(this.#registry.list().map((r) => r.id));
    const rec = this.#registry.add({ ...d, bytesTotal: spec.size ?? 0 }, now);
    if (before.has(rec.id)) {
      if (rec.state === 'paused') this.#apply(rec.id, { type: 'resume' });
      await this.#persist(rec.id);
      return rec.id;
    }
    await this.#c.store.put({ record: rec, spec });
    return rec.id;
  }

  #apply(id: string, event: Parameters<DownloadRegistry['apply']>[1]): DownloadRecord {
    return this.#registry.apply(id, event, this.#c.clock.now());
  }

  async #persist(id: string): Promise<void> {
    const rec = this.#registry.get(id);
    const old = this.#c.store.get(id);
    await this.#c.store.put({ record: { ...rec, error: rec.error ? { ...rec.error } : null }, spec: old?.spec ?? { size: null, chunkCount: null, chunkListHash: null, peers: [] } });
  }

  #wait(id: string): Promise<MailboxRecord> {
    return new Promise<MailboxRecord>((resolve, reject) => {
      const list = this.#waiters.get(id) ?? [];
      list.push({ resolve, reject });
      this.#waiters.set(id, list);
    });
  }

  #settle(id: string, outcome: MailboxRecord | Error): void {
    const list = this.#waiters.get(id);
    this.#waiters.delete(id);
    for (const w of list ?? []) {
      if (outcome instanceof Error) w.reject(outcome);
      else w.resolve(outcome);
    }
  }

  #pump(): void {
    if (this.#closing) return;
    for (const rec of this.#registry.nextToStart(Math.max(1, this.#init.maxConcurrentDownloads ?? 4))) this.#start(rec);
  }

  #start(rec: DownloadRecord): void {
    const id = rec.id;
    this.#apply(id, { type: 'start' });
    void this.#persist(id);
    const spec = this.#c.store.get(id)?.spec ?? { size: null, chunkCount: null, chunkListHash: null, peers: [] };
    const contentId = fromHex(rec.contentId, 32);
    const explicit: PeerAddr[] = [];
    for (const p of spec.peers) {
      try {
        explicit.push(parseBootstrapPeer(p));
      } catch {
        /* checked when the download was asked for */
      }
    }
    const quota = this.#quota(id, spec.size ?? 0);
    const job = new DownloadJob(
      {
        clock: this.#c.clock,
        random: this.#c.random,
        request: this.#c.request,
        store: this.#c.store,
        ...(this.#c.verify ? { verify: this.#c.verify } : {}),
        ...(this.#c.penalise ? { penalise: this.#c.penalise } : {}),
        ...(this.#c.recycle ? { recycle: this.#c.recycle } : {}),
        ...(this.#c.openFile ? { openFile: this.#c.openFile } : {}),
      },
      {
        id,
        contentId,
        targetPath: rec.path,
        size: spec.size,
        chunkCount: spec.chunkCount,
        chunkListHash: spec.chunkListHash ? fromHex(spec.chunkListHash, 32) : null,
        providers: () => this.#c.discover(contentId, explicit),
        ...(this.#init.parallelChunks ? { parallelChunks: this.#init.parallelChunks } : {}),
        ...(this.#init.requestTimeoutMs ? { requestTimeoutMs: this.#init.requestTimeoutMs } : {}),
        ...(this.#init.policy ? { policy: this.#init.policy } : {}),
        ...(this.#init.flush ? { flush: this.#init.flush } : {}),
        ...(quota ? { quota } : {}),
        ...(this.#init.checkFreeSpace === undefined ? {} : { checkFreeSpace: this.#init.checkFreeSpace }),
        ...(this.#init.directWrites ? { directWrites: true } : {}),
        onSize: (size) => {
          if (this.#registry.get(id).bytesTotal !== size) this.#registry.setTotal(id, size, this.#c.clock.now());
        },
        onProgress: (p) => this.#progress(id, rec.contentId, p.bytesDone, p.bytesTotal, p.peers),
      },
    );
    this.#jobs.set(id, job);
    job
      .run()
      .then(
        (r) => this.#onDone(id, job, r),
        (err: unknown) => this.#onError(id, job, err),
      )
      .catch((err: unknown) => this.#settle(id, err instanceof Error ? err : ScpError.internal(String(err))));
  }

  async #onDone(id: string, job: DownloadJob, r: { path: string; size: number; chunkHashes: Uint8Array[] }): Promise<void> {
    if (this.#jobs.get(id) === job) this.#jobs.delete(id);
    if (this.#closing || this.#registry.get(id).state !== 'running') return; // paused or cancelled as it finished
    const now = this.#c.clock.now();
    this.#registry.setTotal(id, r.size, now);
    const rec = this.#apply(id, { type: 'complete' });
    await this.#persist(id);
    this.#lastProgress.delete(id);
    const total = BigInt(r.size);
    this.#c.emit({ type: 'DownloadProgress', id, contentId: rec.contentId, bytesDone: total, bytesTotal: total, peers: 0 });
    await this.#c.completed({ contentId: rec.contentId, path: r.path, size: r.size, chunkHashes: r.chunkHashes }).catch(() => undefined);
    this.#c.emit({ type: 'DownloadCompleted', id, contentId: rec.contentId, path: r.path });
    this.#settle(id, toMailbox(this.#registry.get(id)));
    this.#pump();
  }

  async #onError(id: string, job: DownloadJob, err: unknown): Promise<void> {
    if (this.#jobs.get(id) === job) this.#jobs.delete(id);
    this.#lastProgress.delete(id);
    if (this.#closing) return;
    const e = err instanceof ScpError ? err : ScpError.internal(`download ${id} failed: ${(err as Error)?.message ?? String(err)}`, err);
    const state = this.#registry.get(id).state;
    if (e.code === 'ABORTED' && state !== 'running') {
      this.#pump(); // paused or cancelled by a caller: those paths settle it
      return;
    }
    const rec = this.#apply(id, { type: 'fail', error: { code: e.code, message: e.message } });
    await this.#persist(id);
    this.#c.emit({ type: 'DownloadFailed', id, contentId: rec.contentId, error: e.message, code: e.code });
    this.#settle(id, e);
    this.#pump();
  }

  #progress(id: string, contentId: string, bytesDone: number, bytesTotal: number, peers: number): void {
    const now = this.#c.clock.now();
    this.#registry.progress(id, bytesDone, now);
    const last = this.#lastProgress.get(id);
    if (last !== undefined && now - last < (this.#init.progressIntervalMs ?? 250)) return;
    this.#lastProgress.set(id, now);
    this.#c.emit({ type: 'DownloadProgress', id, contentId, bytesDone: BigInt(bytesDone), bytesTotal: BigInt(bytesTotal), peers });
  }

  #quota(id: string, size: number): { limitBytes: number; usedBytes: number } | undefined {
    const limit = this.#init.diskQuotaBytes;
    if (limit === undefined || limit === null) return undefined;
    let used = 0;
    for (const r of this.#registry.list()) {
      if (r.id !== id && (r.state === 'queued' || r.state === 'running' || r.state === 'paused' || r.state === 'completed')) used += r.bytesTotal;
    }
    void size;
    return { limitBytes: limit, usedBytes: used };
  }
}

function specOf(req: { size?: bigint | number | undefined; chunkCount?: number | undefined; chunkListHash?: string | undefined; peers?: string[] | undefined }): DownloadSpec {
  let size: number | null = null;
  if (req.size !== undefined && req.size !== null) {
    size = Number(req.size);
    if (!Number.isSafeInteger(size) || size < 0) throw ScpError.badInput(`size must be a non-negative integer, got ${String(req.size)}`);
  }
  const chunkCount = req.chunkCount ?? null;
  if (chunkCount !== null && (!Number.isInteger(chunkCount) || chunkCount < 0)) throw ScpError.badInput(`chunkCount must be a non-negative integer`);
  const chunkListHash = req.chunkListHash ? toHex(fromHex(req.chunkListHash, 32, 'chunkListHash')) : null;
  const peers = req.peers ?? [];
  for (const p of peers) parseBootstrapPeer(p); // BAD_INPUT now, before anything is queued
  return { size, chunkCount, chunkListHash, peers: [...peers] };
}

export function toMailbox(r: DownloadRecord): MailboxRecord {
  return {
    id: r.id,
    shareId: r.shareId,
    contentId: r.contentId,
    path: r.path,
    state: r.state,
    bytesDone: BigInt(r.bytesDone),
    bytesTotal: BigInt(r.bytesTotal),
    error: r.error ? r.error.message : null,
  };
}
