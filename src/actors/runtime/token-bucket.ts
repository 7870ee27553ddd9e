/**
 * Token bucket: the optional bandwidth caps of seeding and downloading (bytes per second), and the session's per-IP
 * accept budget (abuse-guard.ts; a token is a connection there). Pure: `now` (ms) is an argument.
 *
 * `reserve(n, now)` always books the bytes and returns how long to wait before sending them; the bucket may
 * go into debt, so a 256 KiB chunk goes through even when `burst` is smaller, and later callers queue behind
 * it in order. Guarantee: the bytes released by any time t (each reservation at now + its wait) never exceed
 * `burst + rate × (t − t0)`, t0 being the bucket's creation time.
 */
import { ScpError } from '../../errors.js';

export interface TokenBucketInit {
  /** Sustained rate, bytes per second (> 0). */
  bytesPerSecond: number;
  /** Bytes that may go out at once after idling. Default: one second's worth. */
  burst?: number;
}

export class TokenBucket {
  readonly bytesPerSecond: number;
  readonly burst: number;
  #tokens: number;
  #last: number;

  constructor(init: TokenBucketInit, now: number) {
    if (!(init.bytesPerSecond > 0) || !Number.isFinite(init.bytesPerSecond)) {
      throw ScpError.badInput(`a bandwidth cap must be a positive number of bytes per second, got ${init.bytesPerSecond}`);
    }
    this.bytesPerSecond = init.bytesPerSecond;
    this.burst = Math.max(0, init.burst ?? init.bytesPerSecond);
    this.#tokens = this.burst;
    this.#last = now;
  }

  /** Tokens now (negative while in debt). */
  available(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  /** Books `n` bytes; returns the wait in ms (0 = send now). */
  reserve(n: number, now: number): number {
    this.#refill(now);
    this.#tokens -= Math.max(0, n);
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.bytesPerSecond);
  }

  /** Takes `n` bytes only if they are there now, without going into debt. */
  tryTake(n: number, now: number): boolean {
    this.#refill(now);
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  #refill(now: number): void {
    if (now <= this.#last) return; // time never runs backwards for the bucket
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.bytesPerSecond) / 1000);
    this.#last = now;
  }
}
