/**
 * The whole-node simulator's virtual clock. Unlike `ManualClock.advance`, it never runs timers of two instants
 * back to back: the driver fires what is due at the earliest instant, lets the process go quiet (promises, ports,
 * lmdb commits, hashing threads finish), and only then moves on. `activity` counts every timer set, cleared or
 * fired, so the driver can tell "still working" from "waiting for time".
 */
import type { Clock, TimerHandle } from '../actors/runtime/clock.js';

interface Timer {
  at: number;
  /** Set order: ties at one instant fire in the order they were set. */
  id: number;
  fn: () => void;
}

export class SimClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #heap: Timer[] = [];
  /** Ids of timers still armed (cleared ones stay in the heap and are dropped when they reach the top). */
  readonly #armed = new Set<number>();
  activity = 0;
  /** Timer callbacks that threw (a callback belongs to some node; it must not stop the world). */
  readonly errors: unknown[] = [];

  constructor(startMs: number) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.activity++;
    this.#armed.add(id);
    // Whole milliseconds: a fractional deadline would make the order of instants depend on float rounding.
    this.#push({ at: this.#now + Math.max(0, Math.ceil(Number.isFinite(ms) ? ms : 0)), id, fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: number } | undefined)?.id;
    if (id !== undefined && this.#armed.delete(id)) this.activity++;
  }

  /** The earliest armed deadline, if any. */
  nextAt(): number | undefined {
    while (this.#heap.length > 0 && !this.#armed.has(this.#heap[0]!.id)) this.#pop();
    return this.#heap[0]?.at;
  }

  /**
   * Moves time to the earliest deadline and fires every timer due then, in the order they were set. With nothing
   * due by `limit`, time moves to `limit` (when finite) and nothing fires. Returns how many fired.
   */
  fireNext(limit = Infinity): number {
    const at = this.nextAt();
    if (at === undefined || at > limit) {
      if (Number.isFinite(limit) && limit > this.#now) this.#now = limit;
      return 0;
    }
    if (at > this.#now) this.#now = at;
    let fired = 0;
    while (this.#heap.length > 0 && this.#heap[0]!.at <= this.#now) {
      const t = this.#pop()!;
      if (!this.#armed.delete(t.id)) continue;
      fired++;
      this.activity++;
      try {
        t.fn();
      } catch (err) {
        this.errors.push(err);
      }
    }
    return fired;
  }

  pendingTimers(): number {
    return this.#armed.size;
  }

  #less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.id < b.id);
  }

  #push(t: Timer): void {
    const h = this.#heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): Timer | undefined {
    const h = this.#heap;
    const top = h[0];
    if (!top) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
