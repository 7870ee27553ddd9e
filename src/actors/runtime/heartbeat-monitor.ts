/**
 * Decides "hung" from missed heartbeats without false verdicts on a loaded machine. A beat that is late only
 * because the supervisor's own event loop was stalled (many nodes on 2 cores) is not the actor's fault: when
 * the monitor's own tick comes in late, every actor gets a fresh grace period instead of a verdict.
 */
export interface HeartbeatLimits {
  intervalMs: number;
  /** No beat for this long (with the supervisor itself on time) means the actor is stuck. */
  timeoutMs: number;
}

export class HeartbeatMonitor {
  readonly #limits: HeartbeatLimits;
  readonly #lastBeat = new Map<string, number>();
  #lastTick: number | undefined;

  constructor(limits: HeartbeatLimits) {
    this.#limits = limits;
  }

  beat(name: string, now: number): void {
    this.#lastBeat.set(name, now);
  }

  forget(name: string): void {
    this.#lastBeat.delete(name);
  }

  /** Called every `intervalMs`; returns the actors judged hung. */
  tick(now: number): string[] {
    const last = this.#lastTick;
    this.#lastTick = now;
    if (last !== undefined && now - last > this.#limits.intervalMs * 2) {
      // We were stalled ourselves: beats may be queued unread. Restart every clock from now.
      for (const name of this.#lastBeat.keys()) this.#lastBeat.set(name, now);
      return [];
    }
    const hung: string[] = [];
    for (const [name, at] of this.#lastBeat) if (now - at > this.#limits.timeoutMs) hung.push(name);
    return hung;
  }
}
