/**
 * Two cheap defences in front of the per-identity rate limiter (rate-limiter.ts), pure and bounded like it
 * (`now` in ms is an argument, memory capped by `maxEntries`):
 *
 * - `AcceptBudget`: a token bucket per remote IP, charged once per inbound connection before any TLS or SCP2P
 *   handshake is spent on it. Identities are free (a Sybil makes a new one per connection), IPs are not, so this
 *   is what bounds handshake churn, garbage reconnectors and slowloris refills from one host. A connection the
 *   bucket refuses is destroyed at once.
 * - `AbuseGuard`: counts refusals per identity (rate-limit refusals, unknown or response-only types, undecodable
 *   payloads, error answers from the owners such as unknown content) in a fixed window. The first
 *   `maxRefusals` are answered with the reference's error texts, as before; the next one closes the connection
 *   (close code `abuse`) and the identity is refused at handshake (close code `banned`) for `cooldownMs`.
 */

import { TokenBucket } from '../runtime/token-bucket.js';
import type { CloseCode } from './connection-types.js';

/**
 * Accepted connections closed for these cost their IP a second of its accept budget (`AcceptBudget.drain`): an
 * abuse cut, garbage or oversize frames, trickled frames. Time-outs and handshake failures do not (slow links, a
 * peer expecting another key), nor anything on connections we dialed.
 */
export const IP_PENALTY_CODES: ReadonlySet<CloseCode> = new Set<CloseCode>(['abuse', 'oversize-frame', 'bad-envelope', 'truncated-frame', 'unexpected-response', 'frame-timeout', 'overload']);

export interface AcceptBudgetInit {
  /** Connections an IP may open at once (the bucket's size). 0 = the budget is off. */
  burst: number;
  /** Tokens refilled per second. */
  perSec: number;
  /** IPs tracked at once; the stalest bucket is evicted beyond this (an evicted IP starts full again). */
  maxEntries?: number;
}

export class AcceptBudget {
  readonly burst: number;
  readonly perSec: number;
  readonly #max: number;
  /** Insertion order = last charge order (a charge re-inserts), so the first entry is the stalest. */
  readonly #buckets = new Map<string, TokenBucket>();
  #refused = 0;

  constructor(init: AcceptBudgetInit) {
    this.burst = Math.max(0, init.burst);
    this.perSec = Math.max(0, init.perSec);
    this.#max = Math.max(1, init.maxEntries ?? 4_096);
  }

  get enabled(): boolean {
    return this.burst > 0 && Number.isFinite(this.burst) && this.perSec > 0;
  }

  /** Connections refused so far. */
  get refused(): number {
    return this.#refused;
  }

  get trackedIps(): number {
    return this.#buckets.size;
  }

  /** Charges one inbound connection from `ip`; false = refuse it. */
  admit(ip: string, now: number): boolean {
    if (!this.enabled) return true;
    if (this.#bucket(ip, now).tryTake(1, now)) return true;
    this.#refused++;
    return false;
  }

  /**
   * A connection from `ip` broke the rules (abuse cut, garbage, slow frames): its bucket drops to one second's refill
   * below empty, so its next connection waits ~1 s plus one token's refill. A fresh identity is free, an IP is not.
   */
  drain(ip: string, now: number): void {
    if (!this.enabled) return;
    const b = this.#bucket(ip, now);
    b.reserve(Math.max(0, b.available(now)) + this.perSec, now);
  }

  /** Drops buckets that are full again (they hold nothing a fresh bucket would not). */
  prune(now: number): void {
    for (const [ip, b] of this.#buckets) if (b.available(now) >= this.burst) this.#buckets.delete(ip);
  }

  /** The bucket of `ip` (a new one starts full), moved to the fresh end of the eviction order. */
  #bucket(ip: string, now: number): TokenBucket {
    let b = this.#buckets.get(ip);
    if (b === undefined) b = new TokenBucket({ bytesPerSecond: this.perSec, burst: this.burst }, now);
    else this.#buckets.delete(ip);
    this.#buckets.set(ip, b);
    if (this.#buckets.size > this.#max) this.#evict(now);
    return b;
  }

  #evict(now: number): void {
    this.prune(now);
    while (this.#buckets.size > this.#max) {
      const first = this.#buckets.keys().next();
      if (first.done) break;
      this.#buckets.delete(first.value);
    }
  }
}

export interface AbuseGuardInit {
  /** Refusals answered per identity and window; the next one cuts the connection. 0 = never cut. */
  maxRefusals: number;
  windowMs?: number;
  /** How long a cut identity is refused at handshake. */
  cooldownMs?: number;
  maxEntries?: number;
}

export type RefusalVerdict = 'answer' | 'cut';

interface Tally {
  start: number;
  refusals: number;
  bannedUntil: number;
}

export class AbuseGuard {
  readonly maxRefusals: number;
  readonly windowMs: number;
  readonly cooldownMs: number;
  readonly #max: number;
  readonly #tallies = new Map<string, Tally>();
  #cuts = 0;

  constructor(init: AbuseGuardInit) {
    this.maxRefusals = Math.max(0, init.maxRefusals);
    this.windowMs = init.windowMs ?? 60_000;
    this.cooldownMs = init.cooldownMs ?? 60_000;
    this.#max = Math.max(1, init.maxEntries ?? 10_000);
  }

  get enabled(): boolean {
    return this.maxRefusals > 0 && Number.isFinite(this.maxRefusals);
  }

  /** Connections cut so far. */
  get cuts(): number {
    return this.#cuts;
  }

  get trackedIdentities(): number {
    return this.#tallies.size;
  }

  isBanned(identity: string, now: number): boolean {
    const t = this.#tallies.get(identity);
    return t !== undefined && now < t.bannedUntil;
  }

  /** Counts one refusal of `identity`: 'answer' while within the allowance, 'cut' (and banned) beyond it. */
  refused(identity: string, now: number): RefusalVerdict {
    if (!this.enabled) return 'answer';
    let t = this.#tallies.get(identity);
    if (t === undefined || now - t.start >= this.windowMs || now < t.start) {
      if (t !== undefined) this.#tallies.delete(identity);
      t = { start: now, refusals: 0, bannedUntil: t?.bannedUntil ?? 0 };
      this.#tallies.set(identity, t);
      if (this.#tallies.size > this.#max) this.#evict(now);
    }
    if (now < t.bannedUntil) return 'cut';
    t.refusals++;
    if (t.refusals <= this.maxRefusals) return 'answer';
    t.bannedUntil = now + this.cooldownMs;
    this.#cuts++;
    return 'cut';
  }

  prune(now: number): void {
    for (const [id, t] of this.#tallies) {
      if (now >= t.bannedUntil && (now - t.start >= this.windowMs || now < t.start)) this.#tallies.delete(id);
    }
  }

  #evict(now: number): void {
    this.prune(now);
    while (this.#tallies.size > this.#max) {
      const first = this.#tallies.keys().next();
      if (first.done) break;
      this.#tallies.delete(first.value);
    }
  }
}
