import { afterEach, describe, expect, it } from 'vitest';
import { linkedPeers } from '../../src/actors/runtime/wiring.js';
import { ACTOR_NAMES, type ActorName, type CrashMode } from '../../src/messages/actor-name.js';
import type { Supervisor } from '../../src/supervisor.js';
import { makeSupervisor, sleep, waitFor, waitRunning } from './helpers/supervisor-harness.js';

const running: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

async function incarnations(sup: Supervisor): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of ACTOR_NAMES) out[n] = (await sup.request(n, { type: 'ping' })).incarnation;
  return out;
}

const SHARE = 'ab'.repeat(32);

describe.each(['worker', 'inline'] as const)('supervision, %s mode', (mode) => {
  it.each(['throw', 'exit', 'hang'] as CrashMode[])(
    'every actor crashed by %s is restarted alone, its callers fail fast, and its state comes back from lmdb',
    async (crashMode) => {
      const { sup, events } = makeSupervisor(mode);
      running.push(sup);
      await sup.start();
      const identity = await sup.request('persistence', { type: 'identity' });
      await sup.request('index', { type: 'subscribe', shareId: SHARE, trust: 'trusted' });

      for (const [i, victim] of ACTOR_NAMES.entries()) {
        const before = await incarnations(sup);
        const restartsBefore = Object.fromEntries(sup.health().map((a) => [a.name, a.restarts]));

        // A caller waiting on the victim from outside, and one waiting on it over a direct channel.
        const waiting = sup.request(victim, { type: 'ping', delayMs: 60_000 }).then(
          () => 'resolved',
          (e: { code?: string }) => e.code,
        );
        const peer = linkedPeers(victim)[0];
        const waitingViaPeer = peer
          ? sup.request(peer, { type: 'ping', via: victim, viaDelayMs: 60_000 }).then(
              () => 'resolved',
              (e: { code?: string }) => e.code,
            )
          : Promise.resolve('ACTOR_UNAVAILABLE');
        await sleep(30);

        sup.crash(victim, crashMode);
        expect(await waiting).toBe('ACTOR_UNAVAILABLE');
        expect(await waitingViaPeer).toBe('ACTOR_UNAVAILABLE');
        await waitRunning(sup, victim, 1);

        const after = await incarnations(sup);
        expect(after[victim]).toBe(before[victim]! + 1);
        for (const other of ACTOR_NAMES.filter((n) => n !== victim)) {
          expect(after[other], `${other} untouched by ${victim}'s crash`).toBe(before[other]);
          expect(sup.health().find((a) => a.name === other)?.restarts).toBe(restartsBefore[other]);
        }
        const h = sup.health().find((a) => a.name === victim)!;
        expect(h.restarts).toBe(1);
        expect(h.lastError).toBeTruthy();
        // Rewired: every linked peer reaches the new incarnation over a fresh direct channel.
        for (const p of linkedPeers(victim)) {
          const pong = await sup.request(p, { type: 'ping', via: victim });
          expect(pong.peer?.incarnation).toBe(after[victim]);
        }
        expect(sup.health().filter((a) => a.state === 'running')).toHaveLength(ACTOR_NAMES.length);
        expect(events.filter((e) => e.type === 'ActorRestarted')).toHaveLength(i + 1);
      }

      // Durable state recovered after every actor (index and persistence included) was restarted.
      const subs = await sup.request('index', { type: 'listSubscriptions' });
      expect(subs.map((s) => [s.shareId, s.trust])).toEqual([[SHARE, 'trusted']]);
      expect(await sup.request('persistence', { type: 'identity' })).toEqual(identity);
      const crashes = events.filter((e) => e.type === 'ActorCrashed');
      expect(crashes.map((e) => (e as { reason: string }).reason)).toEqual(
        ACTOR_NAMES.map(() => (crashMode === 'throw' ? 'error' : crashMode)),
      );
    },
    60_000,
  );

  it('a restart storm exceeds the intensity: the node fails and stops cleanly', async () => {
    const { sup, events } = makeSupervisor(mode, { intensity: 2, periodMs: 60_000 });
    running.push(sup);
    let failed: string | undefined;
    sup.onFailed = (r) => (failed = r);
    await sup.start();
    for (let i = 0; i < 2; i++) {
      sup.crash('dht', 'throw');
      await waitRunning(sup, 'dht', i + 1);
    }
    sup.crash('session', 'exit'); // the third restart within the period, counted across all actors
    await waitFor(() => failed !== undefined, 10_000, 'escalation');
    expect(failed).toMatch(/more than 2 times/);
    const states = Object.fromEntries(sup.health().map((a) => [a.name, a.state]));
    expect(states.session).toBe('failed');
    for (const n of ACTOR_NAMES.filter((x) => x !== 'session')) expect(states[n]).toBe('stopped');
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['ActorFailed', 'NodeFailed', 'NodeStopped']));
    await expect(sup.request('index', { type: 'listSubscriptions' })).rejects.toMatchObject({ code: 'NODE_STOPPED' });
  });
});

describe('supervision details', () => {
  it('requests to a crashed actor fail fast instead of hanging', async () => {
    const { sup } = makeSupervisor('inline');
    running.push(sup);
    await sup.start();
    let during: Promise<unknown> | undefined;
    let t0 = 0;
    sup.events$.subscribe((e) => {
      // Right at the verdict, before the restart: a new caller is told at once, not queued.
      if (e.type === 'ActorCrashed' && !during) {
        t0 = Date.now();
        during = sup.request('fetcher', { type: 'ping' });
        during.catch(() => {});
      }
    });
    sup.crash('fetcher', 'hang');
    await waitFor(() => during !== undefined, 5_000, 'hang verdict');
    await expect(during).rejects.toMatchObject({ code: 'ACTOR_UNAVAILABLE' });
    expect(Date.now() - t0).toBeLessThan(100);
    await waitRunning(sup, 'fetcher', 1);
    expect((await sup.request('fetcher', { type: 'ping' })).incarnation).toBe(2);
  });

  it('a request carries its own timeout and AbortSignal', async () => {
    const { sup } = makeSupervisor('inline');
    running.push(sup);
    await sup.start();
    await expect(sup.request('dht', { type: 'ping', delayMs: 5_000 }, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    const ac = new AbortController();
    const p = sup.request('dht', { type: 'ping', delayMs: 5_000 }, { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('stop is idempotent and later requests say the node is stopped', async () => {
    const { sup, events } = makeSupervisor('worker');
    await sup.start();
    await Promise.all([sup.stop(), sup.stop()]);
    expect(sup.health().every((a) => a.state === 'stopped')).toBe(true);
    expect(events.filter((e) => e.type === 'NodeStopped')).toHaveLength(1);
    await expect(sup.request('dht', { type: 'ping' })).rejects.toMatchObject({ code: 'NODE_STOPPED' });
  });

  it('unknown messages are a BAD_INPUT reply, not a crash', async () => {
    const { sup } = makeSupervisor('inline');
    running.push(sup);
    await sup.start();
    await expect(sup.request('relay' as ActorName, { type: 'nope' } as never)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(sup.stateOf('relay')).toBe('running');
  });
});
