import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../src/actors/runtime/clock.js';
import type { ActorMode } from '../../../src/actors/runtime/incarnation.js';
import type { ActorName } from '../../../src/messages/actor-name.js';
import type { NodeEvent } from '../../../src/messages/node-events.js';
import { DEFAULT_LIMITS, Supervisor, type SupervisionLimits } from '../../../src/supervisor.js';

/** Tight limits so hangs are judged in under a second; generous intensity unless a test wants escalation. */
export const FAST_LIMITS: SupervisionLimits = {
  ...DEFAULT_LIMITS,
  heartbeatIntervalMs: 50,
  heartbeatTimeoutMs: 1_200,
  intensity: 100,
  periodMs: 60_000,
  requestTimeoutMs: 15_000,
  stopTimeoutMs: 2_000,
};

export function tempDir(prefix = 'scp2p-sup-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function makeSupervisor(mode: ActorMode, limits: Partial<SupervisionLimits> = {}, dataDir = tempDir()) {
  const sup = new Supervisor({ dataDir, mode, clock: systemClock, seed: 7, limits: { ...FAST_LIMITS, ...limits }, actorConfig: {} });
  const events: NodeEvent[] = [];
  sup.events$.subscribe((e) => events.push(e));
  return { sup, events, dataDir };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until the actor is running with at least `restarts` restarts (or the deadline passes). */
export async function waitRunning(sup: Supervisor, name: ActorName, restarts: number, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const h = sup.health().find((a) => a.name === name);
    if (h && h.state === 'running' && h.restarts >= restarts) return;
    if (Date.now() > deadline) throw new Error(`${name} not running with ${restarts} restarts within ${withinMs} ms: ${JSON.stringify(h)}`);
    await sleep(10);
  }
}

export async function waitFor(cond: () => boolean, withinMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${withinMs} ms`);
    await sleep(10);
  }
}
