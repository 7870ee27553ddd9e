/**
 * The local DHT value store (PROTOCOL.md §5.4): one value per key, TTL clamped to 1..604,800 s (remote writes
 * first raised to ≥ 86,400 s), 64 KiB values, 100,000 values (expired ones evicted when full, then new keys
 * refused), lookup counters that survive replacement ("popular" at ≥ 5 → replicate to 2K), a per-writer quota,
 * and a merge hook for `community:info:` (§10.4). Pure: `now` (ms) is an argument.
 */
import { toHex } from '../../protocol/bytes.js';
import type { DhtErrorReply, Millis } from './types.js';

export const MAX_VALUE_BYTES = 65_536;
export const DEFAULT_TTL_SECS = 86_400;
export const MAX_TTL_SECS = 604_800;
export const STORE_TTL_FLOOR_SECS = 86_400;
export const MAX_VALUES = 100_000;
export const POPULAR_LOOKUPS = 5;
/** Values one remote identity may be the last writer of (our addition: the reference has no quota). */
export const DEFAULT_PER_PEER_QUOTA = 5_000;

export interface StoredValue {
  key: Uint8Array;
  value: Uint8Array;
  expiresAt: Millis;
  lookups: number;
  /** Identity of the last remote writer ("pubkey:<hex>"), undefined for local writes. */
  writer: string | undefined;
  /** When we last received this value (local or remote write); drives the replication skip rule. */
  storedAt: Millis;
}

export interface PutOptions {
  /** Remote STORE (or a lookup cache fill): raises the TTL to the 24 h floor. */
  remote?: boolean;
  /** Remote writer identity, charged against its quota. */
  writer?: string;
}

export type PutResult = { ok: true; value: StoredValue } | { ok: false; error: DhtErrorReply };

export interface ValueStoreInit {
  maxValues?: number;
  maxValueBytes?: number;
  perPeerQuota?: number;
  /** Combine an existing value with an incoming one for the same key (community:info: merge); undefined = replace. */
  merge?: (key: Uint8Array, existing: Uint8Array, incoming: Uint8Array) => Uint8Array | undefined;
}

export function clampTtlSecs(ttl: number, remote: boolean): number {
  const t = Number.isFinite(ttl) ? Math.floor(ttl) : MAX_TTL_SECS;
  return Math.min(MAX_TTL_SECS, Math.max(remote ? STORE_TTL_FLOOR_SECS : 1, t));
}

/** The ttl_secs a FIND_VALUE answer reports: max(1, expires_at − now) in whole seconds. */
export function remainingTtlSecs(v: StoredValue, now: Millis): number {
  return Math.max(1, Math.floor((v.expiresAt - now) / 1000));
}

const err = (code: DhtErrorReply['code'], wireText: string): { ok: false; error: DhtErrorReply } => ({
  ok: false,
  error: { type: 'error', code, wireText },
});

export class ValueStore {
  private readonly values = new Map<string, StoredValue>();
  private readonly perWriter = new Map<string, number>();
  private readonly maxValues: number;
  private readonly maxValueBytes: number;
  private readonly perPeerQuota: number;
  private readonly merge: ValueStoreInit['merge'];

  constructor(_components: object = {}, init: ValueStoreInit = {}) {
    this.maxValues = init.maxValues ?? MAX_VALUES;
    this.maxValueBytes = init.maxValueBytes ?? MAX_VALUE_BYTES;
    this.perPeerQuota = init.perPeerQuota ?? DEFAULT_PER_PEER_QUOTA;
    this.merge = init.merge;
  }

  get size(): number {
    return this.values.size;
  }

  put(key: Uint8Array, value: Uint8Array, ttlSecs: number, now: Millis, opts: PutOptions = {}): PutResult {
    if (value.length > this.maxValueBytes) return err('TOO_LARGE', 'dht value exceeds 64KiB');
    const hk = toHex(key);
    let existing = this.values.get(hk);
    if (existing && existing.expiresAt <= now) {
      this.delete(hk);
      existing = undefined;
    }
    if (!existing && this.values.size >= this.maxValues) {
      this.purgeExpired(now);
      if (this.values.size >= this.maxValues) return err('STORE_FULL', 'dht store is full');
    }
    const writer = opts.writer;
    if (writer !== undefined && existing?.writer !== writer && (this.perWriter.get(writer) ?? 0) >= this.perPeerQuota) {
      return err('QUOTA', 'dht store quota exceeded');
    }
    let stored = value;
    if (existing && this.merge) {
      const merged = this.merge(key, existing.value, value);
      if (merged !== undefined) stored = merged;
      if (stored.length > this.maxValueBytes) return err('TOO_LARGE', 'dht value exceeds 64KiB');
    }
    const ttl = clampTtlSecs(ttlSecs, opts.remote ?? false);
    const v: StoredValue = {
      key: new Uint8Array(key),
      value: stored,
      expiresAt: now + ttl * 1000,
      lookups: existing?.lookups ?? 0,
      writer,
      storedAt: now,
    };
    if (existing) this.charge(existing.writer, -1);
    this.charge(writer, 1);
    this.values.set(hk, v);
    return { ok: true, value: v };
  }

  /** A live value (counts the lookup), or undefined; an expired value is purged on the way. */
  get(key: Uint8Array, now: Millis, countLookup = true): StoredValue | undefined {
    const hk = toHex(key);
    const v = this.values.get(hk);
    if (!v) return undefined;
    if (v.expiresAt <= now) {
      this.delete(hk);
      return undefined;
    }
    if (countLookup) v.lookups++;
    return v;
  }

  peek(key: Uint8Array, now: Millis): StoredValue | undefined {
    return this.get(key, now, false);
  }

  isPopular(v: StoredValue): boolean {
    return v.lookups >= POPULAR_LOOKUPS;
  }

  /** Extends a live value's expiry to at least now + ttl (republish refresh). */
  refresh(key: Uint8Array, ttlSecs: number, now: Millis): void {
    const v = this.values.get(toHex(key));
    if (v && v.expiresAt > now) v.expiresAt = Math.max(v.expiresAt, now + clampTtlSecs(ttlSecs, false) * 1000);
  }

  delete(hk: string): void {
    const v = this.values.get(hk);
    if (!v) return;
    this.charge(v.writer, -1);
    this.values.delete(hk);
  }

  purgeExpired(now: Millis): number {
    let n = 0;
    for (const [hk, v] of this.values) {
      if (v.expiresAt <= now) {
        this.delete(hk);
        n++;
      }
    }
    return n;
  }

  nextExpiry(): Millis | undefined {
    let min: number | undefined;
    for (const v of this.values.values()) if (min === undefined || v.expiresAt < min) min = v.expiresAt;
    return min;
  }

  live(now: Millis): StoredValue[] {
    return [...this.values.values()].filter((v) => v.expiresAt > now);
  }

  /** Restores a value as persisted (no TTL clamping: expiresAt is absolute). */
  restore(v: StoredValue): void {
    const hk = toHex(v.key);
    this.delete(hk);
    this.values.set(hk, { ...v });
    this.charge(v.writer, 1);
  }

  private charge(writer: string | undefined, d: number): void {
    if (writer === undefined) return;
    const n = (this.perWriter.get(writer) ?? 0) + d;
    if (n <= 0) this.perWriter.delete(writer);
    else this.perWriter.set(writer, n);
  }
}
