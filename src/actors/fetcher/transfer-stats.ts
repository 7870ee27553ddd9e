/**
 * Chunk counters for metrics, batched: one `TransferStats` event (deltas since the last one) at most every
 * `intervalMs`, instead of an event per 256 KiB chunk crossing to the main thread. Counting is two additions;
 * the timer is armed only while there is something to report, so an idle fetcher has no timer.
 */
import type { NodeEvent } from '../../messages/node-events.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';

export class TransferStats {
  readonly #clock: Clock;
  readonly #emit: (e: NodeEvent) => void;
  readonly #intervalMs: number;
  #verifiedChunks = 0;
  #verifiedBytes = 0;
  #rejectedChunks = 0;
  #servedChunks = 0;
  #servedBytes = 0;
  #timer: TimerHandle | undefined;
  #since: number;

  constructor(clock: Clock, emit: (e: NodeEvent) => void, intervalMs = 250) {
    this.#clock = clock;
    this.#emit = emit;
    this.#intervalMs = intervalMs;
    this.#since = clock.now();
  }

  verified(bytes: number): void {
    this.#verifiedChunks++;
    this.#verifiedBytes += bytes;
    this.#arm();
  }

  rejected(): void {
    this.#rejectedChunks++;
    this.#arm();
  }

  served(bytes: number): void {
    this.#servedChunks++;
    this.#servedBytes += bytes;
    this.#arm();
  }

  /** Emits what is pending now (also on stop, so no count is lost). */
  flush(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = this.#clock.now();
    if (this.#verifiedChunks + this.#rejectedChunks + this.#servedChunks === 0) return;
    this.#emit({
      type: 'TransferStats',
      chunksVerified: this.#verifiedChunks,
      bytesVerified: this.#verifiedBytes,
      chunksRejected: this.#rejectedChunks,
      chunksServed: this.#servedChunks,
      bytesServed: this.#servedBytes,
      intervalMs: Math.max(0, Math.round(now - this.#since)),
    });
    this.#verifiedChunks = this.#verifiedBytes = this.#rejectedChunks = this.#servedChunks = this.#servedBytes = 0;
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#since = this.#clock.now();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#intervalMs);
  }
}
