/**
 * The session actor's state and I/O, around the pure cores: listeners, a pool of authenticated connections
 * keyed by peer identity, dials with the transport policy, request routing both ways, PEX, the peer DB
 * (persisted), bootstrap redial with backoff and LAN discovery. Protocol decisions stay in the cores
 * (connection-core, pex, peer-db, rate-limiter, dispatch); this file wires them to sockets and ports.
 *
 * Pool: every established connection is filed under the remote's pubkey. A request goes to the least-loaded
 * open connection of that identity that may carry our requests (an accepted connection only after the peer
 * spoke PEX, connection-core's "responder requests" rule: ours always do on connect); a second connection is
 * dialed in the background when all are busy. Nothing in the pool is closed for being spare: the core's idle
 * timeout closes a connection nobody uses.
 */
import { ScpError } from '../../errors.js';
import { bytesEqual, toHex } from '../../protocol/bytes.js';
import { NonceTracker } from '../../protocol/handshake.js';
import type { RandomBytes } from '../../protocol/keys.js';
import { publicKeyFromSeed } from '../../protocol/keys.js';
import { nodeIdFromPubkey } from '../../protocol/ids.js';
import { peerAddrKey, type Capabilities, type PeerAddr } from '../../protocol/peer-addr.js';
import { pexOfferCodec, pexRequestCodec, type PexOffer } from '../../protocol/pex.js';
import { ErrorText, MessageType } from '../../protocol/registry.js';
import { decodeEnvelope, encodeEnvelope, isError, errorText } from '../../protocol/envelope.js';
import { relayRegisterCodec, relayRegisteredCodec, relayStreamCodec } from '../../protocol/relay-messages.js';
import { REACHABILITY_MAX_ADDRS, ReachabilityExtMessageType, reachabilityProbeCodec, reachabilityResultCodec } from '../../protocol/reachability-ext.js';
import type { NodeEvent } from '../../messages/node-events.js';
import type { PeerRecord as ApiPeerRecord, RelayPeer, ServeStats, ServeTableUpdate } from '../../messages/session-mailbox.js';
import type { PeerRef, WireReply } from '../../messages/wire.js';
import type { PeerDirectory } from '../runtime/actor-definition.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { ActorLog } from '../runtime/actor-log.js';
import type { Random } from '../runtime/random.js';
import { parseBootstrapPeer } from './bootstrap.js';
import { RelayedPeers } from './relayed-peers.js';
import { ServeThreads, type ServeRequest } from './serve-threads.js';
import { reusePortSupport } from './transport/reuse-port.js';
import { ChunkBufferPool } from '../runtime/chunk-buffer-pool.js';
import { SharedChunkSlab, SLAB_SLOT_BYTES } from '../runtime/shared-chunk-slab.js';
import { BufferRecycler } from '../runtime/buffer-recycler.js';
import { TransferStats } from '../fetcher/transfer-stats.js';
import { getChunkCodec } from '../../protocol/transfer-messages.js';
import { ChunkServer } from './chunk-server.js';
import { DEFAULT_CONNECTION_LIMITS, type CloseReason, type ConnectionLimits, type FrameLoan } from './connection-core.js';
import { AbuseGuard, AcceptBudget, IP_PENALTY_CODES } from './abuse-guard.js';
import { addrUrl, closeListeners, selfPeerAddrs, startListeners, type BoundListeners, type ListenConfig } from './listeners.js';
import { LanSocket } from './lan-socket.js';
import { PeerConnection, type InboundRequest, type PeerConnectionHooks } from './peer-connection.js';
import { PeerDb, type PeerDbSnapshot } from './peer-db.js';
import { answerPexRequest, mergePexOffer, ownOffer, PexScheduler, PEX_MAX_PEERS } from './pex.js';
import { NODE_RATE_LIMITS, RateLimiter, type RateLimits } from './rate-limiter.js';
import { QuicTransport } from './transport/quic-transport.js';
import { TlsTransport } from './transport/tls-transport.js';
import { chooseTransports, ThroughputEstimator, type TransportPreference } from './transport/transport-policy.js';
import type { Connection, Transport, TransportKind } from './transport/transport.js';
import { dialSource } from './transport/dial-source.js';

export interface SessionInit {
  nodeSeed: Uint8Array;
  listen: ListenConfig | null;
  host: string;
  /** NodeConfig.outgoingAddress: where dials leave from (dial-source.ts). */
  outgoingAddress?: string;
  bootstrap: string[];
  lanDiscovery: boolean;
  capabilities: Capabilities;
  transportPolicy: TransportPreference;
  /** Keep dialing known peers until this many identities are connected. */
  targetPeers?: number;
  /** Connections per identity at most (parallel bulk requests). */
  maxConnsPerPeer?: number;
  /** A connection with this many requests in flight counts as busy (a further connection is dialed). */
  busyLoad?: number;
  maxConnections?: number;
  connectionLimits?: Partial<ConnectionLimits>;
  /** Per-identity request limits over NODE_RATE_LIMITS (campaigns raise them). */
  rateLimits?: Partial<RateLimits>;
  maintenanceMs?: number;
  persistMs?: number;
  /** A quick second PEX_REQUEST this long after connect, so peers that arrived meanwhile spread fast. */
  pexFollowUpMs?: number;
  lanPort?: number;
  /** Advertise only the relayed address even when listening. */
  firewalled?: boolean;
  /** A peer reached only through a relay counts as disconnected after this long without an answer. */
  relayedPeerIdleMs?: number;
  /**
   * Event loops accepting TCP connections (default 1: the session's own). More adds serve threads (serve-worker.ts)
   * that answer inbound connections in parallel; ignored with the relay capability (tunnels live in the session).
   */
  serveThreads?: number;
}

export interface PeerDbStore {
  load(): PeerDbSnapshot | undefined;
  save(s: PeerDbSnapshot): Promise<void> | void;
}

