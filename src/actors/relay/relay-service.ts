/**
 * The relay role's I/O around RelayCore (relay-core.ts). Inbound 450/452/453/460 arrive as `wire` requests; the
 * core's 'reply' effects answer them. A RELAY_REGISTER with tunnel=true turns the registering connection into a
 * tunnel: 'tunnel-send' effects go out over it with the session's `tunnelRequest`, and each answer comes back
 * to the core, in order, as a 'tunnel-response'. Tunnels opening and ending become RelayTunnelOpened/Closed
 * events. With the role on, our signed RelayAnnouncement is put under its DHT rendezvous keys at start and every
 * `announceIntervalMs` (PROTOCOL.md §9.4) and kept in the directory that answers RELAY_LIST_REQUEST.
 *
 * Requests that reached us through a relay tunnel (`from.relayed`) are refused: a relay never chains relays.
 */
import type { NodeEvent } from '../../messages/node-events.js';
import type { PeerDirectory } from '../runtime/actor-definition.js';
import type { Random } from '../runtime/random.js';
import type { WireReply, WireRequest } from '../../messages/wire.js';
import { ErrorText, isRequestType, responseTypeFor } from '../../protocol/registry.js';
import { decodeEnvelope, encodeEnvelope, errorEnvelope, errorText, isError, responseEnvelope, type Envelope } from '../../protocol/envelope.js';
import type { PeerAddr } from '../../protocol/peer-addr.js';
import type { RelayAnnouncement } from '../../protocol/relay-announcement.js';
import { RelayCore, type ConnId } from './relay-core.js';
import type { RelayServiceConfig } from './relay-config.js';
import { buildRelayAnnouncement, relayPublishPlan } from './relay-directory.js';

/** Connections we never got from the session (a request without connId): answered, never tunnelled. */
const NO_CONN = -1;
const TUNNEL_REQUEST_SLACK_MS = 5_000;
/** Addresses one announcement names at most (TCP first). */
const MAX_ANNOUNCED_ADDRS = 8;

export interface RelayServiceDeps {
  random: Random;
  /** Unix milliseconds. */
  now(): number;
  peers: PeerDirectory;
  emit(e: NodeEvent): void;
  nodeSeed: Uint8Array;
  nodePubkey: Uint8Array;
  /** Parses "tcp://ip:port[@hex]" (announceAddrs). */
  parseAddr(text: string): PeerAddr;
}

export class RelayService {
  readonly core: RelayCore;
  readonly #d: RelayServiceDeps;
  readonly #cfg: RelayServiceConfig;
  readonly #enabled: boolean;
  /** Waiting `wire` answers, keyed by connection and outer req_id. */
  readonly #pending = new Map<string, (r: WireReply) => void>();
  /** Per tunnel connection: answers are fed to the core strictly in the order the requests went out. */
  readonly #chains = new Map<ConnId, Promise<void>>();
  /** Tunnels we announced as opened: conn -> who and which slot (to tell when they end). */
  readonly #open = new Map<ConnId, { peerNodeId: string; slotId: bigint; reason: string }>();
  /** Who registered on each connection (RelayTunnelOpened names them). */
  readonly #registrant = new Map<ConnId, string>();
  #nextAnnounce = 0;
  #announcing = false;
  #stopped = false;

