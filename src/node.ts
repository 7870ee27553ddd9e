import os from 'node:os';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { systemClock } from './actors/runtime/clock.js';
import { ScpError } from './errors.js';
import { isActorName, type CrashMode } from './messages/actor-name.js';
import type { Subscription, Trust } from './messages/index-mailbox.js';
import type { NodeEvent } from './messages/node-events.js';
import type { NodeIdentity } from './messages/persistence-mailbox.js';
import type { PeerRecord } from './messages/session-mailbox.js';
import type { CallOpts, NodeConfig } from './node-config.js';
import { lockDataDir, type DataDirLock } from './store/data-dir-lock.js';
import { DEFAULT_LIMITS, Supervisor, type ActorHealth } from './supervisor.js';

export type NodeState = 'running' | 'stopping' | 'stopped' | 'failed';

export interface NodeHealth {
  state: NodeState;
  /** Why the node failed (restart intensity exceeded), when it did. */
  failure: string | null;
  actors: ActorHealth[];
}

/** The public embedding API (API.md §1): a node, its actors under supervision, and its event stream. */
export class Node {
  readonly id: { nodeId: string; sharePubkey: string; shareId: string; nodePubkey: string };
  readonly dataDir: string;
  readonly events$: Observable<NodeEvent>;
  readonly debug: { crashActor(name: string, mode: CrashMode, opts?: CallOpts): Promise<void> };
  readonly #sup: Supervisor;
  readonly #lock: DataDirLock;
  #state: NodeState = 'running';
  #stopping: Promise<void> | undefined;
  #addresses: string[] = [];

  private constructor(sup: Supervisor, lock: DataDirLock, identity: NodeIdentity) {
    this.#sup = sup;
    this.#lock = lock;
    this.dataDir = lock.dir;
    this.id = { nodeId: identity.nodeId, sharePubkey: identity.sharePubkey, shareId: identity.shareId, nodePubkey: identity.nodePubkey };
    this.events$ = sup.events$.asObservable();
    this.debug = {
      crashActor: async (name, mode) => {
        if (!isActorName(name)) throw ScpError.badInput(`no actor named "${name}"`);
        if (mode !== 'throw' && mode !== 'exit' && mode !== 'hang') throw ScpError.badInput(`crash mode must be throw, exit or hang`);
        this.#live();
        this.#sup.crash(name, mode);
      },
    };
    sup.onFailed = () => {
      this.#state = 'failed';
      this.#lock.release();
    };
  }

  /** Locks the data directory, starts the six actors (persistence first) and loads or creates the identity. */
  static async start(config: NodeConfig, _opts: CallOpts = {}): Promise<Node> {
    if (!config?.dataDir) throw ScpError.badInput('Node.start needs a dataDir');
    const dataDir = path.resolve(config.dataDir);
    const lock = lockDataDir(dataDir);
    const mode = config.actorMode ?? 'worker';
    if (mode !== 'worker' && mode !== 'inline') {
      lock.release();
      throw ScpError.badInput(`actorMode must be 'worker' or 'inline'`);
    }
    const clock = mode === 'inline' && config.clock ? config.clock : systemClock;
    const sup = new Supervisor({
      dataDir,
      mode,
      clock,
      seed: config.seed ?? (Date.now() >>> 0),
      limits: { ...DEFAULT_LIMITS, ...config.supervision },
      actorConfig: {
        persistence: { keyPassphrase: config.keyPassphrase },
        // Wall time = epoch + the injected clock's reading, so a virtual clock gives virtual dates.
        index: { epochMs: clock === systemClock ? Date.now() - performance.now() : 0, hashThreads: config.hashThreads ?? Math.min(2, os.availableParallelism()) },
        fetcher: { hashThreads: config.hashThreads ?? Math.min(2, os.availableParallelism()) },
        session: { listen: config.listen ?? null, host: config.host ?? '0.0.0.0', bootstrap: config.bootstrap ?? [] },
      },
    });
    try {
      await sup.start();
      const identity = await sup.request('persistence', { type: 'identity' });
      const node = new Node(sup, lock, identity);
      node.#addresses = await sup.request('session', { type: 'addresses' }).catch(() => []);
      return node;
    } catch (err) {
      await sup.stop().catch(() => {});
      lock.release();
      throw err;
    }
  }

  get state(): NodeState {
    return this.#state;
  }

  health(): NodeHealth {
    return { state: this.#state, failure: this.#sup.failedReason ?? null, actors: this.#sup.health() };
  }

  addresses(): string[] {
    return [...this.#addresses];
  }

  async peers(opts: CallOpts = {}): Promise<PeerRecord[]> {
    this.#live();
    return this.#sup.request('session', { type: 'peers' }, opts);
  }

  async subscribe(shareId: string, opts: { sharePubkey?: string; trust?: Trust } & CallOpts = {}): Promise<Subscription> {
    this.#live();
    const { signal, timeoutMs, ...rest } = opts;
    return this.#sup.request('index', { type: 'subscribe', shareId, ...rest }, { signal, timeoutMs });
  }

  async unsubscribe(shareId: string, opts: CallOpts = {}): Promise<{ removed: boolean }> {
    this.#live();
    return this.#sup.request('index', { type: 'unsubscribe', shareId }, opts);
  }

  async listSubscriptions(opts: CallOpts = {}): Promise<Subscription[]> {
    this.#live();
    return this.#sup.request('index', { type: 'listSubscriptions' }, opts);
  }

  /** Graceful and idempotent: actors stopped (persistence last), threads ended, lmdb closed, lock released. */
  stop(_opts: CallOpts = {}): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#state === 'running') this.#state = 'stopping';
      await this.#sup.stop();
      this.#lock.release();
      if (this.#state !== 'failed') this.#state = 'stopped';
    })();
    return this.#stopping;
  }

  #live(): void {
    if (this.#state === 'running') return;
    const why = this.#state === 'failed' ? `the node failed (${this.#sup.failedReason ?? 'unknown'}) and stopped` : 'the node is stopped';
    throw new ScpError('NODE_STOPPED', `${why}; start a new one with Node.start`);
  }
}
