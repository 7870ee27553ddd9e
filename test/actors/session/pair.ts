/**
 * Two connection cores back to back in memory on a virtual clock (quinn's `Pair`): transmits of one side are
 * delivered as bytes to the other, effects are collected per side, and a `close` effect ends the stream
 * (eof to the peer when graceful, a transport error otherwise).
 */
import { createRandom } from '../../../src/actors/runtime/random.js';
import { ConnectionCore, type ConnectionComponents, type ConnectionEffect, type ConnectionInit } from '../../../src/actors/session/connection-core.js';
import { publicKeyFromSeed } from '../../../src/protocol/keys.js';
import { NO_CAPABILITIES } from '../../../src/protocol/peer-addr.js';

export const T0 = 1_700_000_000_000;

export function seededBytes(seed: number): (n: number) => Uint8Array {
  const r = createRandom(seed);
  return (n) => Uint8Array.from({ length: n }, () => r.int(256));
}

export function seed(n: number): Uint8Array {
  return new Uint8Array(32).fill(n);
}

export interface Side {
  core: ConnectionCore;
  effects: ConnectionEffect[];
  closed: boolean;
  /** Every chunk it wrote, in order. */
  wire: Uint8Array[];
}

export interface PairOptions {
  a?: Partial<ConnectionInit>;
  b?: Partial<ConnectionInit>;
  aComponents?: Partial<ConnectionComponents>;
  bComponents?: Partial<ConnectionComponents>;
  /** B's clock offset (ms), to test skew. */
  bSkewMs?: number;
  /** Deliver bytes to the peer (false to inspect or tamper first). */
  autoDeliver?: boolean;
}

export class Pair {
  now = T0;
  readonly a: Side;
  readonly b: Side;
  readonly bSkewMs: number;

  constructor(opts: PairOptions = {}) {
    this.bSkewMs = opts.bSkewMs ?? 0;
    const mk = (init: Partial<ConnectionInit>, comps: Partial<ConnectionComponents>, role: 'initiator' | 'responder', n: number): Side => ({
      core: new ConnectionCore(
        { randomBytes: seededBytes(n * 7 + 1), ...comps },
        { role, nodeSeed: seed(n), capabilities: { ...NO_CAPABILITIES, dht: role === 'responder' }, ...init },
      ),
      effects: [],
      closed: false,
      wire: [],
    });
    this.a = mk(opts.a ?? {}, opts.aComponents ?? {}, 'initiator', 1);
    this.b = mk(opts.b ?? {}, opts.bComponents ?? {}, 'responder', 2);
  }

  static pubkey(n: number): Uint8Array {
    return publicKeyFromSeed(seed(n));
  }

  nowOf(s: Side): number {
    return s === this.b ? this.now + this.bSkewMs : this.now;
  }

  peer(s: Side): Side {
    return s === this.a ? this.b : this.a;
  }

  start(): this {
    this.b.core.start(this.nowOf(this.b));
    this.a.core.start(this.nowOf(this.a));
    this.drive();
    return this;
  }

  /** Moves bytes and effects until nothing changes. */
  drive(maxSteps = 10_000): void {
    for (let step = 0; step < maxSteps; step++) {
      let moved = false;
      for (const s of [this.a, this.b]) {
        for (let t = s.core.pollTransmit(); t !== undefined; t = s.core.pollTransmit()) {
          moved = true;
          s.wire.push(t);
          const p = this.peer(s);
          if (!p.closed) p.core.handle({ kind: 'bytes', data: t }, this.nowOf(p));
        }
        for (let e = s.core.pollEffect(); e !== undefined; e = s.core.pollEffect()) {
          moved = true;
          s.effects.push(e);
          if (e.kind === 'close') {
            s.closed = true;
            const p = this.peer(s);
            if (!p.closed) p.core.handle(e.reason.graceful ? { kind: 'eof' } : { kind: 'transport-error', message: 'reset by peer' }, this.nowOf(p));
          }
        }
      }
      if (!moved) return;
    }
    throw new Error('pair did not settle');
  }

  /** Advances the virtual clock by `ms` in jumps to each deadline, as a real timer would fire. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (let i = 0; i < 10_000; i++) {
      const ds = [this.a, this.b]
        .map((s) => {
          const d = s.core.nextDeadline();
          return d === undefined ? undefined : d - (s === this.b ? this.bSkewMs : 0);
        })
        .filter((d): d is number => d !== undefined && d <= target);
      if (ds.length === 0) break;
      this.now = Math.max(this.now, Math.min(...ds));
      this.a.core.handleTimeout(this.nowOf(this.a));
      this.b.core.handleTimeout(this.nowOf(this.b));
      this.drive();
    }
    this.now = target;
    this.a.core.handleTimeout(this.nowOf(this.a));
    this.b.core.handleTimeout(this.nowOf(this.b));
    this.drive();
  }

  take<K extends ConnectionEffect['kind']>(s: Side, kind: K): Extract<ConnectionEffect, { kind: K }>[] {
    const out = s.effects.filter((e): e is Extract<ConnectionEffect, { kind: K }> => e.kind === kind);
    s.effects = s.effects.filter((e) => e.kind !== kind);
    return out;
  }
}