  constructor(deps: RelayServiceDeps, enabled: boolean, cfg: RelayServiceConfig) {
    this.#d = deps;
    this.#cfg = cfg;
    this.#enabled = enabled;
    this.core = new RelayCore(
      { random: deps.random },
      {
        enabled,
        maxSlots: cfg.maxSlots,
        maxSlotsPerOwner: cfg.maxSlotsPerOwner,
        maxTunnels: cfg.maxTunnels,
        slotTtlSecs: cfg.slotTtlSecs,
        quotas: {
          controlBytesPerDay: cfg.dailyControlBytesPerPeer,
          contentBytesPerDay: cfg.dailyContentBytesPerPeer,
          streamsPerDay: cfg.dailyStreamsPerPeer,
          contentEnabled: cfg.contentWithoutTunnel,
        },
        tunnel: {
          queueDepth: cfg.tunnelQueueDepth,
          timeoutMs: cfg.tunnelTimeoutMs,
          caps: {
            ...(cfg.maxTunnelBps !== null ? { perTunnelBytesPerSecond: cfg.maxTunnelBps } : {}),
            ...(cfg.maxGlobalBps !== null ? { globalBytesPerSecond: cfg.maxGlobalBps } : {}),
          },
        },
      },
      deps.now(),
    );
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  status(): { enabled: boolean; slots: number; tunnels: number } {
    this.core.slots.evictExpired(this.#d.now());
    return { enabled: this.#enabled, slots: this.core.slots.size, tunnels: this.core.tunnels.size };
  }

  wire(req: WireRequest): Promise<WireReply> | WireReply {
    if (this.#stopped) return { error: ErrorText.UNSUPPORTED_MESSAGE_TYPE };
    // A request that came through a relay tunnel never reaches the relay role (§9.3 step 2: no chains).
    if (req.from.relayed) return { error: ErrorText.UNSUPPORTED_MESSAGE_TYPE };
    const conn = req.from.connId ?? NO_CONN;
    const key = `${conn}:${req.reqId}`;
    if (this.#pending.has(key)) return { error: 'duplicate request id on this connection' };
    const answer = new Promise<WireReply>((resolve) => this.#pending.set(key, resolve));
    if (req.from.nodeId) this.#registrant.set(conn, req.from.nodeId);
    this.core.handle(
      {
        type: 'request',
        conn,
        requester: req.from.pubkey ? `pubkey:${req.from.pubkey}` : null,
        envelope: { type: req.messageType, reqId: req.reqId, flags: 0, payload: req.payload },
      },
      this.#d.now(),
    );
    this.#drain();
    return answer;
  }

  connectionClosed(conn: ConnId): void {
    this.#registrant.delete(conn);
    const t = this.#open.get(conn);
    if (t) t.reason = 'connection closed';
    this.core.handle({ type: 'connection-closed', conn }, this.#d.now());
    this.#drain();
  }

  /** An announcement learned elsewhere (DHT discovery, relay lists): cached for RELAY_LIST_RESPONSE. */
  learned(a: RelayAnnouncement): void {
    this.core.offerAnnouncement(a, this.#d.now());
  }

  tick(): void {
    if (this.#stopped) return;
    const now = this.#d.now();
    this.core.handleTimeout(now);
    this.#drain();
    if (this.#enabled && now >= this.#nextAnnounce && !this.#announcing) void this.#announce(now);
  }

  stop(): void {
    this.#stopped = true;
    for (const r of this.#pending.values()) r({ error: ErrorText.UNSUPPORTED_MESSAGE_TYPE });
    this.#pending.clear();
  }

  async #announce(now: number): Promise<void> {
    this.#announcing = true;
    try {
      const addrs = await this.#announceAddrs();
      if (addrs.length === 0) {
        this.#nextAnnounce = now + 1_000; // the session is not up yet: soon again
        return;
      }
      const a = buildRelayAnnouncement(
        {
          relayPubkey: this.#d.nodePubkey,
          relayAddrs: addrs,
          capacity: { maxTunnels: Math.min(65_535, this.#cfg.maxTunnels), bandwidthClass: 'Medium', maxBytesPerTunnel: null },
          ttlSecs: this.#cfg.announceTtlSecs,
        },
        now,
        this.#d.nodeSeed,
      );
      this.core.offerAnnouncement(a, now);
      this.#nextAnnounce = now + this.#cfg.announceIntervalMs;
      const plan = relayPublishPlan(a, now);
      if (!this.#d.peers.has('dht')) return;
      await Promise.all(
        plan.keys.map((key) =>
          this.#d.peers.request('dht', { type: 'put', key, value: plan.value, ttlSecs: plan.ttlSecs, replicate: true }, { timeoutMs: 30_000 }).catch(() => undefined),
        ),
      );
    } catch {
      this.#nextAnnounce = now + Math.min(this.#cfg.announceIntervalMs, 10_000);
    } finally {
      this.#announcing = false;
    }
  }

  async #announceAddrs(): Promise<PeerAddr[]> {
    const strip = (a: PeerAddr): PeerAddr => ({ ip: a.ip, port: a.port, transport: a.transport, pubkeyHint: null });
    if (this.#cfg.announceAddrs) return this.#cfg.announceAddrs.map((t) => strip(this.#d.parseAddr(t))).slice(0, MAX_ANNOUNCED_ADDRS);
    if (!this.#d.peers.has('session')) return [];
    const own = await this.#d.peers.request('session', { type: 'selfAddrs' }, { timeoutMs: 5_000 });
    const direct = own.filter((a) => !a.relayVia && a.port > 0).map(strip);
    // Loopback last: useful to peers on this machine only.
    const rank = (a: PeerAddr): number => (a.transport === 'tcp' ? 0 : 2) + (a.ip.startsWith('127.') || a.ip === '::1' ? 1 : 0);
    return direct.sort((x, y) => rank(x) - rank(y)).slice(0, MAX_ANNOUNCED_ADDRS);
  }

  #drain(): void {
    const now = this.#d.now();
    for (let e = this.core.pollEffect(); e; e = this.core.pollEffect()) {
      switch (e.kind) {
        case 'reply': {
          const key = `${e.conn}:${e.envelope.reqId}`;
          const resolve = this.#pending.get(key);
          this.#pending.delete(key);
          resolve?.(isError(e.envelope) ? { error: errorText(e.envelope) } : { payload: e.envelope.payload });
          break;
        }
        case 'tunnel-send':
          this.#tunnelSend(e.conn, e.bytes);
          break;
        case 'tunnel-close': {
          const t = this.#open.get(e.conn);
          if (t) t.reason = e.reason;
          this.core.handle({ type: 'connection-closed', conn: e.conn }, now);
          break;
        }
        case 'tunnel-open': {
          const peerNodeId = this.#registrant.get(e.conn) ?? '';
          this.#open.set(e.conn, { peerNodeId, slotId: e.slotId, reason: 'connection closed' });
          this.#d.emit({ type: 'RelayTunnelOpened', peerNodeId, slotId: e.slotId.toString() });
          break;
        }
        case 'publish-announcement':
          break;
      }
    }
    // Tunnels the core no longer holds (closed, replaced, unresponsive) have ended.
    for (const [conn, t] of this.#open) {
      if (this.core.tunnels.isTunnelConn(conn)) continue;
      this.#open.delete(conn);
      this.#d.emit({ type: 'RelayTunnelClosed', peerNodeId: t.peerNodeId, slotId: t.slotId.toString(), reason: t.reason });
    }
  }

  #tunnelSend(conn: ConnId, bytes: Uint8Array): void {
    let inner: Envelope;
    try {
      inner = decodeEnvelope(bytes);
    } catch {
      return; // the core checked it already
    }
    const payload = new Uint8Array(inner.payload);
    const answer = this.#d.peers
      .request(
        'session',
        { type: 'tunnelRequest', connId: conn, messageType: inner.type, payload, timeoutMs: this.#cfg.tunnelTimeoutMs },
        { timeoutMs: this.#cfg.tunnelTimeoutMs + TUNNEL_REQUEST_SLACK_MS, transfer: [payload.buffer as ArrayBuffer] },
      )
      .then(
        (r): Envelope | 'closed' => {
          if ('error' in r) return errorEnvelope(inner.type, inner.reqId, r.error);
          const rt = isRequestType(inner.type) ? responseTypeFor(inner.type) : inner.type;
          return responseEnvelope(rt, inner.reqId, r.payload);
        },
        () => 'closed' as const,
      );
    const prev = this.#chains.get(conn) ?? Promise.resolve();
    const next = prev.then(async () => {
      const env = await answer;
      if (this.#stopped) return;
      const now = this.#d.now();
      if (env === 'closed') this.core.handle({ type: 'connection-closed', conn }, now);
      else this.core.handle({ type: 'tunnel-response', conn, bytes: encodeEnvelope(env) }, now);
      this.#drain();
    });
    this.#chains.set(conn, next);
    void next.finally(() => {
      if (this.#chains.get(conn) === next) this.#chains.delete(conn);
    });
  }
}
