import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Subject } from 'rxjs';
import { createActor, type Actor } from 'xstate';
import { ScpError } from './errors.js';
import { ACTOR_NAMES, type ActorName, type CrashMode } from './messages/actor-name.js';
import type { ReplyOf, ReqFields } from './messages/mailbox.js';
import type { Mailboxes } from './messages/mailboxes.js';
import type { CrashReason, NodeEvent } from './messages/node-events.js';
import type { Clock, TimerHandle } from './actors/runtime/clock.js';
import { HeartbeatMonitor } from './actors/runtime/heartbeat-monitor.js';
import { spawnIncarnation, type ActorMode, type Incarnation } from './actors/runtime/incarnation.js';
import { lifecycleMachine, type LifecycleState } from './actors/runtime/lifecycle-machine.js';
import { decideRestart } from './actors/runtime/restart-policy.js';
import type { CallOptions } from './actors/runtime/rpc-endpoint.js';
import type { Unwrapped } from './actors/runtime/transfer.js';
import { linkedPeers } from './actors/runtime/wiring.js';
import { isLogLevel, writeActorLog, type Logger } from './log.js';

export interface SupervisionLimits {
  /** More than `intensity` restarts within `periodMs` escalates (the node fails and stops). */
  intensity: number;
  periodMs: number;
  heartbeatIntervalMs: number;
  /** No heartbeat for this long counts as a hang. Generous by default: 2 cores may host many nodes. */
  heartbeatTimeoutMs: number;
  /** An incarnation that is not ready within this long counts as crashed. */
  startTimeoutMs: number;
  /** A graceful stop that takes longer than this ends the thread anyway. */
  stopTimeoutMs: number;
  /** Default per-request timeout when the caller gives none. */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: SupervisionLimits = {
  intensity: 10,
  periodMs: 60_000,
  // One beat a second per actor: a hang is still judged in 5 s, and an idle node costs ~0.8% of a core, not 1.4%
  // (matters to embedders running many nodes, and to the 50-node soak on 2 cores).
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 5_000,
  startTimeoutMs: 20_000,
  stopTimeoutMs: 3_000,
  requestTimeoutMs: 30_000,
};

export interface SupervisorConfig {
  dataDir: string;
  mode: ActorMode;
  clock: Clock;
  seed: number;
  limits: SupervisionLimits;
  /** Per-actor settings handed to each incarnation. */
  actorConfig: Partial<Record<ActorName, Record<string, unknown>>>;
  /** Which actors to run (all six unless a test narrows it). */
  actors?: readonly ActorName[];
  /** The node's logger: actors' `ctx.log` lines are written through it (at its level); none = actors are silent. */
  logger?: Logger;
}

export interface ActorHealth {
  name: ActorName;
  state: LifecycleState;
  restarts: number;
  lastError: string | null;
  /**
   * Requests waiting in or being handled by the actor: the larger of what it reported at its last heartbeat
   * (taken from any port, not answered yet) and the node's own requests to it still unanswered now.
   */
  mailboxDepth: number;
}

interface Slot {
  name: ActorName;
  lifecycle: Actor<typeof lifecycleMachine>;
  incarnation: Incarnation | undefined;
  count: number;
  ready: { resolve(): void; reject(e: ScpError): void } | undefined;
  startTimer: TimerHandle | undefined;
  stopped: (() => void) | undefined;
  /** Reported with the last heartbeat. */
  mailbox: number;
}

/**
 * Spawns the actors, wires their direct channels, watches them (errors, exits, heartbeats), restarts a crashed
 * one alone (one-for-one) within the restart intensity, and escalates past it: the node fails and stops.
 */
export class Supervisor {
  readonly events$ = new Subject<NodeEvent>();
  readonly #cfg: SupervisorConfig;
  readonly #slots = new Map<ActorName, Slot>();
  readonly #monitor: HeartbeatMonitor;
  #restartHistory: number[] = [];
  #tick: TimerHandle | undefined;
  #stopping: Promise<void> | undefined;
  #failed: string | undefined;
  /** Where actors' log lines go; the Node swaps in its child with `nodeId` once the identity is known. */
  logger: Logger | undefined;
  /** Called once when escalation stops the node (the Node releases the data directory then). */
  onFailed: ((reason: string) => void) | undefined;

