/**
 * Per-peer DHT request limit (PROTOCOL.md §14: 600 FIND_NODE/FIND_VALUE/STORE per 60 s window per remote
 * identity). The session actor applies the total limit; this is the DHT class limit, kept in the core so the
 * simulator exercises it. Memory is bounded: stale windows are dropped when the map grows past maxIdentities.
 */
import type { Millis } from './types.js';

export const DHT_RATE_LIMIT = 600;
export const RATE_WINDOW_MS = 60_000;
export const RATE_LIMIT_TEXT = 'dht request rate limit exceeded';

export class DhtRateLimiter {
  private readonly windows = new Map<string, { start: Millis; n: number }>();

  constructor(
    private readonly limit = DHT_RATE_LIMIT,
    private readonly windowMs = RATE_WINDOW_MS,
    private readonly maxIdentities = 10_000,
  ) {}

  /** Counts one request; false when it exceeds the limit. */
  allow(identity: string, now: Millis): boolean {
    let w = this.windows.get(identity);
    if (!w || now - w.start >= this.windowMs) {
      if (!w && this.windows.size >= this.maxIdentities) this.prune(now);
      w = { start: now, n: 0 };
      this.windows.set(identity, w);
    }
    w.n++;
    return w.n <= this.limit;
  }

  private prune(now: Millis): void {
    for (const [k, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(k);
    // Still full of live windows: forget the oldest half rather than grow without bound.
    if (this.windows.size >= this.maxIdentities) {
      const drop = [...this.windows.entries()].sort((a, b) => a[1].start - b[1].start).slice(0, this.maxIdentities >> 1);
      for (const [k] of drop) this.windows.delete(k);
    }
  }
}
