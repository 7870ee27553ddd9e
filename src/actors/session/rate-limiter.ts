/**
 * Per-identity request rate limiting (PROTOCOL.md §14): fixed 60 s windows per remote identity; every request
 * counts toward "total" and its class, and a classified request is refused when total or its class counter
 * exceeds the limit. "other" requests (PEX, HAVE_CONTENT, RELAY_LIST_REQUEST, unknown types) count but the reference
 * never refuses them (`other: Infinity` in DEFAULT_RATE_LIMITS); our node caps them too (NODE_RATE_LIMITS).
 * Pure: `now` (ms, any monotonic origin) is an argument. Memory is bounded by `maxIdentities`.
 */

import { ErrorText, rateLimitText, type RateClass } from '../../protocol/registry.js';
import {
  RATE_LIMIT_CHUNK,
  RATE_LIMIT_DHT,
  RATE_LIMIT_FETCH,
  RATE_LIMIT_RELAY,
  RATE_LIMIT_TOTAL,
  RATE_LIMIT_WINDOW_SECS,
} from '../../protocol/limits.js';

export type { RateClass };
export type LimitedClass = RateClass;

export interface RateLimits {
  windowMs: number;
  total: number;
  dht: number;
  fetch: number;
  relay: number;
  chunk: number;
  /** PEX, HAVE_CONTENT, RELAY_LIST_REQUEST, REACHABILITY_PROBE and unknown types; Infinity = never refused. */
  other: number;
}

export const DEFAULT_RATE_LIMITS: Readonly<RateLimits> = Object.freeze({
  windowMs: RATE_LIMIT_WINDOW_SECS * 1000,
  total: RATE_LIMIT_TOTAL,
  dht: RATE_LIMIT_DHT,
  fetch: RATE_LIMIT_FETCH,
  relay: RATE_LIMIT_RELAY,
  chunk: RATE_LIMIT_CHUNK,
  other: Number.POSITIVE_INFINITY,
});

/**
 * What our node serves by default. The reference's chunk cap (600 GET_CHUNK a minute, and 1,200 requests in
 * all) throttles one peer to ~2.5 MiB/s, so a single seeder could never feed a LAN download; we allow 100x the
 * chunk traffic (~250 MiB/s per peer). The other classes are tighter than the reference where its caps are
 * looser than an honest peer needs: DHT 300 a minute (an iterative lookup asks a given node once or twice;
 * even a busy publisher's STOREs to one neighbour stay far below), and "other" 300 a minute (PEX every few
 * minutes plus follow-ups and offers forwarded while the swarm churns, HAVE_CONTENT, rare relay-list and
 * reachability requests, a few extension probes of unknown type), which the reference never refuses at all. Fetch (240) and relay (180)
 * stay the reference's: subscribers page manifests and community lists in bursts.
 */
export const NODE_RATE_LIMITS: Readonly<RateLimits> = Object.freeze({
  ...DEFAULT_RATE_LIMITS,
  total: 61_200,
  chunk: 60_000,
  dht: 300,
  other: 300,
});

/** The reference's error texts, sent back as the payload of a flags=3 envelope. */
export const RATE_LIMIT_TEXT: Readonly<Record<'total' | LimitedClass, string>> = Object.freeze({
  total: ErrorText.RATE_LIMITED,
  other: ErrorText.RATE_LIMITED,
  dht: rateLimitText('dht'),
  fetch: rateLimitText('fetch'),
  relay: rateLimitText('relay'),
  chunk: rateLimitText('chunk'),
});

export type RateDecision = { ok: true } | { ok: false; exceeded: 'total' | LimitedClass; wireText: string };

export interface RateLimiterInit {
  limits?: Partial<RateLimits>;
  /** Identities tracked at once; the stalest window is evicted beyond this. */
  maxIdentities?: number;
}

interface Window {
  start: number;
  total: number;
  dht: number;
  fetch: number;
  relay: number;
  chunk: number;
  other: number;
}

const OK: RateDecision = Object.freeze({ ok: true });

export class RateLimiter {
  readonly limits: Readonly<RateLimits>;
  readonly #maxIdentities: number;
  /** Insertion order = window start order (a reset re-inserts), so the first entry is the stalest. */
  readonly #windows = new Map<string, Window>();

  constructor(init: RateLimiterInit = {}) {
    this.limits = Object.freeze({ ...DEFAULT_RATE_LIMITS, ...init.limits });
    this.#maxIdentities = init.maxIdentities ?? 10_000;
  }

  /** Counts one request from `identity` and says whether it may be served. */
  check(identity: string, cls: RateClass, now: number): RateDecision {
    let w = this.#windows.get(identity);
    if (w === undefined || now - w.start >= this.limits.windowMs || now < w.start) {
      if (w !== undefined) this.#windows.delete(identity);
      w = { start: now, total: 0, dht: 0, fetch: 0, relay: 0, chunk: 0, other: 0 };
      this.#windows.set(identity, w);
      this.#evict(now);
    }
    w.total++;
    w[cls]++;
    // The reference never refuses "other" requests, not even over the total (its limiter skips unclassified ones).
    if (cls === 'other' && !Number.isFinite(this.limits.other)) return OK;
    if (w.total > this.limits.total) return { ok: false, exceeded: 'total', wireText: RATE_LIMIT_TEXT.total };
    if (w[cls] > this.limits[cls]) return { ok: false, exceeded: cls, wireText: RATE_LIMIT_TEXT[cls] };
    return OK;
  }

  /** Drops windows that have expired (call now and then; `check` also evicts when over capacity). */
  prune(now: number): void {
    for (const [id, w] of this.#windows) {
      if (now - w.start >= this.limits.windowMs || now < w.start) this.#windows.delete(id);
    }
  }

  get trackedIdentities(): number {
    return this.#windows.size;
  }

  #evict(now: number): void {
    if (this.#windows.size <= this.#maxIdentities) return;
    this.prune(now);
    while (this.#windows.size > this.#maxIdentities) {
      const first = this.#windows.keys().next();
      if (first.done) break;
      this.#windows.delete(first.value);
    }
  }
}
