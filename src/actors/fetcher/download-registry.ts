/**
 * The fetcher's download records (API.md listDownloads) and their life cycle, pure: time is an argument, ids
 * come from the injected Random, and the worker persists `snapshot()` in lmdb and `restore()`s it on start.
 *
 *   queued ──start──▶ running ──complete──▶ completed
 *     ▲  │              │  │
 *     │  └──pause──┐    │  └──fail──▶ failed ──resume──▶ queued
 *     │            ▼    ▼
 *     └──resume── paused ◀──pause── running
 *   cancel: from queued / running / paused / failed ──▶ cancelled
 *
 * A plain table rather than an XState machine: six states, no timers, no nested states; `transition` is the
 * whole machine and is tested the same way (state × event → state or refusal).
 * "Unfinished downloads resume when the node starts": `restore` turns `running` back into `queued` (the process
 * died under them), and `nextToStart` hands queued records to the worker in the order they were queued.
 */
import { ScpError, type ScpErrorCode } from '../../errors.js';
import type { Random } from '../runtime/random.js';

// The states are the API's (declared once, in the mailbox); this internal record keeps numbers and timestamps.
import type { DownloadState } from '../../messages/fetcher-mailbox.js';

export type { DownloadState };

export interface DownloadRecord {
  id: string;
  /** The share the item came from; null for downloadContent by content id. */
  shareId: string | null;
  contentId: string;
  /** Final path of the file (the partial file is this path + `.scp2p-partial`). */
  path: string;
  state: DownloadState;
  bytesDone: number;
  bytesTotal: number;
  createdAt: number;
  updatedAt: number;
  /** Set when state is `failed`. */
  error: { code: ScpErrorCode; message: string } | null;
}

export type DownloadEvent =
  | { type: 'start' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'complete' }
  | { type: 'fail'; error: { code: ScpErrorCode; message: string } }
  | { type: 'cancel' };

const TABLE: Record<DownloadState, Partial<Record<DownloadEvent['type'], DownloadState>>> = {
  queued: { start: 'running', pause: 'paused', cancel: 'cancelled', resume: 'queued' },
  running: { pause: 'paused', complete: 'completed', fail: 'failed', cancel: 'cancelled' },
  paused: { resume: 'queued', pause: 'paused', cancel: 'cancelled' },
  failed: { resume: 'queued', cancel: 'cancelled' },
  completed: {},
  cancelled: {},
};

export const TERMINAL_STATES: ReadonlySet<DownloadState> = new Set(['completed', 'cancelled']);

/** The next state for `event`, or undefined when the event is not allowed in `state`. */
export function nextState(state: DownloadState, event: DownloadEvent['type']): DownloadState | undefined {
  return TABLE[state][event];
}

/** Pure transition of one record. Throws CONFLICT (with what is allowed) for an event its state refuses. */
export function transition(rec: DownloadRecord, event: DownloadEvent, now: number): DownloadRecord {
  const to = nextState(rec.state, event.type);
  if (to === undefined) {
    const allowed = Object.keys(TABLE[rec.state]).join(', ') || 'nothing (it is finished)';
    throw new ScpError('CONFLICT', `download ${rec.id} is ${rec.state}; cannot ${event.type} it (allowed: ${allowed})`, {
      id: rec.id,
      state: rec.state,
      event: event.type,
    });
  }
  return {
    ...rec,
    state: to,
    updatedAt: now,
    error: event.type === 'fail' ? event.error : to === 'failed' ? rec.error : null,
    bytesDone: to === 'completed' ? rec.bytesTotal : rec.bytesDone,
  };
}

export interface NewDownload {
  shareId: string | null;
  contentId: string;
  path: string;
  bytesTotal: number;
}

export interface DownloadRegistryComponents {
  random: Random;
}

export class DownloadRegistry {
  readonly #random: Random;
  readonly #records = new Map<string, DownloadRecord>();
  /** Queue order for starting (FIFO by when a record entered `queued`). */
  #queueSeq = 0;
  readonly #queuedAt = new Map<string, number>();

  constructor(components: DownloadRegistryComponents) {
    this.#random = components.random;
  }

