/**
 * The ordered event log of a whole-node simulation, kept as a running SHA-256 (and the last lines, to show
 * where two runs part). Two runs with one seed must give one digest: that is the replay guarantee, tested.
 */
import { createHash, type Hash } from 'node:crypto';

export class SimTrace {
  #hash: Hash = createHash('sha256');
  #events = 0;
  #bytes = 0;
  readonly #tail: string[] = [];
  readonly #keepTail: number;
  /** Every line, when asked for (a failing replay prints them to diff two runs). */
  readonly lines: string[] | undefined;

  constructor(opts: { keepTail?: number; keepAll?: boolean } = {}) {
    this.#keepTail = opts.keepTail ?? 40;
    this.lines = opts.keepAll ? [] : undefined;
  }

  /** One event at virtual time `t` (ms); `what` must be built only from simulated facts, never real time. */
  record(t: number, what: string): void {
    const line = `${t} ${what}`;
    this.#hash.update(line);
    this.#hash.update('\n');
    this.#events++;
    this.#tail.push(line);
    if (this.#tail.length > this.#keepTail) this.#tail.shift();
    this.lines?.push(line);
  }

  /** Bytes that crossed the simulated network: the digest covers content, not only its timing. */
  content(bytes: Uint8Array): void {
    this.#hash.update(bytes);
    this.#bytes += bytes.length;
  }

  get events(): number {
    return this.#events;
  }

  get bytes(): number {
    return this.#bytes;
  }

  tail(): string[] {
    return [...this.#tail];
  }

  /** Digest so far (the running hash goes on). */
  digest(): string {
    return this.#hash.copy().digest('hex');
  }
}
