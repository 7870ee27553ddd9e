import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { ScpError } from '../../errors.js';
import type { ActorName } from '../../messages/actor-name.js';
import type { ActorInit, ControlFromActor, ControlToActor } from '../../messages/control.js';
import type { CrashReason, NodeEvent } from '../../messages/node-events.js';
import { actorModules } from '../registry.js';
import type { ActorLogRecord } from './actor-log.js';
import { runActorHost, type ActorHostHandle } from './actor-host.js';
import type { Clock } from './clock.js';
import { compiledUrl } from './compiled-url.js';
import { errorFromWire, RpcEndpoint } from './rpc-endpoint.js';
import { workerExecArgv } from './worker-exec-argv.js';

/**
 * A small young generation for actor threads: chunk buffers are short-lived ArrayBuffers whose memory is only
 * returned when a scavenge finds them dead, so frequent cheap scavenges keep a downloading node's peak RSS down
 * (256 MiB over TLS, downloader peak: 222 MiB with 4 MiB, 259–262 MiB with 8 MiB or V8's default, at the same
 * speed; bench/transfer.bench.mjs).
 */
const WORKER_YOUNG_GENERATION_MB = 4;

export type ActorMode = 'worker' | 'inline';

export interface IncarnationEvents {
  onReady(): void;
  onStartFailed(err: ScpError): void;
  /** `mailbox`: requests the actor reports as taken and not yet answered. */
  onBeat(mailbox: number): void;
  onEvent(event: NodeEvent): void;
  /** A line from the actor's `ctx.log`. */
  onLog?(record: ActorLogRecord): void;
  onStopped(): void;
  /** Fired at most once per incarnation. */
  onCrash(reason: CrashReason, error: string): void;
}

/** One run of an actor, seen from the supervisor: its control endpoint and how to end it. */
export interface Incarnation {
  readonly rpc: RpcEndpoint;
  post(frame: ControlToActor, transfer?: MessagePort[]): void;
  /** Ends it now (after a crash, or when a graceful stop timed out). */
  terminate(): Promise<void>;
}

export function spawnIncarnation(
  mode: ActorMode,
  init: ActorInit,
  peers: Partial<Record<ActorName, MessagePort>>,
  events: IncarnationEvents,
  clock: Clock,
): Incarnation {
  const { port1, port2 } = new MessageChannel();
  let over = false;
  let terminating = false;
  let rpc!: RpcEndpoint;

  const crash = (reason: CrashReason, error: string): void => {
    if (over || terminating) return;
    over = true;
    rpc.failPending(ScpError.actorUnavailable(init.name, `it crashed (${reason}: ${error})`));
    events.onCrash(reason, error);
  };

  rpc = new RpcEndpoint(port1, {
    clock,
    label: init.name,
    onOther: (frame) => {
      const f = frame as ControlFromActor;
      switch (f.kind) {
        case 'ready':
          return events.onReady();
        case 'beat':
          return events.onBeat(f.mailbox ?? 0);
        case 'event':
          return events.onEvent(f.event);
        case 'log':
          return events.onLog?.(f.record);
        case 'stopped':
          return events.onStopped();
        case 'start-failed':
          return events.onStartFailed(errorFromWire(f.error));
        case 'fatal':
          return crash('error', f.error.message);
      }
    },
  });

  const peerPorts = Object.values(peers) as MessagePort[];
  let endRun: () => Promise<void>;

  if (mode === 'worker') {
    const worker = new Worker(compiledUrl('./worker-entry.js', import.meta.url), {
      name: `scp2p-${init.name}`,
      workerData: { init, control: port2, peers },
      transferList: [port2, ...peerPorts],
      execArgv: workerExecArgv(),
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      stdout: false,
      stderr: false,
    });
    worker.on('error', (err) => crash('error', err instanceof Error ? err.message : String(err)));
    worker.on('exit', (code) => crash('exit', `its thread exited with code ${code}`));
    endRun = async () => {
      await worker.terminate();
    };
  } else {
    let host: ActorHostHandle | undefined;
    let ended = false;
    void actorModules[init.name]().then(({ actor }) => {
      if (ended) {
        port2.close();
        for (const p of peerPorts) p.close();
        return;
      }
      host = runActorHost(actor, port2, init, peers, {
        clock,
        inject(m) {
          if (m === 'hang') return host?.goDeaf();
          // Asynchronous, like the real faults: the crash request itself still gets its reply.
          setImmediate(() => crash(m === 'exit' ? 'exit' : 'error', m === 'exit' ? 'its thread exited with code 1' : 'injected crash'));
        },
        onFatal: (err) => crash('error', err instanceof Error ? err.message : String(err)),
      });
    });
    endRun = async () => {
      ended = true;
      host?.dispose();
    };
  }

  return {
    rpc,
    post: (frame, transfer) => rpc.post(frame, transfer),
    async terminate() {
      if (terminating) return;
      terminating = true;
      over = true;
      rpc.close(ScpError.actorUnavailable(init.name, 'it was stopped'));
      await endRun();
    },
  };
}