export interface SessionComponents {
  clock: Clock;
  random: Random;
  /** Unix milliseconds. */
  now(): number;
  randomBytes: RandomBytes;
  /** Replaces TLS over TCP (the simulator's in-memory network); QUIC stays the real one. */
  transport?: Transport;
  store: PeerDbStore;
  peers: PeerDirectory;
  emit(e: NodeEvent): void;
  log?: ActorLog;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const PEX_TIMEOUT_MS = 10_000;
const DIAL_TIMEOUT_MS = 5_000;
const WIRE_TIMEOUT_MS = 30_000;
const INTERNAL_TEXT = 'internal error';
/**
 * Slots of the shared chunk slab (260 KiB each, touched only when used): a download holds up to 32 requests in
 * flight, 28 chunks ahead of its content digest and the writes under way; beyond the slab answers take the copying
 * path.
 */
const SLAB_SLOTS = 96;
export const DEFAULT_MAX_CONNECTIONS = 1024;

export class SessionManager {
  readonly selfPubkey: Uint8Array;
  readonly selfPubkeyHex: string;
  readonly #c: SessionComponents;
  readonly #init: SessionInit;
  readonly #tls: Transport;
  #quic: Transport | undefined;
  readonly #limiter: RateLimiter;
  /** Per-IP inbound connection budget, charged at accept before the TLS handshake. */
  readonly #acceptBudget: AcceptBudget;
  /** Refusal allowance per identity; cut identities are refused at handshake for a cool-down. */
  readonly #abuse: AbuseGuard;
  #serve: ServeThreads | undefined;
  /**
   * Large frames are assembled in recycled buffers the fetcher hands back (runtime/chunk-buffer-pool.ts); expected
   * chunk answers in the shared slab first (runtime/shared-chunk-slab.ts: made on first use, and the fetcher
   * writes a chunk from it with no copy).
   */
  readonly #framePool = new ChunkBufferPool();
  #slab: SharedChunkSlab | undefined;
  /**
   * Slots lent to the fetcher's current incarnation, by index, and that incarnation's number: when it dies (peerDown)
   * its slots come back here, since it never will hand them back; the thread is gone, so nothing reads them any more.
   */
  readonly #lentToFetcher = new Set<number>();
  #fetcherEpoch = 0;
  readonly #allocFrame = (len: number, chunkAnswer: boolean): Uint8Array =>
    (chunkAnswer ? (this.#slab ??= new SharedChunkSlab(SLAB_SLOTS)).take(len) : undefined) ?? this.#framePool.take(len);
  readonly #frameLoan: FrameLoan = {
    lent: (frame) => this.#slab?.owns(frame) === true,
    giveBack: (frame) => this.#slab?.release(frame),
  };
  /** CHUNK_DATA replies the fetcher moved to us: once the socket has taken one, its buffer goes back. */
  readonly #sentChunks = new WeakSet<ArrayBufferLike>();
  readonly #seedRecycler: BufferRecycler;
  /** GET_CHUNK answered here from the fetcher's serve table, without the hop (chunk-server.ts). */
  readonly #chunks: ChunkServer;
  readonly #servedStats: TransferStats;
  #servedRequests = 0;
  readonly #nonces = { tcp: new NonceTracker(), quic: new NonceTracker() };
  readonly #db: PeerDb;
  readonly #pex: PexScheduler;
  readonly #estimator = new ThroughputEstimator();
  readonly #conns = new Map<number, PeerConnection>();
  readonly #byIdentity = new Map<string, Set<PeerConnection>>();
  /** Dials under way by address, with the identity each expects (hex; undefined = whoever answers). */
  readonly #dialing = new Map<string, { p: Promise<PeerConnection>; expect: string | undefined }>();
  readonly #deferredPex = new Map<number, Array<'offer' | 'request'>>();
  readonly #timers = new Set<TimerHandle>();
  readonly #bootstrap: PeerAddr[] = [];
  #listeners: BoundListeners = { tcp: null, quic: null };
  #selfAddrs: PeerAddr[] = [];
  #selfAddrKeys = new Set<string>();
  #lan: LanSocket | undefined;
  #nextConnId = 1;
  #pexTimer: TimerHandle | undefined;
  #pexArmedAt = Infinity;
  #stopped = false;
  #hooks: PeerConnectionHooks;
  /** Our tunnel with a relay (firewalled side, §9.3); the relay actor chooses the relay (registerTunnel). */
  #tunnel: { pc: PeerConnection; relayAddr: PeerAddr; slotId: bigint } | undefined;
  #relayReqId = 1;
  /** Set by the relay actor when the dial-back check found us unreachable (selfAddrs then advertises the relay only). */
  #judgedFirewalled = false;
  /** Far peers we reach through relays (downloader side). */
  #relayed: RelayedPeers;

  constructor(components: SessionComponents, init: SessionInit) {
    this.#c = components;
    this.#init = init;
    this.selfPubkey = publicKeyFromSeed(init.nodeSeed);
    this.selfPubkeyHex = toHex(this.selfPubkey);
    this.#tls = components.transport ?? new TlsTransport();
    this.#limiter = new RateLimiter({ limits: { ...NODE_RATE_LIMITS, ...init.rateLimits } });
    const cl = { ...DEFAULT_CONNECTION_LIMITS, ...init.connectionLimits };
    this.#acceptBudget = new AcceptBudget({ burst: cl.acceptBurstPerIp, perSec: cl.acceptPerIpPerSec });
    this.#abuse = new AbuseGuard({ maxRefusals: cl.abuseRefusals, cooldownMs: cl.abuseCooldownMs, windowMs: this.#limiter.limits.windowMs });
    this.#db = new PeerDb({ random: components.random });
    this.#pex = new PexScheduler({ random: components.random });
    this.#relayed = new RelayedPeers({ idleMs: init.relayedPeerIdleMs });
    this.#hooks = {
      now: components.now,
      clock: components.clock,
      onEstablished: (pc) => this.#onEstablished(pc),
      onInbound: (pc, req) => this.#onInbound(pc, req),
      onRequestsEnabled: (pc) => this.#flushDeferredPex(pc),
      onClosed: (pc, reason) => this.#onClosed(pc, reason),
      afterWrite: (b) => {
        if (this.#chunks.owns(b)) return () => this.#chunks.giveBack(b);
        if (!this.#sentChunks.has(b.buffer)) return undefined;
        this.#sentChunks.delete(b.buffer);
        return () => this.#seedRecycler.recycle(b);
      },
    };
    this.#servedStats = new TransferStats(components.clock, (e) => this.#c.emit(e));
    this.#chunks = new ChunkServer({ clock: components.clock, served: (n) => this.#servedStats.served(n) });
    this.#seedRecycler = new BufferRecycler((buffers) => {
      if (this.#c.peers.has('fetcher')) this.#c.peers.request('fetcher', { type: 'recycleBuffers', buffers }, { timeoutMs: 5_000, transfer: buffers }).catch(() => undefined);
    }, components.clock);
  }

  // ================================================================== lifecycle

  async start(): Promise<void> {
    const snap = this.#c.store.load();
    if (snap) {
      try {
        this.#db.restore(snap);
      } catch {
        /* a damaged snapshot costs us the peer list, not the start */
      }
    }
    const serveThreads = this.#serveThreadCount();
    this.#listeners = await startListeners(
      this.#init.listen,
      this.#init.host,
      { tcp: this.#tls, quic: () => this.#quicTransport() },
      (conn) => this.#accept(conn),
      { admit: (remote) => this.#admit(remote.host), reusePort: serveThreads > 0 },
    );
    await this.#startServeThreads(serveThreads);
    this.#askServeTable();
    this.#selfAddrs = selfPeerAddrs(this.#listeners, this.#init.host, this.selfPubkey);
    this.#selfAddrKeys = new Set(this.#selfAddrs.map((a) => peerAddrKey(a)));
    const now = this.#c.now();
    for (const s of this.#init.bootstrap) {
      let addr: PeerAddr;
      try {
        addr = parseBootstrapPeer(s);
      } catch {
        continue; // share links and the like are the index's business
      }
      if (this.#selfAddrKeys.has(peerAddrKey(addr))) continue;
      this.#bootstrap.push(addr);
      const r = this.#db.upsert(addr, now, { source: 'bootstrap' });
      r.nextDialAt = 0;
    }
    if (this.#init.lanDiscovery) {
      const instanceId = this.#c.randomBytes(16);
      try {
        this.#lan = await LanSocket.open({
          instanceId,
          // No listener: hear the LAN (relays, peers to dial out to) without announcing anything.
          tcpPort: this.#listeners.tcp?.address.port ?? null,
          capabilities: this.#init.capabilities,
          port: this.#init.lanPort,
          clock: this.#c.clock,
          now: this.#c.now,
          onPeer: (addr, caps) => {
            if (this.#selfAddrKeys.has(peerAddrKey(addr))) return;
            this.#db.upsert(addr, this.#c.now(), { source: 'lan', capabilities: caps });
            this.#kickMaintenance();
          },
        });
      } catch {
        this.#lan = undefined; // port in use by something else: discovery off, the node still runs
      }
    }
    this.#every(this.#init.maintenanceMs ?? 5_000, () => this.#maintain());
    this.#every(this.#init.persistMs ?? 60_000, () => void this.#persist());
    this.#kickMaintenance();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) this.#c.clock.clearTimeout(t);
    this.#timers.clear();
    if (this.#pexTimer !== undefined) this.#c.clock.clearTimeout(this.#pexTimer);
    this.#lan?.close();
    this.#seedRecycler.close();
    this.#servedStats.flush();
    // Serve threads share the listener's descriptor. Our loop closes it first (a clean unregister here; a loop
    // left watching a descriptor another thread closed can abort when it re-arms it), and the threads drop their
    // now-stale handles straight after.
    const listeners = this.#listeners;
    const closing = closeListeners({ tcp: listeners.tcp, quic: null });
    await this.#serve?.stop().catch(() => {});
    const conns = [...this.#conns.values()];
    for (const pc of conns) pc.close();
    const released = Promise.all(conns.map((pc) => pc.conn.closed));
    await Promise.race([released, sleep(3_000)]);
    for (const pc of this.#conns.values()) pc.destroy(ScpError.io('node stopping'));
    await Promise.race([Promise.all(conns.map((pc) => pc.conn.closed)), sleep(2_000)]);
    await closing;
    await listeners.quic?.close({ destroyConnections: true }).catch(() => {});
    await this.#chunks.close();
    await this.#persist();
  }

  /** Crash path (inline actors): drop everything at once. */
  destroy(): void {
    this.#stopped = true;
    for (const t of this.#timers) this.#c.clock.clearTimeout(t);
    if (this.#pexTimer !== undefined) this.#c.clock.clearTimeout(this.#pexTimer);
    this.#lan?.close();
    for (const pc of this.#conns.values()) pc.destroy();
    void this.#chunks.close().catch(() => {});
    void this.#serve?.stop().catch(() => {});
    void this.#listeners.tcp?.close({ destroyConnections: true }).catch(() => {});
    void this.#listeners.quic?.close({ destroyConnections: true }).catch(() => {});
  }

  // ================================================================== mailbox

  addresses(): string[] {
    return this.#selfAddrs.map(addrUrl);
  }

  selfAddrs(): PeerAddr[] {
    // Firewalled (configured, or judged so by the dial-back check): only the relayed address is worth advertising.
    const direct = this.#init.firewalled === true || this.#judgedFirewalled ? [] : this.#selfAddrs.map((a) => ({ ...a }));
    const t = this.#tunnel;
    if (t && t.pc.isOpen) {
      const local = t.pc.conn.localAddress;
      direct.push({
        ip: local.host && !local.host.includes(':') ? local.host : '127.0.0.1',
        port: local.port > 0 ? local.port : 1,
        transport: 'tcp',
        pubkeyHint: this.selfPubkey,
        relayVia: { relayAddr: { ...t.relayAddr, relayVia: null }, slotId: t.slotId },
      });
    }
    return direct;
  }

  /** Relay side (§9.3): sends one request from us over a connection a firewalled peer registered as a tunnel. */
  async tunnelRequest(connId: number, type: number, payload: Uint8Array, timeoutMs?: number): Promise<{ payload: Uint8Array } | { error: string }> {
    this.#live();
    const pc = this.#conns.get(connId);
    if (!pc || !pc.isOpen) throw ScpError.io(`tunnel connection ${connId} is gone`);
    pc.core.allowRequests();
    try {
      return { payload: await pc.request(type, payload, timeoutMs ?? DEFAULT_TIMEOUT_MS) };
    } catch (err) {
      if (err instanceof ScpError && err.code === 'REMOTE') return { error: String((err.details as Record<string, unknown> | undefined)?.text ?? err.message) };
      throw err;
    }
  }

  /**
   * Firewalled side (§9.3 steps 1–3): dials `relay` (a fresh connection of our own, never a pooled one the relay
   * may be using as a downloader), registers a tunnel on it and keeps it as our tunnel. A previous tunnel is closed.
   */
  async registerTunnel(
    relay: PeerAddr,
    timeoutMs?: number,
  ): Promise<{ connId: number; slotId: bigint; expiresAt: bigint; relay: PeerAddr; relayNodeId: string }> {
    this.#live();
    if (relay.relayVia) throw ScpError.badInput('a relay must be reached directly, not through another relay');
    if (relay.pubkeyHint && bytesEqual(relay.pubkeyHint, this.selfPubkey)) throw ScpError.badInput('this node cannot be its own relay');
    const t = timeoutMs ?? 10_000;
    const pc = await this.#dial({ ...relay, relayVia: null }, t);
    let reg;
    try {
      reg = relayRegisteredCodec.decode(await pc.request(MessageType.RELAY_REGISTER, relayRegisterCodec.encode({ relaySlotId: null, tunnel: true }), t));
    } catch (err) {
      pc.close();
      throw err;
    }
    if (this.#stopped || !pc.isOpen) throw ScpError.io('the relay connection closed right after registering');
    pc.core.pinOpen({ rateLimit: false });
    const old = this.#tunnel;
    const withKey: PeerAddr = { ip: relay.ip, port: relay.port, transport: relay.transport, pubkeyHint: pc.pubkey ?? relay.pubkeyHint ?? null, relayVia: null };
    this.#tunnel = { pc, relayAddr: withKey, slotId: reg.relaySlotId };
    if (old && old.pc !== pc) old.pc.close();
    return { connId: pc.id, slotId: reg.relaySlotId, expiresAt: reg.expiresAt, relay: withKey, relayNodeId: pc.nodeId };
  }

  /**
   * Dial-back check, asking side (reachability-ext.ts): up to `maxPeers` connected peers are asked to dial our
   * direct addresses. One verdict per peer asked: 'reachable', 'unreachable', 'unsupported' (a peer without the
   * extension, e.g. the reference) or 'failed' (no answer).
   */
  async probeReachability(maxPeers = 3, timeoutMs = 15_000): Promise<Array<'reachable' | 'unreachable' | 'unsupported' | 'failed'>> {
    this.#live();
    const own = this.#selfAddrs.filter((a) => !a.relayVia);
    if (own.length === 0) return [];
    const asked: PeerConnection[] = [];
    for (const set of this.#byIdentity.values()) {
      const pc = [...set].find((c) => c.isOpen && c.core.canSendRequests && c !== this.#tunnel?.pc);
      if (pc) asked.push(pc);
      if (asked.length >= maxPeers) break;
    }
    return Promise.all(
      asked.map(async (pc) => {
        // Only addresses on the IP family the peer reaches us by are worth its dial.
        const remoteV6 = pc.conn.remoteAddress.host.includes(':');
        const addrs = own.filter((a) => a.ip.includes(':') === remoteV6).slice(0, REACHABILITY_MAX_ADDRS);
        try {
          const out = await pc.request(ReachabilityExtMessageType.REACHABILITY_PROBE, reachabilityProbeCodec.encode({ addrs }), timeoutMs);
          return reachabilityResultCodec.decode(out).reachable ? 'reachable' : 'unreachable';
        } catch (err) {
          if (err instanceof ScpError && err.code === 'REMOTE' && /unknown message type|unsupported/.test(err.message)) return 'unsupported';
          return 'failed';
        }
      }),
    );
  }

  /**
   * Dial-back check, asked side: a fresh connection (never a pooled one) to each of the asker's addresses on its
   * own socket IP, expecting its key; the first completed handshake answers reachable. The probe connection is
   * closed at once.
   */
  async #answerProbe(pc: PeerConnection, addrs: PeerAddr[]): Promise<WireReply> {
    const ip = pc.conn.remoteAddress.host.replace(/^::ffff:/, '');
    const key = pc.pubkey;
    if (!key) return { error: 'reachability probe needs an authenticated peer' };
    for (const a of addrs.slice(0, REACHABILITY_MAX_ADDRS)) {
      if (a.relayVia || a.ip !== ip || this.#stopped) continue;
      const target: PeerAddr = { ip: a.ip, port: a.port, transport: a.transport, pubkeyHint: key };
      let conn: Connection | undefined;
      try {
        conn = await this.#dialAddr(target, DIAL_TIMEOUT_MS);
        const probe = this.#adopt(conn, 'initiator', target);
        try {
          await probe.established;
          return { payload: reachabilityResultCodec.encode({ reachable: true }) };
        } finally {
          probe.close();
        }
      } catch {
        conn?.destroy();
      }
    }
    return { payload: reachabilityResultCodec.encode({ reachable: false }) };
  }

  /** Closes our tunnel `connId` if it is still ours (its close withdraws the relay_via address). */
  closeTunnel(connId: number): void {
    const t = this.#tunnel;
    if (!t || t.pc.id !== connId) return;
    this.#tunnel = undefined;
    t.pc.close();
  }

  /**
   * Closes every pinned (tunnel) connection. A restarted relay actor calls this: its slots and tunnel routes died
   * with the old incarnation, so a tunnel kept open would carry nothing and never be re-registered; closed, each
   * firewalled client sees RelayLost and registers again, and our own client does the same.
   */
  closeAllTunnels(): { closed: number } {
    let closed = 0;
    for (const pc of [...this.#conns.values()]) {
      if (!pc.core.pinned) continue;
      closed++;
      pc.close();
    }
    this.#tunnel = undefined;
    return { closed };
  }

  setReachability(firewalled: boolean): void {
    this.#judgedFirewalled = firewalled;
  }

  connectionOpen(connId: number): boolean {
    return this.#conns.get(connId)?.isOpen === true;
  }

  /** Peers whose capabilities say `relay` (handshake or LAN announcement), with a dialable address. */
  relayPeers(): RelayPeer[] {
    const out = new Map<string, RelayPeer>();
    for (const r of this.#db.all()) {
      if (r.addr.relayVia || !r.capabilities?.relay || r.capabilitiesSeenAt === null) continue;
      const hex = r.addr.pubkeyHint ? toHex(r.addr.pubkeyHint) : `addr:${r.key}`;
      if (hex === this.selfPubkeyHex || this.#selfAddrKeys.has(r.key)) continue;
      const connected = r.addr.pubkeyHint ? this.#isConnected(r.addr) : false;
      // Where we first learned it: a LAN record keeps its source after a handshake verified it.
      const source = r.source === 'lan' ? 'lan' : 'peer';
      if (!out.has(hex)) out.set(hex, { addr: { ...r.addr }, source, capabilitiesSeenAt: r.capabilitiesSeenAt, lastSeen: r.lastSeen, connected });
    }
    // Connected relays we know only by identity (an inbound session that offered addresses).
    const now = this.#c.now();
    for (const [hex, set] of this.#byIdentity) {
      if (out.has(hex)) continue;
      const pc = [...set].find((c) => c.isOpen && c.capabilities?.relay);
      const addr = pc ? this.#dialableAddrOf(hex, pc) : undefined;
      if (pc && addr && !addr.relayVia) out.set(hex, { addr: { ...addr }, source: 'peer', capabilitiesSeenAt: now, lastSeen: now, connected: true });
    }
    return [...out.values()];
  }

  /** Downloader side (§9.3 step 4): one request to a relay_via peer, wrapped in RELAY_STREAM to its relay. */
  async #requestViaRelay(to: PeerAddr, type: number, payload: Uint8Array, timeoutMs?: number): Promise<{ payload: Uint8Array; from: PeerRef }> {
    const route = to.relayVia!;
    const reqId = this.#relayReqId++ >>> 0 || (this.#relayReqId = 2, 1);
    const inner = encodeEnvelope({ type, reqId, flags: 0, payload });
    const outer = relayStreamCodec.encode({ relaySlotId: route.slotId, streamId: 0, kind: 'content', payload: inner });
    let res: { payload: Uint8Array; from: PeerRef };
    try {
      res = await this.request({ ...route.relayAddr, relayVia: null }, MessageType.RELAY_STREAM, outer, timeoutMs);
    } catch (err) {
      // An outer error envelope is the relay's own verdict (no tunnel, queue full, timed out): say so.
      if (err instanceof ScpError && err.code === 'REMOTE') {
        const text = String((err.details as Record<string, unknown> | undefined)?.text ?? err.message);
        throw ScpError.remote(text, { hop: 'relay', relay: addrUrl({ ...route.relayAddr, relayVia: null }) });
      }
      throw err;
    }
    let env;
    try {
      env = decodeEnvelope(relayStreamCodec.decode(res.payload).payload);
    } catch (err) {
      throw new ScpError('PROTOCOL', `relay answered with a bad inner envelope: ${(err as Error).message}`);
    }
    // The far node's own error travels inside a successful RELAY_STREAM (§9.3 step 5).
    if (isError(env)) throw ScpError.remote(errorText(env), { hop: 'far', relay: addrUrl({ ...route.relayAddr, relayVia: null }) });
    const pub = to.pubkeyHint;
    if (pub) {
      const hex = toHex(pub);
      const url = addrUrl(to);
      if (this.#relayed.answered(hex, url, this.#c.now()) && !this.#isConnected({ ...to, relayVia: null })) {
        this.#c.emit({ type: 'PeerConnected', nodeId: toHex(nodeIdFromPubkey(pub)), addr: url, transport: to.relayVia ? route.relayAddr.transport : to.transport, relayed: true });
      }
    }
    const from: PeerRef = {
      ...res.from,
      nodeId: pub ? toHex(nodeIdFromPubkey(pub)) : '',
      pubkey: pub ? toHex(pub) : '',
      relayed: true,
      addr: { ...to },
      connId: undefined,
    };
    return { payload: env.payload, from };
  }

  /** Live `maxConnections` (session-limits.ts): open sessions are kept; new ones, in or out, wait for room. */
  setMaxConnections(n: number): void {
    this.#init.maxConnections = n;
  }

  get connectionCount(): number {
    return this.#conns.size;
  }

  async connect(addrText: string, timeoutMs?: number): Promise<ApiPeerRecord> {
    this.#live();
    const addr = parseBootstrapPeer(addrText);
    if (this.#selfAddrKeys.has(peerAddrKey(addr)) || (addr.pubkeyHint && bytesEqual(addr.pubkeyHint, this.selfPubkey))) {
      throw ScpError.badInput(`${addrText} is this node's own address`);
    }
    let pc = this.#pick(addr, false);
    if (!pc) {
      this.#db.upsert(addr, this.#c.now(), { source: 'api' });
      pc = await this.#dial(addr, timeoutMs);
    }
    return this.#peerRecord(pc.pubkeyHex)!;
  }

  async request(to: PeerAddr, type: number, payload: Uint8Array, timeoutMs?: number): Promise<{ payload: Uint8Array; from: PeerRef }> {
    this.#live();
    if (to.relayVia) {
      if (to.pubkeyHint && bytesEqual(to.pubkeyHint, this.selfPubkey)) throw ScpError.badInput('a request to this node itself');
      return this.#requestViaRelay(to, type, payload, timeoutMs);
    }
    if (to.pubkeyHint && bytesEqual(to.pubkeyHint, this.selfPubkey)) throw ScpError.badInput('a request to this node itself');
    const t = timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let pc = this.#pick(to, true);
    const reused = pc !== undefined;
    if (!pc) pc = await this.#dialFor(to, t);
    try {
      return await this.#send(pc, type, payload, t);
    } catch (err) {
      // A pooled connection that died under us: one fresh dial, then give up.
      if (reused && err instanceof ScpError && err.code === 'IO' && !this.#stopped) {
        const fresh = await this.#dialFor(to, t);
        return this.#send(fresh, type, payload, t);
      }
      throw err;
    }
  }

  contacts(limit = 64, connectedOnly = false): Array<{ addr: PeerAddr; capabilities: Capabilities | null }> {
    const out: Array<{ addr: PeerAddr; capabilities: Capabilities | null }> = [];
    const seen = new Set<string>();
    for (const [hex, set] of this.#byIdentity) {
      const pc = [...set].find((c) => c.isOpen);
      if (!pc) continue;
      const addr = this.#dialableAddrOf(hex, pc);
      if (!addr) continue;
      seen.add(hex);
      out.push({ addr, capabilities: pc.capabilities ?? null });
    }
    if (!connectedOnly) {
      const now = this.#c.now();
      const recs = this.#db.all().sort((a, b) => b.lastSeen - a.lastSeen);
      for (const r of recs) {
        const hex = r.addr.pubkeyHint ? toHex(r.addr.pubkeyHint) : `addr:${r.key}`;
        if (hex === this.selfPubkeyHex || seen.has(hex)) continue;
        seen.add(hex);
        out.push({ addr: { ...r.addr }, capabilities: this.#db.freshCapabilities(r.key, now) });
      }
    }
    return out.slice(0, Math.max(0, limit));
  }

  peers(): ApiPeerRecord[] {
    const ids = new Set<string>([...this.#byIdentity.keys()]);
    for (const r of this.#db.all()) if (r.addr.pubkeyHint) ids.add(toHex(r.addr.pubkeyHint));
    for (const r of this.#relayed.all()) ids.add(r.pubkeyHex);
    ids.delete(this.selfPubkeyHex);
    const out: ApiPeerRecord[] = [];
    for (const hex of ids) {
      const rec = this.#peerRecord(hex);
      const via = this.#relayed.get(hex);
      if (via && !rec?.connected) {
        // Reached only through a relay: connected while it keeps answering (relayed-peers.ts).
        out.push({
          ...(rec ?? { nodeId: toHex(nodeIdFromPubkey(Buffer.from(hex, 'hex'))), pubkey: hex, addresses: [], capabilities: {} }),
          addresses: [...new Set([via.addr, ...(rec?.addresses ?? [])])],
          transport: 'tcp',
          connected: true,
          relayed: true,
          lastSeen: BigInt(Math.floor(via.lastAnswer / 1000)),
        });
      } else if (rec) out.push(rec);
    }
    return out.sort((a, b) => Number(b.connected) - Number(a.connected) || Number(b.lastSeen - a.lastSeen));
  }

  // ================================================================== pool and dialing

  #quicTransport(): Transport {
    this.#quic ??= new QuicTransport();
    return this.#quic;
  }

  #identityOf(addr: PeerAddr): string | undefined {
    if (addr.pubkeyHint) return toHex(addr.pubkeyHint);
    const r = this.#db.get(addr);
    return r?.verified && r.addr.pubkeyHint ? toHex(r.addr.pubkeyHint) : undefined;
  }

  /** A live connection to the peer at `addr`, least loaded first; may start a spare dial when all are busy. */
  #pick(addr: PeerAddr, forRequests: boolean): PeerConnection | undefined {
    const id = this.#identityOf(addr);
    if (id === undefined) return undefined;
    const set = this.#byIdentity.get(id);
    if (!set) return undefined;
    let best: PeerConnection | undefined;
    let outbound = 0;
    let preferred: TransportKind | undefined;
    for (const pc of set) {
      if (!pc.isOpen) continue;
      if (pc.role === 'initiator') outbound++;
      if (forRequests && !pc.core.canSendRequests) continue;
      if (!best) {
        best = pc;
        continue;
      }
      // The transport policy picks the connection as well as the dial: with a TLS and a QUIC session to the same
      // node (both of its addresses given as bootstrap, or each side dialing the other), spreading requests by
      // load sent half of a download over QUIC, which runs in JavaScript here: a 256 MiB download in one
      // process fell from ~300 to 55–100 MiB/s at 4–6× the CPU. The other kind carries requests only alone.
      if (pc.conn.kind !== best.conn.kind) {
        preferred ??= this.#preferredKind(id);
        if (pc.conn.kind === preferred) best = pc;
        continue;
      }
      if (pc.load < best.load) best = pc;
    }
    if (forRequests && best && best.load >= (this.#init.busyLoad ?? 32) && outbound < (this.#init.maxConnsPerPeer ?? 4)) {
      const target = this.#dialableAddrOf(id, best);
      if (target && !this.#dialing.has(peerAddrKey(target))) void this.#dial(target).catch(() => {});
    }
    return best;
  }

  /** The transport requests to this identity should travel on when sessions of both kinds are open. */
  #preferredKind(id: string): TransportKind {
    const p = this.#init.transportPolicy;
    if (p === 'prefer-tcp') return 'tcp';
    if (p === 'prefer-quic') return 'quic';
    return chooseTransports(p, this.#estimator.view(id, ['tcp', 'quic']), this.#c.now())[0] ?? 'tcp';
  }

  /** Dials the peer behind `to`, trying its known transports in policy order. */
  async #dialFor(to: PeerAddr, timeoutMs: number): Promise<PeerConnection> {
    const byKind = new Map<TransportKind, PeerAddr>([[to.transport, to]]);
    if (to.pubkeyHint) {
      for (const r of this.#db.all()) {
        if (r.addr.relayVia || !r.addr.pubkeyHint || !bytesEqual(r.addr.pubkeyHint, to.pubkeyHint)) continue;
        if (!byKind.has(r.addr.transport)) byKind.set(r.addr.transport, r.addr);
      }
    }
    const idKey = to.pubkeyHint ? toHex(to.pubkeyHint) : peerAddrKey(to);
    const order = chooseTransports(this.#init.transportPolicy, this.#estimator.view(idKey, [...byKind.keys()]), this.#c.now());
    let last: unknown;
    for (const kind of order) {
      try {
        return await this.#dial(byKind.get(kind)!, timeoutMs);
      } catch (err) {
        last = err;
        if (err instanceof ScpError && err.code === 'PROTOCOL') throw err; // wrong identity: another transport won't help
      }
    }
    throw last instanceof Error ? last : ScpError.unreachable(addrUrl(to), 'no address to dial');
  }

  /** One dial to exactly `addr` (deduplicated per address), up to an authenticated connection. */
  #dial(addr: PeerAddr, timeoutMs?: number): Promise<PeerConnection> {
    const key = peerAddrKey(addr);
    const expect = addr.pubkeyHint ? toHex(addr.pubkeyHint) : undefined;
    const pending = this.#dialing.get(key);
    if (pending) {
      if (pending.expect === expect) return pending.p;
      // The dial under way expects another identity (a stale or wrong hint from the peer DB or the API): its
      // refusal is not ours to report. Without an expectation, its connection will do unless it was refused;
      // with one, only a connection to that identity will do. Otherwise dial again once it has settled.
      const again = () => this.#dial(addr, timeoutMs);
      if (expect === undefined) return pending.p.catch((err) => (err instanceof ScpError && err.code === 'PROTOCOL' ? again() : Promise.reject(err)));
      return pending.p.then((pc) => (pc.pubkeyHex === expect ? pc : again()), again);
    }
    if (this.#conns.size >= (this.#init.maxConnections ?? DEFAULT_MAX_CONNECTIONS)) {
      return Promise.reject(ScpError.limit(`${this.#conns.size} connections open, the limit (maxConnections) is ${this.#init.maxConnections}; not dialing ${addrUrl(addr)}`));
    }
    const idKey = addr.pubkeyHint ? toHex(addr.pubkeyHint) : key;
    const p = (async () => {
      let conn: Connection;
      try {
        conn = await this.#dialAddr(addr, Math.min(timeoutMs ?? DIAL_TIMEOUT_MS, DIAL_TIMEOUT_MS));
      } catch (err) {
        this.#db.recordDialFailure(addr, this.#c.now());
        this.#estimator.recordFailure(idKey, addr.transport, this.#c.now());
        throw ScpError.unreachable(addrUrl(addr), (err as Error).message);
      }
      if (this.#stopped) {
        conn.destroy();
        throw ScpError.io('node stopping');
      }
      const pc = this.#adopt(conn, 'initiator', addr);
      try {
        await pc.established;
      } catch (err) {
        this.#db.recordDialFailure(addr, this.#c.now());
        this.#estimator.recordFailure(idKey, addr.transport, this.#c.now());
        throw err;
      }
      this.#estimator.recordSuccess(pc.pubkeyHex, addr.transport);
      return pc;
    })().finally(() => this.#dialing.delete(key));
    this.#dialing.set(key, { p, expect });
    return p;
  }

  /** The per-IP accept budget (TLS: asked by the listener before the TLS handshake). */
  #admit(ip: string): boolean {
    return this.#acceptBudget.admit(ip, this.#c.now());
  }

  #accept(conn: Connection): void {
    if (this.#stopped || this.#conns.size >= (this.#init.maxConnections ?? DEFAULT_MAX_CONNECTIONS)) {
      conn.destroy();
      return;
    }
    // QUIC has no pre-handshake hook here: its connections are charged once their stream is up.
    if (conn.kind === 'quic' && !this.#admit(conn.remoteAddress.host)) {
      conn.destroy();
      return;
    }
    this.#adopt(conn, 'responder', null);
  }

  #adopt(conn: Connection, role: 'initiator' | 'responder', dialed: PeerAddr | null): PeerConnection {
    const id = this.#nextConnId++;
    const pc = new PeerConnection(
      id,
      conn,
      {
        randomBytes: this.#c.randomBytes,
        nonceTracker: role === 'responder' ? this.#nonces[conn.kind] : null,
        rateLimiter: this.#limiter,
        abuse: this.#abuse,
        allocFrame: this.#allocFrame,
        frameLoan: this.#frameLoan,
      },
      {
        role,
        nodeSeed: this.#init.nodeSeed,
        capabilities: this.#init.capabilities,
        expectedRemotePubkey: dialed?.pubkeyHint ?? null,
        limits: this.#init.connectionLimits,
        // An accepted connection carries only responses unless it becomes a relay tunnel: a reference-style
        // client reads exactly one envelope per request, so anything we pushed first would be taken as its answer
        // (found by test/interop/reference-peer.test.ts). Dialers learn our peers by asking (PEX follow-ups).
        responderRequests: 'explicit',
      },
      this.#hooks,
      dialed,
    );
    this.#conns.set(id, pc);
    pc.start();
    return pc;
  }

  async #send(pc: PeerConnection, type: number, payload: Uint8Array, timeoutMs: number): Promise<{ payload: Uint8Array; from: PeerRef }> {
    const started = this.#c.now();
    const out = await pc.request(type, payload, timeoutMs);
    this.#estimator.recordTransfer(pc.pubkeyHex, pc.conn.kind, out.length, this.#c.now() - started);
    return { payload: out, from: this.#peerRef(pc) };
  }

  // ================================================================== connection events

  #onEstablished(pc: PeerConnection): void {
    const now = this.#c.now();
    if (pc.pubkeyHex === this.selfPubkeyHex) {
      pc.destroy(ScpError.badInput('connected to ourselves'));
      return;
    }
    let set = this.#byIdentity.get(pc.pubkeyHex);
    const first = !set || ![...set].some((c) => c.isOpen && c !== pc);
    if (!set) this.#byIdentity.set(pc.pubkeyHex, (set = new Set()));
    set.add(pc);
    this.#db.noteIdentity(pc.pubkey!, pc.capabilities!, now);
    if (pc.dialedAddr) {
      this.#db.recordDialSuccess(pc.dialedAddr, pc.pubkey!, pc.capabilities!, now);
      this.#tellDht(pc.dialedAddr, pc.capabilities ?? null);
    }
    if (first) {
      const a = pc.dialedAddr ? addrUrl(pc.dialedAddr) : `${pc.conn.kind}://${pc.remote}`;
      this.#c.emit({ type: 'PeerConnected', nodeId: pc.nodeId, addr: a, transport: pc.conn.kind, relayed: false });
    }
    this.#pex.connected(pc.id, now);
    this.#drivePex();
    // Early follow-up requests spread newly arrived peers quickly, since an accepting side never pushes them.
    const followUp = this.#init.pexFollowUpMs ?? 2_000;
    if (followUp > 0 && pc.role === 'initiator') {
      for (const k of [1, 2.5, 5]) this.#after(followUp * k, () => pc.isOpen && this.#pexSend(pc, 'request'));
    }
  }

  #onClosed(pc: PeerConnection, reason: CloseReason): void {
    this.#conns.delete(pc.id);
    // Cut for abuse or a protocol fault: its IP's next connections wait for the accept budget (a fresh identity is free).
    if (pc.role === 'responder' && IP_PENALTY_CODES.has(reason.code)) this.#acceptBudget.drain(pc.conn.remoteAddress.host, this.#c.now());
    if (this.#tunnel?.pc === pc) this.#tunnel = undefined;
    // The relay actor follows the tunnels it carries and our own (a closed one is re-registered).
    if ((this.#init.capabilities.relay || pc.core.pinned) && this.#c.peers.has('relay') && !this.#stopped) {
      this.#c.peers.request('relay', { type: 'connectionClosed', connId: pc.id }, { timeoutMs: 5_000 }).catch(() => {});
    }
    this.#deferredPex.delete(pc.id);
    this.#pex.disconnected(pc.id);
    const set = this.#byIdentity.get(pc.pubkeyHex);
    if (!set || !set.delete(pc)) return;
    if (set.size === 0) {
      this.#byIdentity.delete(pc.pubkeyHex);
      this.#c.emit({ type: 'PeerDisconnected', nodeId: pc.nodeId, reason: reason.code });
      if (!this.#stopped) this.#kickMaintenance();
    }
  }

  #onInbound(pc: PeerConnection, req: InboundRequest): void {
    if (req.owner === 'session' && req.request.type === ReachabilityExtMessageType.REACHABILITY_PROBE) {
      const probe = req.request.payload;
      void this.#answerProbe(pc, probe.addrs).then((r) => pc.respond(req.id, r));
      return;
    }
    if (req.owner === 'session') {
      let reply: WireReply;
      try {
        reply = this.#onPex(pc, req);
      } catch {
        reply = { error: INTERNAL_TEXT };
      }
      pc.respond(req.id, reply);
      return;
    }
    const owner = req.owner;
    const viaTunnel = this.#tunnel?.pc === pc;
    // Our tunnel carries downloaders' requests from the relay; relay requests on it are refused (§9.3 step 2).
    if (viaTunnel && owner === 'relay') {
      pc.respond(req.id, { error: ErrorText.UNSUPPORTED_MESSAGE_TYPE });
      return;
    }
    if (req.request.type === MessageType.GET_CHUNK) {
      const local = this.#chunks.serve(pc.nodeId, req.request.payload.contentId, req.request.payload.chunkIndex);
      if (local) {
        void local.then((r) => pc.respond(req.id, r));
        return;
      }
    }
    if (!this.#c.peers.has(owner)) {
      pc.respond(req.id, { error: INTERNAL_TEXT });
      return;
    }
    // The payload is a view of the received frame (often a Buffer over a socket's pooled memory, whose slice()
    // shares it): copy it into a buffer of its own, so only its bytes cross the thread and nothing shared detaches.
    const payload = new Uint8Array(req.payload);
    this.#c.peers
      .request(owner, { type: 'wire', from: viaTunnel ? { ...this.#peerRef(pc), relayed: true } : this.#peerRef(pc), messageType: req.request.type, reqId: req.reqId, payload }, { timeoutMs: WIRE_TIMEOUT_MS, transfer: [payload.buffer as ArrayBuffer] })
      .then(
        (r) => {
          // Relay side: a granted tunnel registration turns this connection into a tunnel that lives as long as it does.
          if (req.request.type === MessageType.RELAY_REGISTER && req.request.payload.tunnel && 'payload' in r) pc.core.pinOpen();
          if (owner === 'fetcher' && req.request.type === MessageType.GET_CHUNK && 'payload' in r && r.payload.byteOffset === 0) this.#sentChunks.add(r.payload.buffer);
          pc.respond(req.id, r);
        },
        () => pc.respond(req.id, { error: INTERNAL_TEXT }),
      );
  }

  /** A raw dial on the address's transport, leaving from the address `dialSource` picks. */
  #dialAddr(addr: PeerAddr, timeoutMs: number): Promise<Connection> {
    const transport = addr.transport === 'quic' ? this.#quicTransport() : this.#tls;
    return transport.dial({ host: addr.ip, port: addr.port }, { timeoutMs, localHost: dialSource(this.#init.host, addr.ip, this.#init.outgoingAddress) });
  }

  /**
   * Serve threads to start besides our own loop: none with the relay capability (tunnels live on our
   * connections), with a custom transport (the simulator's), or where SO_REUSEPORT cannot be had (said in the log).
   */
  #serveThreadCount(): number {
    const threads = Math.floor(this.#init.serveThreads ?? 1) - 1;
    if (threads < 1 || this.#init.capabilities.relay || this.#c.transport || typeof this.#init.listen?.tcp !== 'number') return 0;
    const missing = reusePortSupport();
    if (missing !== undefined) {
      this.#c.log?.warn({ serveThreads: this.#init.serveThreads }, `serve threads off: ${missing}`);
      return 0;
    }
    return threads;
  }

  async #startServeThreads(threads: number): Promise<void> {
    const tcp = this.#listeners.tcp;
    if (threads < 1 || !tcp) return;
    this.#serve = await ServeThreads.start({
      threads,
      host: this.#init.host,
      port: tcp.address.port,
      nodeSeed: this.#init.nodeSeed,
      capabilities: this.#init.capabilities,
      ...(this.#init.connectionLimits ? { connectionLimits: this.#init.connectionLimits } : {}),
      ...(this.#init.rateLimits ? { rateLimits: this.#init.rateLimits } : {}),
      route: (r) => this.#routeServed(r),
      // Chunk replies read here move to the thread and come back once written, as on our own connections.
      lend: (payload) => this.#chunks.lend(payload),
      recycled: (buffers) => this.#chunks.recycle(buffers),
    });
  }

  /**
   * Chunk buffers the fetcher is done with (moved back to us, see runtime/chunk-buffer-pool.ts), and slab slots by
   * the byte offset of a view it held (runtime/shared-chunk-slab.ts).
   */
  recycleBuffers(buffers: readonly ArrayBuffer[], slabOffsets: readonly number[] = []): void {
    this.#framePool.give(buffers);
    for (const o of slabOffsets) {
      const slab = this.#slab;
      if (!slab || !this.#lentToFetcher.delete(slab.slotOf(o))) continue; // not lent (any more): a stale offset
      slab.releaseOffset(o);
    }
  }

  /** The fetcher incarnation now running (a request remembers it, see `lendToFetcher`). */
  get fetcherEpoch(): number {
    return this.#fetcherEpoch;
  }

  /**
   * Lends the slot of a chunk answer to the fetcher incarnation `epoch` that asked for it; false (nothing lent) when
   * that incarnation died while the request ran, or `view` is not in the slab.
   */
  lendToFetcher(view: Uint8Array, epoch: number): boolean {
    const slab = this.#slab;
    if (!slab?.owns(view) || epoch !== this.#fetcherEpoch) return false;
    this.#lentToFetcher.add(slab.slotOf(view.byteOffset));
    return true;
  }

  /** The fetcher's incarnation is gone: what was lent to it comes back. */
  fetcherDown(): void {
    this.#fetcherEpoch++;
    const slab = this.#slab;
    if (!slab) return;
    for (const i of this.#lentToFetcher) slab.releaseOffset(i * SLAB_SLOT_BYTES);
    this.#lentToFetcher.clear();
  }

  /** Memory of a request's answer that its taker must hand back (a slab slot), see `giveBackFrame`. */
  lentFrame(view: Uint8Array): boolean {
    return this.#frameLoan.lent(view);
  }

  giveBackFrame(view: Uint8Array): void {
    this.#frameLoan.giveBack(view);
  }

  /** Slab slots out (with the fetcher, or being received): back to 0 once downloads end, else a leak. */
  get slabInUse(): number {
    return this.#slab?.inUse ?? 0;
  }

  serveStats(): ServeStats {
    return {
      threads: this.#serve?.threads ?? 0,
      connections: this.#serve?.connections ?? 0,
      requests: this.#servedRequests,
      chunksServedBySession: this.#chunks.servedHere,
      slabSlotsInUse: this.slabInUse,
    };
  }

  /** A request from a serve thread's connection: answered as #onInbound answers our own connections' requests. */
  async #routeServed(r: ServeRequest): Promise<WireReply> {
    if (this.#stopped) return { error: INTERNAL_TEXT };
    this.#servedRequests++;
    if (r.owner === 'session') {
      const now = this.#c.now();
      const pubkey = /^[0-9a-f]{64}$/.test(r.from.pubkey) ? Uint8Array.from(Buffer.from(r.from.pubkey, 'hex')) : null;
      if (r.messageType === MessageType.PEX_REQUEST) {
        const offer = answerPexRequest(this.#db, pexRequestCodec.decode(r.payload), now, pubkey);
        offer.peers = offer.peers.filter((a) => !this.#selfAddrKeys.has(peerAddrKey(a)));
        return { payload: pexOfferCodec.encode(offer) };
      }
      if (r.messageType === MessageType.PEX_OFFER) {
        const host = r.from.remote.replace(/^\[?(.*?)\]?:\d+$/, '$1');
        mergePexOffer(this.#db, pexOfferCodec.decode(r.payload), { senderIp: host, selfPubkey: this.selfPubkey, selfAddrKeys: this.#selfAddrKeys, now });
        return { payload: new Uint8Array(0) };
      }
      return { error: INTERNAL_TEXT };
    }
    if (r.messageType === MessageType.GET_CHUNK) {
      const local = this.#serveChunkBytes(r.from.nodeId, r.payload);
      if (local) return local;
    }
    if (!this.#c.peers.has(r.owner)) return { error: INTERNAL_TEXT };
    return this.#c.peers.request(
      r.owner,
      { type: 'wire', from: r.from, messageType: r.messageType, reqId: r.reqId, payload: r.payload },
      { timeoutMs: WIRE_TIMEOUT_MS, transfer: [r.payload.buffer as ArrayBuffer] },
    ) as Promise<WireReply>;
  }

  /** A serve thread's GET_CHUNK (payload still encoded), answered here when our copy of the serve table can. */
  #serveChunkBytes(peer: string, payload: Uint8Array): Promise<WireReply> | undefined {
    let q;
    try {
      q = getChunkCodec.decode(payload);
    } catch {
      return undefined; // the fetcher answers it with the decoder's text, as before
    }
    return this.#chunks.serve(peer, q.contentId, q.chunkIndex);
  }

  /** The fetcher's serve table, or a change to it (fetcher mailbox `serveTable`, chunk-server.ts). */
  applyServeTable(update: ServeTableUpdate): Promise<void> {
    return this.#chunks.apply(update);
  }

  /** A (re)started session has an empty table: until the fetcher's copy comes, every GET_CHUNK goes to it. */
  #askServeTable(): void {
    if (!this.#c.peers.has('fetcher')) return; // the fetcher sends it when it starts
    this.#c.peers
      .request('fetcher', { type: 'serveTable' }, { timeoutMs: 10_000 })
      .then((u) => (this.#stopped ? undefined : this.#chunks.apply(u)))
      .catch((err: unknown) => this.#c.log?.warn({ err: String(err) }, 'serve table not received; the fetcher answers every GET_CHUNK'));
  }

  #onPex(pc: PeerConnection, req: InboundRequest): WireReply {
    const r = req.request;
    if (r.type === MessageType.PEX_OFFER) {
      this.#mergeOffer(pc, r.payload);
      return { payload: new Uint8Array(0) };
    }
    if (r.type === MessageType.PEX_REQUEST) {
      const offer = answerPexRequest(this.#db, r.payload, this.#c.now(), pc.pubkey ?? null);
      offer.peers = offer.peers.filter((a) => !this.#selfAddrKeys.has(peerAddrKey(a)));
      return { payload: pexOfferCodec.encode(offer) };
    }
    return { error: INTERNAL_TEXT };
  }

  /** Records an offer (pushed, or the answer to our PEX_REQUEST) and passes addresses new to us on to our other peers. */
  #mergeOffer(pc: PeerConnection, offer: PexOffer): void {
    const now = this.#c.now();
    const fresh = offer.peers.filter((a) => this.#db.get(a) === undefined);
    mergePexOffer(this.#db, offer, { senderIp: pc.conn.remoteAddress.host, selfPubkey: this.selfPubkey, selfAddrKeys: this.#selfAddrKeys, now });
    const own = offer.peers.filter((a) => a.pubkeyHint && pc.pubkey && bytesEqual(a.pubkeyHint, pc.pubkey) && this.#db.get(a) !== undefined);
    if (own.length > 0) {
      const firstOffer = pc.offeredAddrs.length === 0;
      pc.offeredAddrs = own;
      if (firstOffer && !pc.dialedAddr) {
        const best = this.#dialableAddrOf(pc.pubkeyHex, pc);
        if (best) this.#tellDht(best, pc.capabilities ?? null);
      }
    }
    const added = fresh.filter((a) => this.#db.get(a) !== undefined);
    if (added.length === 0) return;
    for (const other of this.#conns.values()) {
      if (other === pc || !other.isOpen || !other.pubkey) continue;
      const peers = added.filter((a) => !(a.pubkeyHint && bytesEqual(a.pubkeyHint, other.pubkey!)));
      if (peers.length === 0 || !other.core.canSendRequests) continue;
      other.request(MessageType.PEX_OFFER, pexOfferCodec.encode({ peers: peers.slice(0, PEX_MAX_PEERS) }), PEX_TIMEOUT_MS).catch(() => {});
    }
    this.#kickMaintenance();
  }

  #pexSend(pc: PeerConnection, kind: 'offer' | 'request'): void {
    if (!pc.isOpen) return;
    if (!pc.core.canSendRequests) {
      const q = this.#deferredPex.get(pc.id) ?? [];
      if (!q.includes(kind)) q.push(kind);
      this.#deferredPex.set(pc.id, q);
      return;
    }
    if (kind === 'offer') {
      const offer = ownOffer(this.#selfAddrs, this.selfPubkey);
      pc.request(MessageType.PEX_OFFER, pexOfferCodec.encode(offer), PEX_TIMEOUT_MS).catch(() => {});
    } else {
      pc.request(MessageType.PEX_REQUEST, pexRequestCodec.encode({ maxPeers: PEX_MAX_PEERS }), PEX_TIMEOUT_MS).then(
        (payload) => {
          try {
            this.#mergeOffer(pc, pexOfferCodec.decode(payload));
          } catch {
            /* a bad answer costs the peer nothing more than its offer */
          }
        },
        () => {},
      );
    }
  }

  #flushDeferredPex(pc: PeerConnection): void {
    const q = this.#deferredPex.get(pc.id);
    this.#deferredPex.delete(pc.id);
    for (const k of q ?? []) this.#pexSend(pc, k);
  }

  #drivePex(): void {
    const now = this.#c.now();
    this.#pex.handleTimeout(now);
    for (let e = this.#pex.pollEffect(); e !== undefined; e = this.#pex.pollEffect()) {
      const pc = this.#conns.get(e.conn);
      if (pc) this.#pexSend(pc, e.kind === 'pex-offer' ? 'offer' : 'request');
    }
    const d = this.#pex.nextDeadline();
    if (d === undefined || this.#stopped) return;
    if (this.#pexTimer !== undefined && this.#pexArmedAt <= d) return;
    if (this.#pexTimer !== undefined) this.#c.clock.clearTimeout(this.#pexTimer);
    this.#pexArmedAt = d;
    this.#pexTimer = this.#c.clock.setTimeout(() => {
      this.#pexTimer = undefined;
      this.#pexArmedAt = Infinity;
      this.#drivePex();
    }, Math.max(0, d - now) + 1);
  }

  // ================================================================== maintenance

  #maintain(): void {
    if (this.#stopped) return;
    const now = this.#c.now();
    for (const gone of this.#relayed.expire(now)) {
      if (!this.#byIdentity.has(gone.pubkeyHex)) this.#c.emit({ type: 'PeerDisconnected', nodeId: toHex(nodeIdFromPubkey(Buffer.from(gone.pubkeyHex, 'hex'))), reason: 'relay-idle' });
    }
    this.#limiter.prune(now);
    this.#acceptBudget.prune(now);
    this.#abuse.prune(now);
    for (const t of Object.values(this.#nonces)) t.prune(Math.floor(now / 1000));
    // Bootstrap peers are always wanted; others fill up to the target.
    for (const b of this.#bootstrap) {
      const r = this.#db.get(b);
      if (!r || r.nextDialAt > now || this.#isConnected(r.addr) || this.#dialing.has(r.key)) continue;
      void this.#dial(r.addr).catch(() => {});
    }
    const target = this.#init.targetPeers ?? 8;
    let connected = this.#byIdentity.size;
    if (connected >= target) return;
    const tried = new Set<string>();
    for (const r of this.#db.dialCandidates(now)) {
      if (connected >= target || this.#dialing.size >= 4) break;
      if (r.addr.relayVia) continue;
      const id = r.addr.pubkeyHint ? toHex(r.addr.pubkeyHint) : `addr:${r.key}`;
      if (id === this.selfPubkeyHex || tried.has(id) || this.#isConnected(r.addr) || this.#dialing.has(r.key)) continue;
      tried.add(id);
      connected++;
      const go = r.addr.pubkeyHint ? this.#dialFor(r.addr, DIAL_TIMEOUT_MS) : this.#dial(r.addr);
      void go.catch(() => {});
    }
  }

  #kickMaintenance(): void {
    if (this.#stopped) return;
    this.#after(50, () => this.#maintain());
  }

  #isConnected(addr: PeerAddr): boolean {
    const id = this.#identityOf(addr);
    if (id === undefined) return false;
    return [...(this.#byIdentity.get(id) ?? [])].some((c) => c.isOpen);
  }

  async #persist(): Promise<void> {
    try {
      await this.#c.store.save(this.#db.snapshot());
    } catch {
      /* the next period tries again */
    }
  }

  // ================================================================== views

  #dialableAddrOf(hex: string, pc?: PeerConnection): PeerAddr | undefined {
    if (pc?.dialedAddr) return pc.dialedAddr;
    const offered = pc?.offeredAddrs ?? [];
    const pref = this.#init.transportPolicy === 'prefer-quic' ? 'quic' : 'tcp';
    const fromOffer = offered.find((a) => a.transport === pref) ?? offered[0];
    if (fromOffer) return fromOffer;
    let best: PeerAddr | undefined;
    for (const r of this.#db.all()) {
      if (!r.addr.pubkeyHint || toHex(r.addr.pubkeyHint) !== hex) continue;
      if (!best || (r.addr.transport === pref && best.transport !== pref)) best = r.addr;
    }
    return best;
  }

  #peerRef(pc: PeerConnection): PeerRef {
    return {
      nodeId: pc.nodeId,
      pubkey: pc.pubkeyHex,
      remote: pc.remote,
      transport: pc.conn.kind,
      relayed: false,
      addr: this.#dialableAddrOf(pc.pubkeyHex, pc) ?? null,
      capabilities: pc.capabilities ?? { dht: false, store: false, relay: false, contentSeed: false, mobileLight: false },
      connId: pc.id,
    };
  }

  #peerRecord(hex: string): ApiPeerRecord | undefined {
    const now = this.#c.now();
    const live = [...(this.#byIdentity.get(hex) ?? [])].filter((c) => c.isOpen);
    const addrs: string[] = [];
    let lastSeen = 0;
    let caps: Capabilities | null = null;
    let kind: TransportKind | undefined;
    for (const r of this.#db.all()) {
      if (!r.addr.pubkeyHint || toHex(r.addr.pubkeyHint) !== hex) continue;
      addrs.push(addrUrl(r.addr));
      lastSeen = Math.max(lastSeen, r.lastSeen);
      caps ??= r.capabilities;
      if (!kind || r.addr.transport === 'tcp') kind = r.addr.transport;
    }
    const ident = this.#db.identity(Buffer.from(hex, 'hex'));
    if (ident) {
      lastSeen = Math.max(lastSeen, ident.lastSeen);
      caps = ident.capabilities;
    }
    if (live.length > 0) {
      const main = live.find((c) => c.role === 'initiator') ?? live[0]!;
      kind = main.conn.kind;
      lastSeen = now;
      caps = main.capabilities ?? caps;
      for (const c of live) if (c.dialedAddr && !addrs.includes(addrUrl(c.dialedAddr))) addrs.push(addrUrl(c.dialedAddr));
    }
    if (live.length === 0 && addrs.length === 0) return undefined;
    return {
      nodeId: toHex(nodeIdFromPubkey(Buffer.from(hex, 'hex'))),
      pubkey: hex,
      addresses: addrs,
      transport: kind ?? 'tcp',
      connected: live.length > 0,
      relayed: false,
      lastSeen: BigInt(Math.floor(lastSeen / 1000)),
      capabilities: caps ? { ...caps } : {},
    };
  }

  // ================================================================== small helpers

  #tellDht(addr: PeerAddr, capabilities: Capabilities | null): void {
    if (!this.#c.peers.has('dht')) return;
    this.#c.peers.request('dht', { type: 'contact', peer: addr, capabilities }, { timeoutMs: 5_000 }).catch(() => {});
  }

  #every(ms: number, fn: () => void): void {
    const tick = (): void => {
      if (this.#stopped) return;
      this.#timers.delete(h);
      fn();
      h = this.#c.clock.setTimeout(tick, ms);
      this.#timers.add(h);
    };
    let h = this.#c.clock.setTimeout(tick, ms);
    this.#timers.add(h);
  }

  #after(ms: number, fn: () => void): void {
    const h = this.#c.clock.setTimeout(() => {
      this.#timers.delete(h);
      if (!this.#stopped) fn();
    }, ms);
    this.#timers.add(h);
  }

  #live(): void {
    if (this.#stopped) throw ScpError.io('the session is stopping');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    t.unref();
  });
}