  constructor(cfg: SupervisorConfig) {
    this.#cfg = cfg;
    this.logger = cfg.logger;
    this.#monitor = new HeartbeatMonitor({ intervalMs: cfg.limits.heartbeatIntervalMs, timeoutMs: cfg.limits.heartbeatTimeoutMs });
    for (const name of cfg.actors ?? ACTOR_NAMES) {
      const lifecycle = createActor(lifecycleMachine);
      lifecycle.start();
      this.#slots.set(name, { name, lifecycle, incarnation: undefined, count: 0, ready: undefined, startTimer: undefined, stopped: undefined, mailbox: 0 });
    }
  }

  get failedReason(): string | undefined {
    return this.#failed;
  }

  /** Starts persistence first (it opens and migrates the store), then the rest together. */
  async start(): Promise<void> {
    this.#scheduleTick();
    const names = [...this.#slots.keys()];
    const first = names.filter((n) => n === 'persistence');
    const rest = names.filter((n) => n !== 'persistence');
    try {
      for (const n of first) await this.#spawn(n);
      await Promise.all(rest.map((n) => this.#spawn(n)));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  health(): ActorHealth[] {
    return [...this.#slots.values()].map((s) => {
      const snap = s.lifecycle.getSnapshot();
      const mailboxDepth = s.incarnation ? Math.max(s.mailbox, s.incarnation.rpc.pendingCount) : 0;
      return { name: s.name, state: snap.value as LifecycleState, restarts: snap.context.restarts, lastError: snap.context.lastError, mailboxDepth };
    });
  }

  stateOf(name: ActorName): LifecycleState | undefined {
    return this.#slots.get(name)?.lifecycle.getSnapshot().value as LifecycleState | undefined;
  }

  /** A typed request to an actor. Fails fast with ACTOR_UNAVAILABLE when it is not running. */
  request<A extends ActorName, T extends keyof Mailboxes[A] & string>(
    actor: A,
    body: { type: T } & ReqFields<Mailboxes[A][T]>,
    opts: CallOptions = {},
  ): Promise<Unwrapped<ReplyOf<Mailboxes[A], T>>> {
    if (this.#stopping) return Promise.reject(new ScpError('NODE_STOPPED', this.#stoppedMessage()));
    const slot = this.#slots.get(actor);
    if (!slot) return Promise.reject(ScpError.actorUnavailable(actor, 'it is not part of this node'));
    const state = slot.lifecycle.getSnapshot().value as LifecycleState;
    if (state !== 'running' || !slot.incarnation) {
      return Promise.reject(ScpError.actorUnavailable(actor, `it is ${state}`));
    }
    return slot.incarnation.rpc.request(body, { timeoutMs: this.#cfg.limits.requestTimeoutMs, ...opts }) as Promise<never>;
  }

  /** Changes the settings that later incarnations of `actor` start with (the running one keeps its own). */
  updateActorConfig(actor: ActorName, patch: Record<string, unknown>): void {
    this.#cfg.actorConfig[actor] = { ...this.#cfg.actorConfig[actor], ...patch };
  }

  /** Fault injection: tells the actor to throw, exit or hang. */
  crash(actor: ActorName, mode: CrashMode): void {
    const slot = this.#slots.get(actor);
    if (!slot?.incarnation) throw ScpError.actorUnavailable(actor, 'it is not running');
    slot.incarnation.post({ kind: 'crash', mode });
  }

  /** Graceful and idempotent: stop every actor (persistence last), end their threads, clear timers. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async #stopAll(): Promise<void> {
    if (this.#tick !== undefined) this.#cfg.clock.clearTimeout(this.#tick);
    this.#tick = undefined;
    const slots = [...this.#slots.values()];
    const ordered = [slots.filter((s) => s.name !== 'persistence'), slots.filter((s) => s.name === 'persistence')];
    for (const group of ordered) await Promise.all(group.map((s) => this.#stopSlot(s)));
    this.events$.next({ type: 'NodeStopped' });
    this.events$.complete();
  }

  async #stopSlot(slot: Slot): Promise<void> {
    const state = slot.lifecycle.getSnapshot().value as LifecycleState;
    if (slot.startTimer !== undefined) this.#cfg.clock.clearTimeout(slot.startTimer);
    slot.ready?.reject(new ScpError('NODE_STOPPED', this.#stoppedMessage()));
    slot.ready = undefined;
    this.#monitor.forget(slot.name);
    const inc = slot.incarnation;
    if (state === 'failed' || state === 'stopped') {
      await inc?.terminate();
      return;
    }
    slot.lifecycle.send({ type: 'STOP' });
    if (inc && (state === 'running' || state === 'starting' || state === 'restarting')) {
      await new Promise<void>((resolve) => {
        const timer = this.#cfg.clock.setTimeout(resolve, this.#cfg.limits.stopTimeoutMs);
        slot.stopped = () => {
          this.#cfg.clock.clearTimeout(timer);
          resolve();
        };
        inc.post({ kind: 'stop' });
      });
    }
    slot.stopped = undefined;
    await inc?.terminate();
    slot.incarnation = undefined;
    slot.lifecycle.send({ type: 'STOPPED' });
  }

  #stoppedMessage(): string {
    return this.#failed
      ? `the node failed and stopped (${this.#failed}); check the log, then start it again`
      : 'the node is stopped; start it again with Node.start';
  }

  /** Starts one incarnation; resolves when it is ready. */
  #spawn(name: ActorName): Promise<void> {
    const slot = this.#slots.get(name)!;
    slot.count += 1;
    slot.mailbox = 0;
    const incarnationNo = slot.count;
    // Fresh direct channels to every linked peer that is alive; the peer gets its end by control message.
    const peers: Partial<Record<ActorName, MessagePort>> = {};
    for (const peerName of linkedPeers(name)) {
      const peer = this.#slots.get(peerName);
      const ps = peer?.lifecycle.getSnapshot().value;
      if (!peer?.incarnation || !(ps === 'running' || ps === 'starting' || ps === 'restarting')) continue;
      const { port1, port2 } = new MessageChannel();
      peers[peerName] = port1;
      peer.incarnation.post({ kind: 'peer-up', name, port: port2 }, [port2]);
    }
    const isCurrent = (): boolean => slot.count === incarnationNo && !this.#stopping;
    const ready = new Promise<void>((resolve, reject) => {
      slot.ready = { resolve, reject };
    });
    // If spawning throws below, `ready` is never returned, and stop() rejects it later: that must not surface as an
    // unhandled rejection (it ended the embedding process instead of Node.start throwing; found by the fuzz cycles).
    ready.catch(() => {});
    slot.incarnation = spawnIncarnation(
      this.#cfg.mode,
      {
        name,
        incarnation: incarnationNo,
        dataDir: this.#cfg.dataDir,
        heartbeatIntervalMs: this.#cfg.limits.heartbeatIntervalMs,
        seed: this.#cfg.seed,
        config: this.#cfg.actorConfig[name] ?? {},
        ...(this.#cfg.logger && isLogLevel(this.#cfg.logger.level) ? { logLevel: this.#cfg.logger.level } : {}),
      },
      peers,
      {
        onReady: () => {
          if (!isCurrent()) return;
          if (slot.startTimer !== undefined) this.#cfg.clock.clearTimeout(slot.startTimer);
          const wasRestart = slot.lifecycle.getSnapshot().value === 'restarting';
          slot.lifecycle.send({ type: 'READY' });
          this.#monitor.beat(name, this.#cfg.clock.now());
          this.events$.next({ type: 'ActorStarted', actor: name, incarnation: incarnationNo });
          if (wasRestart) this.events$.next({ type: 'ActorRestarted', actor: name, restarts: slot.lifecycle.getSnapshot().context.restarts });
          slot.ready?.resolve();
          slot.ready = undefined;
        },
        onStartFailed: (err) => {
          if (!isCurrent()) return;
          // At first start a clear error (wrong passphrase, data dir trouble) goes to the caller of start().
          if (slot.lifecycle.getSnapshot().value === 'starting' && slot.ready) {
            slot.ready.reject(err);
            slot.ready = undefined;
          }
          this.#onCrash(slot, incarnationNo, 'start-failed', err.message);
        },
        onBeat: (mailbox) => {
          if (!isCurrent()) return;
          slot.mailbox = mailbox;
          this.#monitor.beat(name, this.#cfg.clock.now());
        },
        onEvent: (event) => {
          if (isCurrent()) this.events$.next(event);
        },
        onLog: (record) => {
          // Lines of a replaced incarnation still count: they often say why it went.
          if (this.logger) writeActorLog(this.logger, name, record);
        },
        onStopped: () => slot.stopped?.(),
        onCrash: (reason, error) => this.#onCrash(slot, incarnationNo, reason, error),
      },
      this.#cfg.clock,
    );
    slot.startTimer = this.#cfg.clock.setTimeout(() => {
      if (isCurrent()) this.#onCrash(slot, incarnationNo, 'hang', `not ready within ${this.#cfg.limits.startTimeoutMs} ms`);
    }, this.#cfg.limits.startTimeoutMs);
    return ready;
  }

  #onCrash(slot: Slot, incarnationNo: number, reason: CrashReason, error: string): void {
    if (slot.count !== incarnationNo || this.#stopping) return;
    const state = slot.lifecycle.getSnapshot().value as LifecycleState;
    if (state !== 'running' && state !== 'starting' && state !== 'restarting') return;
    const wasStarting = state === 'starting';
    if (slot.startTimer !== undefined) this.#cfg.clock.clearTimeout(slot.startTimer);
    this.#monitor.forget(slot.name);
    slot.lifecycle.send({ type: 'CRASH', reason, error });
    this.events$.next({ type: 'ActorCrashed', actor: slot.name, reason, error });
    const dead = slot.incarnation;
    slot.incarnation = undefined;
    dead?.rpc.failPending(ScpError.actorUnavailable(slot.name, `it crashed (${reason}: ${error})`));
    void dead?.terminate();
    for (const peerName of linkedPeers(slot.name)) this.#slots.get(peerName)?.incarnation?.post({ kind: 'peer-down', name: slot.name });

    if (wasStarting && slot.ready) {
      // The node's own start is still waiting on this actor: no restarts before the node has come up once.
      slot.ready.reject(ScpError.actorUnavailable(slot.name, `it failed to start (${reason}: ${error})`));
      slot.ready = undefined;
      slot.lifecycle.send({ type: 'GIVE_UP' });
      return;
    }
    const decision = decideRestart(this.#restartHistory, this.#cfg.clock.now(), this.#cfg.limits);
    this.#restartHistory = decision.history;
    if (!decision.restart) {
      slot.lifecycle.send({ type: 'GIVE_UP' });
      this.#escalate(slot.name, `${slot.name} crashed more than ${this.#cfg.limits.intensity} times in ${this.#cfg.limits.periodMs} ms (last: ${reason}: ${error})`);
      return;
    }
    slot.lifecycle.send({ type: 'RESTART' });
    // A failed restart is itself a crash and is counted by the next call here.
    this.#spawn(slot.name).catch(() => {});
  }

  #escalate(actor: ActorName, reason: string): void {
    if (this.#failed) return;
    this.#failed = reason;
    this.events$.next({ type: 'ActorFailed', actor, error: reason });
    this.events$.next({ type: 'NodeFailed', reason });
    void this.stop().then(() => this.onFailed?.(reason));
  }

  #scheduleTick(): void {
    this.#tick = this.#cfg.clock.setTimeout(() => {
      if (this.#stopping) return;
      for (const name of this.#monitor.tick(this.#cfg.clock.now())) {
        const slot = this.#slots.get(name as ActorName);
        if (slot) this.#onCrash(slot, slot.count, 'hang', `no heartbeat for ${this.#cfg.limits.heartbeatTimeoutMs} ms`);
      }
      this.#scheduleTick();
    }, this.#cfg.limits.heartbeatIntervalMs);
  }
}
