import os from 'node:os';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { systemClock } from './actors/runtime/clock.js';
import { ScpError } from './errors.js';
import { isActorName, type CrashMode } from './messages/actor-name.js';
import type { DownloadRecord } from './messages/fetcher-mailbox.js';
import type {
  OwnShare,
  PublishRequest,
  PublishResult,
  SearchResult,
  ShareItemView,
  Subscription,
  SyncReport,
  Trust,
  Visibility,
} from './messages/index-mailbox.js';
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
        index: {
          epochMs: clock === systemClock ? Date.now() - performance.now() : 0,
          hashThreads: config.hashThreads ?? Math.min(2, os.availableParallelism()),
          keyPassphrase: config.keyPassphrase,
          syncIntervalMs: config.syncIntervalMs,
        },
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

  /** Dials a peer ("tcp://ip:port", "quic://ip:port", optionally "@<pubkey hex>") and waits for the handshake. */
  async connect(addr: string, opts: CallOpts = {}): Promise<PeerRecord> {
    this.#live();
    return this.#sup.request('session', { type: 'connect', addr, timeoutMs: opts.timeoutMs }, opts);
  }

  /** Node id, addresses, peer count and actor health in one call (the CLI's `status`). */
  async status(opts: CallOpts = {}): Promise<{ id: Node['id']; addresses: string[]; peers: number; health: NodeHealth }> {
    const peers = await this.peers(opts).catch(() => []);
    return { id: this.id, addresses: this.addresses(), peers: peers.filter((p) => p.connected).length, health: this.health() };
  }

  // ---------------------------------------------------------------- publishing

  async publishText(title: string, text: string, opts: PublishOpts & CallOpts = {}): Promise<PublishResult> {
    return this.#publish({ kind: 'text', title, text, ...pickPublish(opts) }, opts);
  }

  async publishFiles(paths: string[], opts: PublishOpts & { title: string } & CallOpts): Promise<PublishResult> {
    if (!Array.isArray(paths) || paths.length === 0) throw ScpError.badInput('publishFiles needs at least one path');
    return this.#publish({ kind: 'files', paths: paths.map((p) => path.resolve(p)), title: opts?.title, ...pickPublish(opts) }, opts);
  }

  async publishFolder(dir: string, opts: PublishOpts & { title: string } & CallOpts): Promise<PublishResult> {
    if (typeof dir !== 'string' || !dir) throw ScpError.badInput('publishFolder needs a folder path');
    return this.#publish({ kind: 'folder', dir: path.resolve(dir), title: opts?.title, ...pickPublish(opts) }, opts);
  }

  async #publish(req: PublishRequest, opts: CallOpts): Promise<PublishResult> {
    this.#live();
    if (typeof req.title !== 'string' || !req.title.trim()) throw ScpError.badInput('a share needs a title (opts.title)');
    return this.#sup.request('index', { type: 'publish', ...req }, { ...opts, timeoutMs: opts.timeoutMs ?? 0 });
  }

  async listOwnShares(opts: CallOpts = {}): Promise<OwnShare[]> {
    this.#live();
    return this.#sup.request('index', { type: 'listOwnShares' }, opts);
  }

  /** Stops serving and announcing a share of ours. */
  async unpublish(shareId: string, opts: CallOpts = {}): Promise<{ removed: boolean }> {
    this.#live();
    return this.#sup.request('index', { type: 'unpublish', shareId }, opts);
  }

  // ---------------------------------------------------------------- subscriptions, browse, search

  /** ShareHead lookups for every subscription; newer manifests are fetched, verified and indexed. */
  async syncSubscriptions(opts: CallOpts = {}): Promise<SyncReport> {
    this.#live();
    return this.#sup.request('index', { type: 'syncSubscriptions' }, { ...opts, timeoutMs: opts.timeoutMs ?? 120_000 });
  }

  async listShareItems(shareId: string, opts: CallOpts = {}): Promise<ShareItemView[]> {
    this.#live();
    return this.#sup.request('index', { type: 'listShareItems', shareId }, opts);
  }

  /** Local search over subscribed shares only (never the network). */
  async search(query: string, opts: { limit?: number; offset?: number; trust?: Trust[] | 'all'; shareIds?: string[] } & CallOpts = {}): Promise<SearchResult> {
    this.#live();
    const { signal, timeoutMs, ...q } = opts;
    return this.#sup.request('index', { type: 'search', query, ...q }, { signal, timeoutMs });
  }

  // ---------------------------------------------------------------- downloads and seeding

  /** Downloads items of a subscribed share under `targetDir`, rebuilding folder paths safely; resolves when all are verified. */
  async downloadItems(shareId: string, contentIds: string[] | 'all', targetDir: string, opts: CallOpts = {}): Promise<DownloadRecord[]> {
    this.#live();
    const items = await this.#sup.request('index', { type: 'resolveItems', shareId, contentIds }, opts);
    return this.#sup.request('fetcher', { type: 'downloadItems', shareId, items, targetDir: path.resolve(targetDir) }, { ...opts, timeoutMs: opts.timeoutMs ?? 0 });
  }

  async downloadContent(contentId: string, outPath: string, opts: { peers?: string[] } & CallOpts = {}): Promise<DownloadRecord> {
    this.#live();
    const { signal, timeoutMs, peers } = opts;
    return this.#sup.request('fetcher', { type: 'downloadContent', contentId, outPath: path.resolve(outPath), peers }, { signal, timeoutMs: timeoutMs ?? 0 });
  }

  async listDownloads(opts: CallOpts = {}): Promise<DownloadRecord[]> {
    this.#live();
    return this.#sup.request('fetcher', { type: 'listDownloads' }, opts);
  }

  async pauseDownload(id: string, opts: CallOpts = {}): Promise<DownloadRecord> {
    this.#live();
    return this.#sup.request('fetcher', { type: 'pauseDownload', id }, opts);
  }

  async resumeDownload(id: string, opts: CallOpts = {}): Promise<DownloadRecord> {
    this.#live();
    return this.#sup.request('fetcher', { type: 'resumeDownload', id }, opts);
  }

  async cancelDownload(id: string, opts: CallOpts = {}): Promise<DownloadRecord> {
    this.#live();
    return this.#sup.request('fetcher', { type: 'cancelDownload', id }, opts);
  }

  async stopSeeding(contentId: string, opts: CallOpts = {}): Promise<{ stopped: boolean }> {
    this.#live();
    return this.#sup.request('fetcher', { type: 'stopSeeding', contentId }, opts);
  }

  async reannounceSeededContent(opts: CallOpts = {}): Promise<{ announced: number }> {
    this.#live();
    return this.#sup.request('fetcher', { type: 'reannounceSeededContent' }, opts);
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

export interface PublishOpts {
  visibility?: Visibility;
  communities?: string[];
  publisher?: string;
  description?: string;
}

function pickPublish(o: PublishOpts & { title?: string }): PublishOpts {
  const out: PublishOpts = {};
  if (o?.visibility !== undefined) {
    if (o.visibility !== 'private' && o.visibility !== 'public') throw ScpError.badInput(`visibility must be 'private' or 'public'`);
    out.visibility = o.visibility;
  }
  if (o?.communities !== undefined) out.communities = o.communities;
  if (o?.publisher !== undefined) out.publisher = o.publisher;
  if (o?.description !== undefined) out.description = o.description;
  return out;
}
