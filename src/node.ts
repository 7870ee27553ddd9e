import os from 'node:os';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { systemClock } from './actors/runtime/clock.js';
import { ScpError } from './errors.js';
import { encodeShareLink, formatAddr, type RelayHint } from './share-link.js';
import type { PeerAddr } from './protocol/peer-addr.js';
import { isActorName, type ActorName, type CrashMode } from './messages/actor-name.js';
import type { DownloadRecord } from './messages/fetcher-mailbox.js';
import type { ServeStats } from './messages/session-mailbox.js';
import type {
  CommunityBrowse,
  CommunityInfo,
  CommunityParticipant,
  PublicShareView,
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
import type { RelayStatus } from './messages/relay-mailbox.js';
import type { CallOpts, NodeConfig } from './node-config.js';
import { loadOrCreateToken } from './control/control-file.js';
import { forwardLimits, mergeLimits, UNLIMITED, LIMIT_ACTORS, type NodeLimits, type SetLimitsReport } from './limits.js';
import { componentLogger, createLogger, isLogLevel, logNodeEvent, type Logger } from './log.js';
import type { WebServer } from './web/web-server.js';
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
  #web: { server: WebServer; token: string } | undefined;
  #limits: NodeLimits = UNLIMITED;
  readonly #log: Logger;

  private constructor(sup: Supervisor, lock: DataDirLock, identity: NodeIdentity, log: Logger) {
    this.#sup = sup;
    this.#log = log.child({ nodeId: identity.nodeId.slice(0, 16) });
    sup.logger = this.#log; // actors' own lines carry the node id too
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
      void this.#closeWeb();
    };
    this.events$.subscribe({
      next: (e) => {
        logNodeEvent(this.#log, e);
        // A new relay_via address (firewalled, registered or rotated): put it into our provider records now.
        if (e.type === 'RelayRegistered' && this.#state === 'running') {
          void this.#sup.request('fetcher', { type: 'reannounceSeededContent' }, { timeoutMs: 120_000 }).catch(() => {});
          // Share heads too: published while we knew no DHT peer, they may be nowhere yet.
          void this.#sup.request('index', { type: 'republishShares' }, { timeoutMs: 120_000 }).catch(() => {});
        }
        // a restarted actor starts from its defaults: hand it the live limits again
        if (e.type === 'ActorRestarted' && (LIMIT_ACTORS as readonly string[]).includes(e.actor) && this.#limits !== UNLIMITED) {
          void forwardLimits(this.#limits, (a, l) => this.#sendLimits(a, l), [e.actor]);
        }
      },
      error: () => {},
    });
  }

  /** Locks the data directory, starts the six actors (persistence first) and loads or creates the identity. */
  static async start(config: NodeConfig, _opts: CallOpts = {}): Promise<Node> {
    if (!config?.dataDir) throw ScpError.badInput('Node.start needs a dataDir');
    const dataDir = path.resolve(config.dataDir);
    if (config.logLevel !== undefined && !isLogLevel(config.logLevel)) {
      throw ScpError.badInput(`logLevel must be one of fatal, error, warn, info, debug, trace, silent`);
    }
    const initialLimits = mergeLimits(UNLIMITED, config.limits);
    const log = config.logger ?? createLogger({ level: config.logLevel ?? 'warn' });
    const lock = lockDataDir(dataDir);
    const mode = config.actorMode ?? 'worker';
    if (mode !== 'worker' && mode !== 'inline') {
      lock.release();
      throw ScpError.badInput(`actorMode must be 'worker' or 'inline'`);
    }
    const clock = mode === 'inline' && config.clock ? config.clock : systemClock;
    // Wall time = epoch + the injected clock's reading, so a virtual clock gives virtual dates (every actor alike).
    const epochMs = clock === systemClock ? Date.now() - performance.now() : 0;
    const sup = new Supervisor({
      dataDir,
      mode,
      clock,
      seed: config.seed ?? (Date.now() >>> 0),
      limits: { ...DEFAULT_LIMITS, ...config.supervision },
      logger: log,
      actorConfig: {
        persistence: { keyPassphrase: config.keyPassphrase },
        // Wall time = epoch + the injected clock's reading, so a virtual clock gives virtual dates.
        index: {
          epochMs,
          hashThreads: config.hashThreads ?? Math.min(2, os.availableParallelism()),
          keyPassphrase: config.keyPassphrase,
          syncIntervalMs: config.syncIntervalMs,
        },
        relay: {
          enabled: config.capabilities?.relay === true,
          relayService: config.relayService,
          relayClient: config.relayClient,
          relays: config.relays ?? [],
          firewalled: config.firewalled === true,
          listening: config.listen != null && (typeof config.listen.tcp === 'number' || typeof config.listen.quic === 'number'),
          keyPassphrase: config.keyPassphrase,
          epochMs,
        },
        fetcher: { hashThreads: config.hashThreads ?? Math.min(2, os.availableParallelism()), epochMs, ...config.fetch },
        dht: { keyPassphrase: config.keyPassphrase, epochMs },
        session: {
          listen: config.listen ?? null,
          host: config.host ?? '0.0.0.0',
          outgoingAddress: config.outgoingAddress,
          bootstrap: config.bootstrap ?? [],
          lanDiscovery: config.lanDiscovery ?? false,
          capabilities: config.capabilities,
          transportPolicy: config.transportPolicy,
          keyPassphrase: config.keyPassphrase,
          firewalled: config.firewalled,
          rateLimits: config.rateLimits,
          connectionLimits: config.connectionLimits,
          serveThreads: config.serveThreads,
          epochMs,
          // an object, not cloneable: only inline actors can be handed the simulator's network
          ...(mode === 'inline' && config.transport ? { transport: config.transport } : {}),
        },
      },
    });
    let node: Node | undefined;
    try {
      await sup.start();
      const identity = await sup.request('persistence', { type: 'identity' });
      node = new Node(sup, lock, identity, log);
      node.#addresses = await sup.request('session', { type: 'addresses' }).catch(() => []);
      // A restarted session must come back on the ports that peers, provider records and share links hold: "any
      // free port" (0) is pinned to what it bound (else the actor-fault campaign's seeder vanished after one crash).
      const pinned = pinnedListen(config.listen, node.#addresses);
      if (pinned) sup.updateActorConfig('session', { listen: pinned });
      if (initialLimits !== UNLIMITED) await node.setLimits(initialLimits);
      if (config.web) await node.#startWeb(config.web);
      node.#log.info({ addresses: node.#addresses, web: node.#web?.server.url }, 'node started');
      return node;
    } catch (err) {
      if (node) await node.#closeWeb();
      await sup.stop().catch(() => {});
      lock.release();
      throw err;
    }
  }

  async #startWeb(web: NonNullable<NodeConfig['web']>): Promise<void> {
    if (typeof web !== 'object' || !Number.isInteger(web.port) || web.port < 0 || web.port > 65535) {
      throw ScpError.badInput('web.port must be a port number (0 = any free port)');
    }
    const { startWebServer } = await import('./web/web-server.js');
    const token = loadOrCreateToken(this.dataDir);
    const server = await startWebServer(this as never, { host: web.host ?? '127.0.0.1', port: web.port, token }).catch((err: NodeJS.ErrnoException) => {
      throw err?.code === 'EADDRINUSE' ? new ScpError('CONFLICT', `web port ${web.port} is in use; pick another (or 0 for any free port)`) : err;
    });
    this.#web = { server, token };
    componentLogger(this.#log, 'web').info({ url: server.url }, 'web UI and control endpoint listening');
  }

  async #closeWeb(): Promise<void> {
    const web = this.#web;
    this.#web = undefined;
    await web?.server.close().catch(() => {});
  }

  /** The web UI's address with the access token (`http://host:port/?token=…`); needs `Node.start({ web })`. */
  webUrl(): string {
    if (!this.#web) throw ScpError.badInput('the web UI is off; start the node with Node.start({ web: { port } })');
    return `${this.#web.server.url}/?token=${this.#web.token}`;
  }

  /** The effective bandwidth and concurrency limits (null = unlimited). */
  limits(): NodeLimits {
    return { ...this.#limits };
  }

  /**
   * Changes limits live (a partial record; null lifts a limit) and forwards them to the actors that enforce
   * them. The report says which actors applied them, which do not support limits yet, and which failed.
   */
  async setLimits(patch: Partial<NodeLimits>, _opts: CallOpts = {}): Promise<SetLimitsReport> {
    this.#live();
    const next = mergeLimits(this.#limits, patch);
    this.#limits = next;
    const report = await forwardLimits(next, (a, l) => this.#sendLimits(a, l));
    componentLogger(this.#log, 'limits').info({ limits: next, applied: report.applied.map((x) => x.actor), unsupported: report.unsupported }, 'limits set');
    return report;
  }

  // The enforcing actors declare `setLimits: LimitsMailboxEntry` (src/limits.ts) in their mailbox; until they
  // do, the runtime answers "no message" and forwardLimits reports the actor as unsupported.
  #sendLimits(actor: ActorName, limits: NodeLimits): Promise<{ applied?: (keyof NodeLimits)[] } | undefined> {
    const send = this.#sup.request as unknown as (a: string, body: { type: 'setLimits'; limits: NodeLimits }) => Promise<{ applied?: (keyof NodeLimits)[] } | undefined>;
    return send.call(this.#sup, actor, { type: 'setLimits', limits });
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

  /** Reachability, our relay registration, relay candidates and the relay role's load (API.md "Relays"). */
  async relayStatus(opts: CallOpts = {}): Promise<RelayStatus> {
    this.#live();
    return this.#sup.request('relay', { type: 'status' }, opts);
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
  async status(opts: CallOpts = {}): Promise<{ id: Node['id']; addresses: string[]; peers: number; health: NodeHealth; serve: ServeStats | null }> {
    const [peers, serve] = await Promise.all([
      this.peers(opts).catch(() => []),
      this.#sup.request('session', { type: 'serveStats' }, opts).catch(() => null),
    ]);
    return { id: this.id, addresses: this.addresses(), peers: peers.filter((p) => p.connected).length, health: this.health(), serve };
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

  /**
   * An `scp2p://` link to one of our own shares (docs/SHARE-LINKS.md): share id and pubkey, our direct
   * addresses as bootstrap hints, and for a firewalled node its relay plus tunnel slot. Fails while the node
   * has no address at all (e.g. a firewalled node whose tunnel is not registered yet).
   */
  async shareLink(shareId: string, opts: CallOpts = {}): Promise<string> {
    this.#live();
    const want = String(shareId ?? '').trim().toLowerCase();
    const own = (await this.listOwnShares(opts)).find((s) => s.shareId.toLowerCase() === want);
    if (!own) throw ScpError.notFound(`no share of ours with id ${shareId}`);
    const addrs = await this.#sup.request('session', { type: 'selfAddrs' }, opts);
    const bootstrap: PeerAddr[] = [];
    const relays: RelayHint[] = [];
    for (const a of addrs) {
      if (a.relayVia) {
        bootstrap.push({ ...a.relayVia.relayAddr, relayVia: null });
        relays.push({ relay: { ...a.relayVia.relayAddr, relayVia: null }, slotId: a.relayVia.slotId });
      } else bootstrap.push(a);
    }
    if (bootstrap.length === 0) throw ScpError.unreachable('self', 'this node has no dialable or relayed address yet');
    const uniq = <T,>(xs: T[], key: (x: T) => string): T[] => [...new Map(xs.map((x) => [key(x), x])).values()];
    return encodeShareLink({
      sharePubkey: new Uint8Array(Buffer.from(own.sharePubkey, 'hex')),
      shareId: new Uint8Array(Buffer.from(own.shareId, 'hex')),
      bootstrap: uniq(bootstrap, formatAddr).slice(0, 16),
      relays: uniq(relays, (r) => `${formatAddr(r.relay)}~${r.slotId}`).slice(0, 8),
    });
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

  // ---------------------------------------------------------------- public browse and communities (docs/COMMUNITIES.md)

  /** LIST_PUBLIC_SHARES to connected and LAN peers: their public shares (private ones are never listed). */
  async listPublicSharesFromPeers(opts: { maxPeers?: number } & CallOpts = {}): Promise<PublicShareView[]> {
    this.#live();
    const { signal, timeoutMs, ...q } = opts;
    return this.#sup.request('index', { type: 'listPublicSharesFromPeers', ...q }, { signal, timeoutMs: timeoutMs ?? 60_000 });
  }

  /** A new community key pair (kept as publisher "community:<name>"), joined at once. Hand out both values. */
  async createCommunity(name: string, opts: CallOpts = {}): Promise<{ communityId: string; sharePubkey: string }> {
    this.#live();
    return this.#sup.request('index', { type: 'createCommunity', name }, { ...opts, timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  /** Joins with the community's id and share pubkey (a mismatch is BAD_INPUT); joining again updates the options. */
  async joinCommunity(
    communityId: string,
    sharePubkey: string,
    opts: { name?: string; membershipToken?: string; strict?: boolean } & CallOpts = {},
  ): Promise<CommunityInfo> {
    this.#live();
    const { signal, timeoutMs, ...o } = opts;
    return this.#sup.request('index', { type: 'joinCommunity', communityId, sharePubkey, ...o }, { signal, timeoutMs: timeoutMs ?? 60_000 });
  }

  async leaveCommunity(communityId: string, opts: CallOpts = {}): Promise<{ left: boolean }> {
    this.#live();
    return this.#sup.request('index', { type: 'leaveCommunity', communityId }, { ...opts, timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  async listCommunities(opts: CallOpts = {}): Promise<CommunityInfo[]> {
    this.#live();
    return this.#sup.request('index', { type: 'listCommunities' }, opts);
  }

  async listCommunityParticipants(communityId: string, opts: CallOpts = {}): Promise<CommunityParticipant[]> {
    this.#live();
    return this.#sup.request('index', { type: 'listCommunityParticipants', communityId }, { ...opts, timeoutMs: opts.timeoutMs ?? 120_000 });
  }

  /** Public shares of a joined community's members, page by page; a non-member gets an empty result. */
  async browseCommunityShares(communityId: string, opts: { cursor?: string | null; limit?: number } & CallOpts = {}): Promise<CommunityBrowse> {
    this.#live();
    const { signal, timeoutMs, ...q } = opts ?? {};
    return this.#sup.request('index', { type: 'browseCommunityShares', communityId, ...q }, { signal, timeoutMs: timeoutMs ?? 120_000 });
  }

  /** A membership token (hex CBOR) for a member node, signed with a community key this node created. */
  async issueMembershipToken(communityId: string, memberNodePubkey: string, opts: { ttlSecs?: number } & CallOpts = {}): Promise<{ token: string; expiresAt: bigint }> {
    this.#live();
    const { signal, timeoutMs, ...q } = opts;
    return this.#sup.request('index', { type: 'issueMembershipToken', communityId, memberNodePubkey, ...q }, { signal, timeoutMs });
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
      await this.#closeWeb();
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

/** `listen` with each 0 replaced by the port the session bound (from its addresses); undefined when nothing changes. */
function pinnedListen(listen: NodeConfig['listen'], addresses: string[]): { tcp: number | null; quic: number | null } | undefined {
  if (!listen || (listen.tcp !== 0 && listen.quic !== 0)) return undefined;
  const bound = (scheme: string): number | null => {
    for (const a of addresses) {
      if (!a.startsWith(`${scheme}://`)) continue;
      const port = Number(new URL(a).port);
      if (Number.isInteger(port) && port > 0) return port;
    }
    return null;
  };
  const pin = (want: number | null | undefined, scheme: string): number | null => (want === 0 ? (bound(scheme) ?? 0) : (want ?? null));
  return { tcp: pin(listen.tcp, 'tcp'), quic: pin(listen.quic, 'quic') };
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
