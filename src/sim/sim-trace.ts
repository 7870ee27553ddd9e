/**
 * The event log of a whole-node simulation, kept as a running SHA-256 (and the last lines, to show where two
 * runs part). Two runs with one seed must give one digest: that is the replay guarantee, tested.
 *
 * Instants are ordered; the events inside one virtual instant are taken as a set (sorted before they enter the
 * digest). Within an instant, independent chains of one node (a manifest being stored, a redial after a timeout)
 * finish in the order real work finishes — lmdb commits and hashing run on real threads — so their relative order
 * is not a fact of the simulation. Seen under CI load: one seed gave "ManifestUpdated, dial" once and "dial,
 * ManifestUpdated" the next time, at the same virtual millisecond, with every later event equal.
 */
import { createHash, type Hash } from 'node:crypto';

export class SimTrace {
  #hash: Hash = createHash('sha256');
  #events = 0;
  #bytes = 0;
  /** The current instant and its events so far (each line with the digest of the bytes it carried, if any). */
  #instant: number | undefined;
  #pending: string[] = [];
  readonly #tail: string[] = [];
  readonly #keepTail: number;
  /** Lines show time since this (the clock's start), so they read as "ms into the run". */
  readonly #origin: number;
  /** Every line, when asked for (a failing replay prints them to diff two runs); instants in canonical order. */
  readonly #lines: string[] | undefined;

  constructor(opts: { keepTail?: number; keepAll?: boolean; origin?: number } = {}) {
    this.#keepTail = opts.keepTail ?? 40;
    this.#origin = opts.origin ?? 0;
    this.#lines = opts.keepAll ? [] : undefined;
  }

  /**
   * One event at virtual time `t` (ms, one clock for every caller); `what` must be built only from simulated
   * facts, never real time.
   */
  record(t: number, what: string): void {
    if (t !== this.#instant) this.#flush();
    this.#instant = t;
    const line = `${t - this.#origin} ${what}`;
    this.#pending.push(line);
    this.#events++;
    this.#tail.push(line);
    if (this.#tail.length > this.#keepTail) this.#tail.shift();
  }

  /** Bytes carried by the event just recorded: the digest covers content, not only its timing. */
  content(bytes: Uint8Array): void {
    const last = this.#pending.length - 1;
    if (last < 0) throw new Error('SimTrace.content: no event to attach the bytes to');
    this.#pending[last] += ` ${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
    this.#bytes += bytes.length;
  }

  get events(): number {
    return this.#events;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Every line so far, each instant's events sorted (undefined unless built with `keepAll`). */
  get lines(): string[] | undefined {
    if (!this.#lines) return undefined;
    return [...this.#lines, ...[...this.#pending].sort()];
  }

  tail(): string[] {
    return [...this.#tail];
  }

  /** Digest so far (the running hash goes on; the current instant is counted as it stands). */
  digest(): string {
    const h = this.#hash.copy();
    for (const line of [...this.#pending].sort()) h.update(`${line}\n`);
    return h.digest('hex');
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#pending.sort();
    for (const line of this.#pending) this.#hash.update(`${line}\n`);
    this.#lines?.push(...this.#pending);
    this.#pending = [];
  }
}