  /**
   * Adds a queued download. The same content to the same path while one is unfinished returns that record
   * (a second downloadItems of the same share does not fetch twice).
   */
  add(d: NewDownload, now: number): DownloadRecord {
    if (!Number.isSafeInteger(d.bytesTotal) || d.bytesTotal < 0) throw ScpError.badInput(`bytesTotal must be a non-negative safe integer`);
    for (const r of this.#records.values()) {
      if (r.contentId === d.contentId && r.path === d.path && !TERMINAL_STATES.has(r.state) && r.state !== 'failed') return r;
      if (r.path === d.path && !TERMINAL_STATES.has(r.state) && r.state !== 'failed') {
        throw new ScpError('CONFLICT', `another download (${r.id}) is already writing ${d.path}; cancel it or pick another path`, { id: r.id });
      }
    }
    let id: string;
    do id = this.#newId();
    while (this.#records.has(id));
    const rec: DownloadRecord = {
      id,
      shareId: d.shareId,
      contentId: d.contentId,
      path: d.path,
      state: 'queued',
      bytesDone: 0,
      bytesTotal: d.bytesTotal,
      createdAt: now,
      updatedAt: now,
      error: null,
    };
    this.#records.set(id, rec);
    this.#queuedAt.set(id, this.#queueSeq++);
    return rec;
  }

  get(id: string): DownloadRecord {
    const r = this.#records.get(id);
    if (!r) throw ScpError.notFound(`no download with id ${id}; listDownloads() shows the known ones`, { id });
    return r;
  }

  list(): DownloadRecord[] {
    return [...this.#records.values()];
  }

  apply(id: string, event: DownloadEvent, now: number): DownloadRecord {
    const next = transition(this.get(id), event, now);
    this.#records.set(id, next);
    if (next.state === 'queued') {
      if (!this.#queuedAt.has(id)) this.#queuedAt.set(id, this.#queueSeq++);
    } else {
      this.#queuedAt.delete(id);
    }
    return next;
  }

  /** Progress of a running download (monotone, capped at the total). */
  progress(id: string, bytesDone: number, now: number): DownloadRecord {
    const r = this.get(id);
    const done = Math.min(r.bytesTotal, Math.max(r.bytesDone, Math.floor(bytesDone)));
    if (done === r.bytesDone) return r;
    const next = { ...r, bytesDone: done, updatedAt: now };
    this.#records.set(id, next);
    return next;
  }

  /** Sets the size once it is known (a download by bare content id learns it from its last chunk). */
  setTotal(id: string, bytesTotal: number, now: number): DownloadRecord {
    if (!Number.isSafeInteger(bytesTotal) || bytesTotal < 0) throw ScpError.badInput(`bytesTotal must be a non-negative safe integer`);
    const r = this.get(id);
    if (r.bytesTotal === bytesTotal) return r;
    const next = { ...r, bytesTotal, bytesDone: Math.min(r.bytesDone, bytesTotal), updatedAt: now };
    this.#records.set(id, next);
    return next;
  }

  /** Queued downloads to start now, oldest first, so that at most `maxRunning` run at once. */
  nextToStart(maxRunning: number): DownloadRecord[] {
    let running = 0;
    for (const r of this.#records.values()) if (r.state === 'running') running++;
    const room = Math.max(0, maxRunning - running);
    if (room === 0) return [];
    return [...this.#queuedAt.entries()]
      .sort((a, b) => a[1] - b[1])
      .slice(0, room)
      .map(([id]) => this.#records.get(id) as DownloadRecord);
  }

  /** Drops finished records (completed/cancelled) older than `before`. */
  prune(before: number): number {
    let n = 0;
    for (const [id, r] of this.#records) {
      if (TERMINAL_STATES.has(r.state) && r.updatedAt < before) {
        this.#records.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Plain records for lmdb (structured-clone and msgpack friendly). */
  snapshot(): DownloadRecord[] {
    return this.list().map((r) => ({ ...r, error: r.error ? { ...r.error } : null }));
  }

  /**
   * Restores after a restart or crash: running downloads become queued again (nothing was running them);
   * paused stay paused, failed stay failed until resumed. Records that do not parse are skipped.
   */
  static restore(components: DownloadRegistryComponents, records: readonly unknown[], now: number): DownloadRegistry {
    const reg = new DownloadRegistry(components);
    const valid = records.filter(isRecord).sort((a, b) => a.createdAt - b.createdAt);
    for (const r of valid) {
      const rec: DownloadRecord = r.state === 'running' ? { ...r, state: 'queued', updatedAt: now } : { ...r };
      reg.#records.set(rec.id, rec);
      if (rec.state === 'queued') reg.#queuedAt.set(rec.id, reg.#queueSeq++);
    }
    return reg;
  }

  #newId(): string {
    const hex = (n: number): string => n.toString(16).padStart(8, '0');
    return `dl-${hex(this.#random.int(0x1_0000_0000))}${hex(this.#random.int(0x1_0000_0000))}`;
  }
}

const STATES: ReadonlySet<string> = new Set(['queued', 'running', 'paused', 'completed', 'failed', 'cancelled']);

function isRecord(v: unknown): v is DownloadRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.id === 'string' &&
    (r.shareId === null || typeof r.shareId === 'string') &&
    typeof r.contentId === 'string' &&
    typeof r.path === 'string' &&
    typeof r.state === 'string' &&
    STATES.has(r.state) &&
    Number.isSafeInteger(r.bytesDone) &&
    Number.isSafeInteger(r.bytesTotal) &&
    typeof r.createdAt === 'number' &&
    typeof r.updatedAt === 'number' &&
    (r.error === null || (typeof r.error === 'object' && typeof (r.error as { message?: unknown }).message === 'string'))
  );
}
