/**
 * Time is injected: actors, the supervisor and heartbeats read it only through a Clock, so the same code runs
 * on the wall clock in production and on a virtual clock in the deterministic simulator.
 */

export type TimerHandle = { readonly __timer: unique symbol } | object;

export interface Clock {
  /** Milliseconds; monotonic within one clock. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. Timers are unref'd so that a forgotten one never keeps a stopped node's process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** A virtual clock for tests and the simulator: time moves only when told, due timers fire in deadline order. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; seq: number; fn: () => void }>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const seq = ++this.#seq;
    this.#timers.set(seq, { at: this.#now + Math.max(0, ms), seq, fn });
    return { id: seq };
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete((handle as { id: number }).id);
  }

  /** Advances time by `ms`, firing every timer that falls due (including ones those timers set). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: { at: number; seq: number; fn: () => void } | undefined;
      for (const t of this.#timers.values()) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.#timers.delete(next.seq);
      this.#now = next.at;
      next.fn();
    }
    this.#now = target;
  }

  pendingTimers(): number {
    return this.#timers.size;
  }
}

/**
 * Wraps a clock so that every timer it hands out can be cancelled at once (an actor's incarnation ends) and a
 * throw inside a callback is reported instead of escaping (an inline actor must not take the process down).
 */
export class TrackedClock implements Clock {
  readonly #base: Clock;
  readonly #onError: (err: unknown) => void;
  readonly #live = new Set<TimerHandle>();
  #disposed = false;

  constructor(base: Clock, onError: (err: unknown) => void) {
    this.#base = base;
    this.#onError = onError;
  }

  now(): number {
    return this.#base.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    if (this.#disposed) return {};
    const h: TimerHandle = this.#base.setTimeout(() => {
      this.#live.delete(h);
      if (this.#disposed) return;
      try {
        fn();
      } catch (err) {
        this.#onError(err);
      }
    }, ms);
    this.#live.add(h);
    return h;
  }

  clearTimeout(handle: TimerHandle): void {
    if (this.#live.delete(handle)) this.#base.clearTimeout(handle);
  }

  dispose(): void {
    this.#disposed = true;
    for (const h of this.#live) this.#base.clearTimeout(h);
    this.#live.clear();
  }
}
