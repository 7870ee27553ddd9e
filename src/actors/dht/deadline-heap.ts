/** A min-heap of (deadline, id) with lazy cancellation: the core's request and ping timeouts. */
import type { Millis } from './types.js';

export class DeadlineHeap {
  private readonly at: number[] = [];
  private readonly ids: number[] = [];
  private readonly live = new Map<number, Millis>();

  get size(): number {
    return this.live.size;
  }

  push(id: number, deadline: Millis): void {
    this.live.set(id, deadline);
    this.at.push(deadline);
    this.ids.push(id);
    let i = this.at.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.at[p]! <= this.at[i]!) break;
      this.swap(i, p);
      i = p;
    }
  }

  cancel(id: number): void {
    this.live.delete(id);
  }

  /** Earliest live deadline. */
  peek(): Millis | undefined {
    this.dropDead();
    return this.at.length > 0 ? this.at[0] : undefined;
  }

  /** Removes and returns the id of the earliest live deadline if it is ≤ now. */
  popDue(now: Millis): number | undefined {
    this.dropDead();
    if (this.at.length === 0 || this.at[0]! > now) return undefined;
    const id = this.ids[0]!;
    this.popTop();
    this.live.delete(id);
    return id;
  }

  private dropDead(): void {
    while (this.at.length > 0 && this.live.get(this.ids[0]!) !== this.at[0]) this.popTop();
  }

  private popTop(): void {
    const lastAt = this.at.pop()!;
    const lastId = this.ids.pop()!;
    if (this.at.length === 0) return;
    this.at[0] = lastAt;
    this.ids[0] = lastId;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.at.length && this.at[l]! < this.at[m]!) m = l;
      if (r < this.at.length && this.at[r]! < this.at[m]!) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    [this.at[a], this.at[b]] = [this.at[b]!, this.at[a]!];
    [this.ids[a], this.ids[b]] = [this.ids[b]!, this.ids[a]!];
  }
}
