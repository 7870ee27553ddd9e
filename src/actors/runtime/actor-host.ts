import { ScpError } from '../../errors.js';
import type { ActorName, CrashMode } from '../../messages/actor-name.js';
import type { ActorInit, ControlFromActor, ControlToActor } from '../../messages/control.js';
import type { Pong } from '../../messages/mailbox.js';
import type { ActorContext, ActorInstance, AnyActorDefinition, PeerDirectory } from './actor-definition.js';
import { createActorLog } from './actor-log.js';
import { TrackedClock, type Clock } from './clock.js';
import type { PortLike } from './port.js';
import { createRandom } from './random.js';
import { errorToWire, RpcEndpoint } from './rpc-endpoint.js';

/** How the place an actor runs in (a worker thread, or the main thread) carries out faults. */
export interface HostEnv {
  clock: Clock;
  /** Make the fault real: in a worker an uncaught throw / process.exit / a busy loop; inline, their stand-ins. */
  inject(mode: CrashMode): void;
  /** An error escaped the actor's code (a timer callback threw). */
  onFatal(err: unknown): void;
}

export interface ActorHostHandle {
  /** Ends this incarnation at once (no graceful stop): timers cleared, ports closed, cleanups run. */
  dispose(): void;
  /** Inline 'hang': the actor stops answering and stops beating, as a stuck thread would. */
  goDeaf(): void;
}

/**
 * Runs one incarnation of an actor on its control port: answers requests (after start), beats, keeps its
 * direct peer channels, and obeys stop/crash. The same code runs in a worker thread and inline.
 */
export function runActorHost(
  def: AnyActorDefinition,
  control: PortLike,
  init: ActorInit,
  initialPeers: Partial<Record<ActorName, PortLike>>,
  env: HostEnv,
): ActorHostHandle {
  const clock = new TrackedClock(env.clock, (err) => env.onFatal(err));
  const peers = new Map<ActorName, RpcEndpoint>();
  const cleanups: (() => void | Promise<void>)[] = [];
  let instance: ActorInstance<ActorName> | undefined;
  let deaf = false;
  let disposed = false;
  // Requests that arrive while the actor is still starting wait here.
  let markStarted!: (ok: boolean) => void;
  const started = new Promise<boolean>((r) => (markStarted = r));

  const dispatch = async (body: { type: string; delayMs?: number; via?: string; viaDelayMs?: number }): Promise<unknown> => {
    if (deaf) return new Promise(() => {});
    if (!(await started)) throw ScpError.actorUnavailable(init.name, 'it failed to start');
    if (body.type === 'ping') return ping(body);
    const handler = (instance?.handlers as Record<string, ((req: unknown) => unknown) | undefined>)[body.type];
    if (!handler) throw ScpError.badInput(`actor "${init.name}" has no message "${body.type}"`);
    return handler(body);
  };

  const ping = async (body: { delayMs?: number; via?: string; viaDelayMs?: number }): Promise<Pong> => {
    if (body.delayMs) await new Promise<void>((r) => clock.setTimeout(r, body.delayMs ?? 0));
    const pong: Pong = { actor: init.name, incarnation: init.incarnation };
    if (body.via) pong.peer = (await directory.request(body.via as ActorName, { type: 'ping', delayMs: body.viaDelayMs })) as Pong;
    return pong;
  };

  const addPeer = (name: ActorName, port: PortLike): void => {
    const old = peers.get(name);
    if (old) {
      old.close(ScpError.actorUnavailable(name, 'its channel was replaced'));
      instance?.peerDown?.(name);
    }
    peers.set(name, new RpcEndpoint(port, { clock, label: name, serve: dispatch }));
  };

  const directory: PeerDirectory = {
    has: (name) => peers.has(name),
    request: ((actor: ActorName, body: { type: string }, opts?: object) => {
      const ep = peers.get(actor);
      if (!ep) return Promise.reject(ScpError.actorUnavailable(actor, `no channel from ${init.name}; it is down or restarting`));
      return ep.request(body, opts);
    }) as PeerDirectory['request'],
  };

  const post = (frame: ControlFromActor): void => rpc.post(frame);

  const onControl = (frame: { kind: string }): void => {
    if (deaf || disposed) return;
    const f = frame as ControlToActor;
    switch (f.kind) {
      case 'peer-up':
        addPeer(f.name, f.port as PortLike);
        break;
      case 'peer-down':
        peers.get(f.name)?.close(ScpError.actorUnavailable(f.name, 'it crashed'));
        peers.delete(f.name);
        instance?.peerDown?.(f.name);
        break;
      case 'crash':
        env.inject(f.mode);
        break;
      case 'stop':
        void stop();
        break;
    }
  };

  const rpc = new RpcEndpoint(control, { clock, label: init.name, serve: dispatch, onOther: onControl });
  for (const [name, port] of Object.entries(initialPeers)) if (port) addPeer(name as ActorName, port);

  const ctx: ActorContext = {
    name: init.name,
    incarnation: init.incarnation,
    dataDir: init.dataDir,
    config: init.config,
    clock,
    random: createRandom(init.seed).fork(`${init.name}:${init.incarnation}`),
    peers: directory,
    log: createActorLog(init.logLevel ?? 'silent', (record) => post({ kind: 'log', record }), { incarnation: init.incarnation }),
    emit: (event) => post({ kind: 'event', event }),
    defer: (fn) => void cleanups.push(fn),
  };

  const beat = (): void => {
    let mailbox = rpc.servingCount;
    for (const ep of peers.values()) mailbox += ep.servingCount;
    post({ kind: 'beat', mailbox });
    clock.setTimeout(beat, init.heartbeatIntervalMs);
  };

  void (async () => {
    try {
      instance = await def.start(ctx as never);
    } catch (err) {
      markStarted(false);
      ctx.log.error({ err }, 'start failed');
      post({ kind: 'start-failed', error: errorToWire(err) });
      return;
    }
    markStarted(true);
    if (disposed) return;
    post({ kind: 'ready' });
    beat();
  })();

  const runCleanups = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // a cleanup that fails must not keep the others from running
      }
    }
  };

  const closeAll = (): void => {
    clock.dispose();
    for (const ep of peers.values()) ep.close(ScpError.actorUnavailable(init.name, 'it stopped'));
    peers.clear();
  };

  const stop = async (): Promise<void> => {
    ctx.log.debug('stopping');
    try {
      await started;
      await instance?.stop?.();
    } catch {
      // stopping anyway
    }
    await runCleanups();
    closeAll();
    post({ kind: 'stopped' });
    rpc.close(ScpError.actorUnavailable(init.name, 'it stopped'));
  };

  return {
    dispose() {
      if (disposed) return;
      disposed = true;
      closeAll();
      rpc.close(ScpError.actorUnavailable(init.name, 'its incarnation ended'));
      void runCleanups();
    },
    goDeaf() {
      deaf = true;
      clock.dispose();
    },
  };
}
