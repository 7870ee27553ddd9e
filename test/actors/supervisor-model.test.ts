import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIRECT_LINKS } from '../../src/actors/runtime/wiring.js';
import { ACTOR_NAMES, type ActorName } from '../../src/messages/actor-name.js';
import type { Supervisor } from '../../src/supervisor.js';
import { makeSupervisor, waitFor, waitRunning } from './helpers/supervisor-harness.js';

/**
 * Model-based test: random sequences of requests and crashes against the real supervisor (inline actors, real
 * lmdb) and a model of what must hold: subscriptions, each actor's incarnation, restart counts, escalation.
 */
const INTENSITY = 3;
const SHARES = ['11', '22', '33'].map((b) => b.repeat(32));

interface Model {
  subs: Set<string>;
  incarnation: Record<ActorName, number>;
  restarts: number;
  failed: boolean;
}
interface Real {
  sup: Supervisor;
}

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

class Subscribe implements fc.AsyncCommand<Model, Real> {
  constructor(readonly share: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const got = await code(r.sup.request('index', { type: 'subscribe', shareId: this.share }));
    if (m.failed) return void expect(got).toBe('NODE_STOPPED');
    expect(got).toBe('ok');
    m.subs.add(this.share);
  }
  toString = () => `subscribe(${this.share.slice(0, 2)})`;
}

class Unsubscribe implements fc.AsyncCommand<Model, Real> {
  constructor(readonly share: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    if (m.failed) return void expect(await code(r.sup.request('index', { type: 'unsubscribe', shareId: this.share }))).toBe('NODE_STOPPED');
    const got = await r.sup.request('index', { type: 'unsubscribe', shareId: this.share });
    expect(got.removed).toBe(m.subs.delete(this.share));
  }
  toString = () => `unsubscribe(${this.share.slice(0, 2)})`;
}

class List implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    if (m.failed) return void expect(await code(r.sup.request('index', { type: 'listSubscriptions' }))).toBe('NODE_STOPPED');
    const got = await r.sup.request('index', { type: 'listSubscriptions' });
    expect(got.map((s) => s.shareId).sort()).toEqual([...m.subs].sort());
  }
  toString = () => 'list';
}

class Ping implements fc.AsyncCommand<Model, Real> {
  constructor(readonly actor: ActorName, readonly via: ActorName | undefined) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const p = r.sup.request(this.actor, this.via ? { type: 'ping', via: this.via } : { type: 'ping' });
    if (m.failed) return void expect(await code(p)).toBe('NODE_STOPPED');
    const pong = await p;
    expect(pong.incarnation).toBe(m.incarnation[this.actor]);
    if (this.via) expect(pong.peer?.incarnation).toBe(m.incarnation[this.via]);
  }
  toString = () => `ping(${this.actor}${this.via ? ` via ${this.via}` : ''})`;
}

class Crash implements fc.AsyncCommand<Model, Real> {
  constructor(readonly actor: ActorName, readonly mode: 'throw' | 'exit') {}
  check = (m: Readonly<Model>) => !m.failed;
  async run(m: Model, r: Real) {
    const before = r.sup.health().find((a) => a.name === this.actor)!.restarts;
    const waiting = code(r.sup.request(this.actor, { type: 'ping', delayMs: 60_000 }));
    await new Promise((res) => setTimeout(res, 5));
    r.sup.crash(this.actor, this.mode);
    expect(await waiting).toBe('ACTOR_UNAVAILABLE');
    m.restarts += 1;
    if (m.restarts > INTENSITY) {
      m.failed = true;
      await waitFor(() => r.sup.failedReason !== undefined && r.sup.health().every((a) => a.state === 'stopped' || a.state === 'failed'), 5_000, 'escalation');
      expect(r.sup.stateOf(this.actor)).toBe('failed');
      return;
    }
    m.incarnation[this.actor] += 1;
    await waitRunning(r.sup, this.actor, before + 1, 5_000);
  }
  toString = () => `crash(${this.actor}, ${this.mode})`;
}

const actor = fc.constantFrom(...ACTOR_NAMES);
const link = fc.constantFrom(...DIRECT_LINKS);
const commands = [
  fc.constantFrom(...SHARES).map((s) => new Subscribe(s)),
  fc.constantFrom(...SHARES).map((s) => new Unsubscribe(s)),
  fc.constant(new List()),
  actor.map((a) => new Ping(a, undefined)),
  link.map(([a, b]) => new Ping(a, b)),
  fc.tuple(actor, fc.constantFrom('throw' as const, 'exit' as const)).map(([a, mode]) => new Crash(a, mode)),
];

describe('supervisor model', () => {
  it('agrees with the model over random request/crash sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 20 }), async (cmds) => {
        const { sup } = makeSupervisor('inline', { intensity: INTENSITY, periodMs: 600_000 });
        await sup.start();
        try {
          const model: Model = {
            subs: new Set(),
            incarnation: Object.fromEntries(ACTOR_NAMES.map((n) => [n, 1])) as Record<ActorName, number>,
            restarts: 0,
            failed: false,
          };
          await fc.asyncModelRun(() => ({ model, real: { sup } }), cmds);
        } finally {
          await sup.stop();
        }
      }),
      { numRuns: 50 },
    );
  }, 120_000);
});
