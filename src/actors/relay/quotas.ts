/**
 * Relay budgets (PROTOCOL.md §9.2, §14):
 *  - `DailyQuotas`: per slot *owner* and unix day (floor(unix / 86400)) for the no-tunnel RELAY_STREAM path:
 *    control ≤ 16 MiB, content ≤ 4 MiB (content refused unless opted in), ≤ 1,024 distinct stream ids. Usage is
 *    keyed by owner, not slot, so re-registering grants no fresh quota; owners without live slots are dropped.
 *  - `ThroughputCaps`: optional byte-rate caps for tunnels, one token bucket per tunnel plus a global one.
 *
 * Pure: `now` is unix milliseconds. A rejected request consumes nothing (the check is atomic).
 */
import type { RelayPayloadKind } from '../../protocol/relay-messages.js';

export const DAY_SECS = 86_400;
export const MIB = 1024 * 1024;

export interface DailyQuotaLimits {
  controlBytesPerDay: number;
  contentBytesPerDay: number;
  streamsPerDay: number;
  /** The reference refuses content on this path unless configured; so do we. */
  contentEnabled: boolean;
}

export const DEFAULT_DAILY_QUOTAS: Readonly<DailyQuotaLimits> = Object.freeze({
  controlBytesPerDay: 16 * MIB,
  contentBytesPerDay: 4 * MIB,
  streamsPerDay: 1_024,
  contentEnabled: false,
});

/** The reference's error texts (relay.rs `enforce_quota`). */
export const QuotaText = {
  CONTENT_DISABLED: 'content relay is disabled',
  STREAMS: 'relay stream quota exceeded',
  CONTROL: 'relay control-byte quota exceeded',
  CONTENT: 'relay content-byte quota exceeded',
} as const;

export type QuotaResult =
  | { ok: true }
  | { ok: false; code: 'content-disabled' | 'streams' | 'control-bytes' | 'content-bytes'; wireText: string };

export interface QuotaUsage {
  day: number;
  controlBytes: number;
  contentBytes: number;
  streamIds: Set<number>;
}

const dayOf = (nowMs: number): number => Math.floor(nowMs / 1000 / DAY_SECS);

export class DailyQuotas {
  readonly limits: Readonly<DailyQuotaLimits>;
  readonly #usage = new Map<string, QuotaUsage>();

  constructor(limits: Partial<DailyQuotaLimits> = {}) {
    this.limits = Object.freeze({ ...DEFAULT_DAILY_QUOTAS, ...limits });
  }

  /** Checks every limit for `owner`, and books the bytes and stream id only if all pass. */
  tryConsume(owner: string, kind: RelayPayloadKind, bytes: number, streamId: number, now: number): QuotaResult {
    if (kind === 'content' && !this.limits.contentEnabled) {
      return { ok: false, code: 'content-disabled', wireText: QuotaText.CONTENT_DISABLED };
    }
    const u = this.#current(owner, now);
    const newStream = !u.streamIds.has(streamId);
    if (newStream && u.streamIds.size + 1 > this.limits.streamsPerDay) {
      return { ok: false, code: 'streams', wireText: QuotaText.STREAMS };
    }
    if (kind === 'control') {
      if (u.controlBytes + bytes > this.limits.controlBytesPerDay) return { ok: false, code: 'control-bytes', wireText: QuotaText.CONTROL };
      u.controlBytes += bytes;
    } else {
      if (u.contentBytes + bytes > this.limits.contentBytesPerDay) return { ok: false, code: 'content-bytes', wireText: QuotaText.CONTENT };
      u.contentBytes += bytes;
    }
    if (newStream) u.streamIds.add(streamId);
    return { ok: true };
  }

  /** Today's usage for `owner` (a fresh record if none): for tests, metrics and the status API. */
  usage(owner: string, now: number): Readonly<QuotaUsage> {
    const u = this.#usage.get(owner);
    return u && u.day === dayOf(now) ? u : { day: dayOf(now), controlBytes: 0, contentBytes: 0, streamIds: new Set() };
  }

  /** Drops the records of owners that no longer hold a live slot. */
  retainOwners(live: ReadonlySet<string>): void {
    for (const k of this.#usage.keys()) if (!live.has(k)) this.#usage.delete(k);
  }

  get trackedOwners(): number {
    return this.#usage.size;
  }

  #current(owner: string, now: number): QuotaUsage {
    const day = dayOf(now);
    let u = this.#usage.get(owner);
    if (!u || u.day !== day) {
      u = { day, controlBytes: 0, contentBytes: 0, streamIds: new Set() };
      this.#usage.set(owner, u);
    }
    return u;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Throughput caps

/**
 * A byte-rate bucket that may go into debt: `reserve` always books and returns the wait (ms) before the bytes
 * may move, so a large response is never starved, and the bytes released by any time t stay within
 * `burst + rate × (t − t0)`.
 */
export class ByteBucket {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #last: number;

  constructor(bytesPerSecond: number, now: number, burst = bytesPerSecond) {
    this.rate = bytesPerSecond;
    this.burst = Math.max(0, burst);
    this.#tokens = this.burst;
    this.#last = now;
  }

  reserve(n: number, now: number): number {
    this.#refill(now);
    this.#tokens -= Math.max(0, n);
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.rate);
  }

  available(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  #refill(now: number): void {
    if (now <= this.#last) return;
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.rate) / 1000);
    this.#last = now;
  }
}

export interface ThroughputCapInit {
  /** Bytes per second per tunnel; undefined = unlimited. */
  perTunnelBytesPerSecond?: number;
  /** Bytes per second over all tunnels together; undefined = unlimited. */
  globalBytesPerSecond?: number;
}

export class ThroughputCaps {
  readonly #perTunnel: number | undefined;
  readonly #global: ByteBucket | undefined;
  readonly #tunnels = new Map<string, ByteBucket>();

  constructor(init: ThroughputCapInit, now: number) {
    const ok = (v: number | undefined): number | undefined => (v !== undefined && Number.isFinite(v) && v > 0 ? v : undefined);
    this.#perTunnel = ok(init.perTunnelBytesPerSecond);
    const g = ok(init.globalBytesPerSecond);
    this.#global = g === undefined ? undefined : new ByteBucket(g, now);
  }

  get limited(): boolean {
    return this.#perTunnel !== undefined || this.#global !== undefined;
  }

  /** Books `bytes` moved through `tunnel`; returns how long (ms) the tunnel must pause before moving more. */
  reserve(tunnel: string, bytes: number, now: number): number {
    let wait = 0;
    if (this.#perTunnel !== undefined) {
      let b = this.#tunnels.get(tunnel);
      if (!b) this.#tunnels.set(tunnel, (b = new ByteBucket(this.#perTunnel, now)));
      wait = b.reserve(bytes, now);
    }
    if (this.#global) wait = Math.max(wait, this.#global.reserve(bytes, now));
    return wait;
  }

  forget(tunnel: string): void {
    this.#tunnels.delete(tunnel);
  }
}
