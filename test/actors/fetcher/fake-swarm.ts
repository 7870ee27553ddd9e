/**
 * A fake swarm on a virtual clock for the scheduler: each peer answers GET_CHUNK after its latency with a
 * verified chunk, a corrupt one, an error, or nothing (the fake worker then reports a timeout). The harness
 * plays the worker: it executes effects, feeds replies back, and jumps time to the next event.
 */
import type { ChunkFailureReason, PeerKey, SchedulerEffect, SchedulerInput, SwarmScheduler } from '../../../src/actors/fetcher/swarm-scheduler.js';

export type Reply = 'ok' | 'corrupt' | 'error' | 'stall' | 'not-found';

export interface FakePeer {
  id: PeerKey;
  latencyMs?: number;
  /** What this peer answers to its n-th request (n from 0), for chunk `chunk`. Default: always 'ok'. */
  reply?: Reply | ((chunk: number, n: number) => Reply);
}

export interface SwarmRun {
  outcome: SchedulerEffect | undefined;
  time: number;
  requests: { peer: PeerKey; chunk: number; at: number }[];
  /** Chunks the fake worker wrote (a verified reply for a chunk not yet verified). */
  writes: number[];
  effects: SchedulerEffect[];
  maxChunksInFlight: number;
  maxRequestsInFlight: number;
  /** Requests for a chunk that was already verified when the request was drained (must stay 0). */
  requestsForVerified: number;
}

export interface RunOptions {
  /** The fake worker's per-request timeout (PROTOCOL.md §8.3: 3 s). */
  timeoutMs?: number;
  /** Inputs injected at given virtual times (peers joining or leaving). */
  script?: { at: number; input: SchedulerInput }[];
  maxSteps?: number;
  /** Called after every step (invariant checks). */
  check?: (s: SwarmScheduler) => void;
}

interface Pending {
  at: number;
  seq: number;
  peer: PeerKey;
  chunk: number;
  reply: Reply;
}

export function runSwarm(s: SwarmScheduler, peers: FakePeer[], opts: RunOptions = {}): SwarmRun {
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const byId = new Map(peers.map((p) => [p.id, p]));
  const served = new Map<PeerKey, number>();
  const pending: Pending[] = [];
  const script = [...(opts.script ?? [])].sort((a, b) => a.at - b.at);
  const run: SwarmRun = { outcome: undefined, time: 0, requests: [], writes: [], effects: [], maxChunksInFlight: 0, maxRequestsInFlight: 0, requestsForVerified: 0 };
  let now = 0;
  let seq = 0;

  const drain = (): void => {
    for (let e = s.pollEffect(); e; e = s.pollEffect()) {
      run.effects.push(e);
      if (e.kind === 'request') {
        run.requests.push({ peer: e.peer, chunk: e.chunkIndex, at: now });
        if (s.isVerified(e.chunkIndex)) run.requestsForVerified++;
        const p = byId.get(e.peer);
        const n = served.get(e.peer) ?? 0;
        served.set(e.peer, n + 1);
        const r = p?.reply === undefined ? 'ok' : typeof p.reply === 'function' ? p.reply(e.chunkIndex, n) : p.reply;
        const at = r === 'stall' || !p ? now + timeoutMs : now + (p.latencyMs ?? 10);
        pending.push({ at, seq: seq++, peer: e.peer, chunk: e.chunkIndex, reply: p ? r : 'stall' });
      } else if (e.kind === 'cancel') {
        const k = pending.findIndex((x) => x.peer === e.peer && x.chunk === e.chunkIndex);
        if (k >= 0) pending.splice(k, 1);
      } else if (e.kind === 'done' || e.kind === 'failed') {
        run.outcome = e;
      }
    }
    run.maxChunksInFlight = Math.max(run.maxChunksInFlight, s.chunksInFlight);
    run.maxRequestsInFlight = Math.max(run.maxRequestsInFlight, s.requestsInFlight);
    opts.check?.(s);
  };

  s.start(now);
  drain();
  const maxSteps = opts.maxSteps ?? 1_000_000;
  for (let step = 0; step < maxSteps && !run.outcome; step++) {
    let next = s.nextDeadline();
    for (const p of pending) if (next === undefined || p.at < next) next = p.at;
    const first = script[0];
    if (first && (next === undefined || first.at < next)) next = first.at;
    if (next === undefined) break; // idle: nothing will ever happen again
    now = Math.max(now, next);
    while (script[0] && script[0].at <= now) {
      s.handle((script.shift() as { input: SchedulerInput }).input, now);
      drain();
    }
    pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
    while (pending[0] && pending[0].at <= now && !run.outcome) {
      const d = pending.shift() as Pending;
      if (d.reply === 'ok') {
        if (!s.isVerified(d.chunk)) run.writes.push(d.chunk); // the worker writes only chunks still wanted
        s.handle({ type: 'chunkVerified', peer: d.peer, chunkIndex: d.chunk }, now);
      } else {
        const reason: ChunkFailureReason = d.reply === 'corrupt' ? 'bad-hash' : d.reply === 'stall' ? 'timeout' : d.reply;
        s.handle({ type: 'chunkFailed', peer: d.peer, chunkIndex: d.chunk, reason }, now);
      }
      drain();
    }
    const dl = s.nextDeadline();
    if (dl !== undefined && dl <= now) {
      s.handleTimeout(now);
      drain();
    }
  }
  run.time = now;
  return run;
}
