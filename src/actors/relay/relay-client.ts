/**
 * The firewalled side's I/O around FirewalledClient (firewalled-client.ts): reachability, relay discovery and
 * the tunnel's life.
 *
 * - Reachability: 'firewalled' with config `firewalled` or without a listener. Otherwise 'unknown' until the
 *   dial-back check (session `probeReachability`, reachability-ext.ts) has verdicts: any peer that reached us
 *   makes it 'direct'; when every peer that could judge (at least one) failed, 'firewalled', and the node
 *   registers like a configured firewalled one. Re-checked every PROBE_RECHECK_FACTOR discovery intervals once
 *   decided, every discovery interval while unknown.
 * - Discovery, every `discoveryIntervalMs` while firewalled (and at once when no candidate is left): the session's
 *   peer DB entries whose capabilities say `relay` (handshakes, LAN announcements), the 16 DHT rendezvous keys of
 *   the current hour bucket (§9.4), and RELAY_LIST_REQUEST to up to 3 known relays. Announcements found are also
 *   handed to our own relay directory (`learned`), so we pass them on when asked.
 * - Effects of the pure client become session calls: 'dial' + 'send-register' are one `registerTunnel` (dial,
 *   RELAY_REGISTER, keep the connection as our tunnel); 'check-tunnel' asks `connectionOpen`; 'close' is
 *   `closeTunnel`; 'advertise' becomes RelayRegistered / RelayLost.
 */
import type { NodeEvent } from '../../messages/node-events.js';
import type { RelayCandidateSource, RelayStatus } from '../../messages/relay-mailbox.js';
import type { PeerDirectory } from '../runtime/actor-definition.js';
import { toHex } from '../../protocol/bytes.js';
import { nodeIdFromPubkey } from '../../protocol/ids.js';
import type { PeerAddr } from '../../protocol/peer-addr.js';
import { decodeRelayAnnouncement, type RelayAnnouncement } from '../../protocol/relay-announcement.js';
import { relayListRequestCodec, relayListResponseCodec } from '../../protocol/relay-messages.js';
import { MessageType } from '../../protocol/registry.js';
import { FirewalledClient, type FirewalledEffect } from './firewalled-client.js';
import type { RelayClientConfig } from './relay-config.js';
import { relayDiscoveryPlan } from './relay-directory.js';

const RELAY_LIST_TIMEOUT_MS = 5_000;
const RELAY_LIST_MAX = 32;
const RELAY_LIST_PEERS = 3;
const DHT_GET_TIMEOUT_MS = 15_000;
const DHT_PARALLEL = 4;
const PROBE_RECHECK_FACTOR = 10;
const PROBE_TIMEOUT_MS = 15_000;

export interface RelayClientDeps {
  /** Unix milliseconds. */
  now(): number;
  peers: PeerDirectory;
  emit(e: NodeEvent): void;
  nodePubkey: Uint8Array;
  /** Parses "tcp://ip:port[@hex]" (configured relays). */
  parseAddr(text: string): PeerAddr;
  /** Announcements we found, for our own relay directory. */
  learned(a: RelayAnnouncement): void;
}

export interface RelayClientInit {
  firewalled: boolean;
  listening: boolean;
  relays: string[];
  config: RelayClientConfig;
}

export class RelayClient {
  readonly #d: RelayClientDeps;
  readonly #cfg: RelayClientConfig;
  readonly #fw: FirewalledClient;
  #reachability: RelayStatus['reachability'];
  /** Dial-back checks run (not with config `firewalled` or without a listener, where the answer is known). */
  readonly #probe: boolean;
  #nextProbe = 0;
  #probing = false;
  /** Results of registerTunnel per attempt, until the pure client asks for them ('send-register'). */
  readonly #registered = new Map<number, { slotId: bigint; expiresAt: bigint; relayNodeId: string; relay: PeerAddr } | { error: string }>();
  /** The relay of the registration the pure client is about to advertise (its key as the handshake proved it). */
  #lastRelay: { relayNodeId: string; relay: PeerAddr } | null = null;
  #current: { relayNodeId: string; relayAddr: string; relayVia: string } | null = null;
  #lostReason = 'tunnel closed';
  #nextDiscovery = 0;
  #discovering = false;
  #rounds = 0;
  #stopped = false;

  constructor(deps: RelayClientDeps, init: RelayClientInit) {
    this.#d = deps;
    this.#cfg = init.config;
    const firewalled = init.firewalled || !init.listening;
    this.#reachability = firewalled ? 'firewalled' : 'unknown';
    this.#probe = !firewalled && init.config.reachabilityCheck;
    this.#nextProbe = deps.now() + Math.min(2_000, init.config.discoveryIntervalMs);
    const now = deps.now();
    this.#fw = new FirewalledClient(
      {
        firewalled,
        localPubkey: deps.nodePubkey,
        recheckMs: init.config.recheckMs,
        registerTimeoutMs: init.config.registerTimeoutMs,
        dialTimeoutMs: init.config.dialTimeoutMs,
      },
      now,
    );
    const configured: PeerAddr[] = [];
    for (const t of init.relays) {
      try {
        configured.push(deps.parseAddr(t));
      } catch {
        /* a bad entry is skipped; Node.start validated the list */
      }
    }
    // The session builds the advertised relay_via address from its own; the pure client only needs a placeholder
    // self address to produce its 'advertise' effect (which we turn into RelayRegistered).
    this.#fw.handle({ type: 'set-self-addr', addr: { ip: '0.0.0.0', port: 1, transport: 'tcp', pubkeyHint: deps.nodePubkey } }, now);
    if (configured.length > 0) this.#fw.handle({ type: 'configured', relays: configured }, now);
    this.#run();
  }

  get firewalled(): boolean {
    return this.#fw.firewalled;
  }

  status(): Omit<RelayStatus, 'serving'> {
    const now = this.#d.now();
    const st = this.#fw.status;
    const registration =
      st.state === 'tunneled' && this.#current && st.expiresAt !== undefined ? { ...this.#current, expiresAt: Number(st.expiresAt) * 1000 } : null;
    const last = this.#lastRelay;
    const sameAddr = (a: PeerAddr, b: PeerAddr): boolean => a.ip === b.ip && a.port === b.port && a.transport === b.transport;
    const candidates = this.#fw.candidates(now).map((c) => ({
      nodeId: c.addr.pubkeyHint ? toHex(nodeIdFromPubkey(c.addr.pubkeyHint)) : last && sameAddr(last.relay, c.addr) ? last.relayNodeId : '',
      addr: addrText(c.addr),
      source: c.source as RelayCandidateSource,
      sources: c.sources as RelayCandidateSource[],
      score: c.score,
    }));
    return { reachability: this.#reachability, registration, candidates };
  }

  /** The session says a connection closed: if it was our tunnel, it is gone. */
  connectionClosed(conn: number): void {
    this.#lostReason = 'tunnel connection closed';
    this.#fw.handle({ type: 'tunnel-closed', conn }, this.#d.now());
    this.#run();
  }

  tick(): void {
    if (this.#stopped) return;
    const now = this.#d.now();
    this.#fw.handleTimeout(now);
    this.#run();
    if (this.#fw.firewalled && now >= this.#nextDiscovery && !this.#discovering) void this.#discover();
    if (this.#probe && now >= this.#nextProbe && !this.#probing) void this.#checkReachability();
  }

  async #checkReachability(): Promise<void> {
    this.#probing = true;
    try {
      const verdicts = await this.#d.peers
        .request('session', { type: 'probeReachability', maxPeers: 3, timeoutMs: PROBE_TIMEOUT_MS }, { timeoutMs: PROBE_TIMEOUT_MS + 5_000 })
        .catch(() => [] as string[]);
      if (this.#stopped) return;
      const next = decideReachability(this.#reachability, verdicts);
      const interval = this.#cfg.discoveryIntervalMs * (next === 'unknown' ? 1 : PROBE_RECHECK_FACTOR);
      this.#nextProbe = this.#d.now() + interval;
      if (next === this.#reachability) return;
      this.#reachability = next;
      if (next !== 'unknown') {
        // Advertise only the relayed address while judged unreachable (a direct one would only cost dial timeouts).
        this.#d.peers.request('session', { type: 'setReachability', firewalled: next === 'firewalled' }, { timeoutMs: 5_000 }).catch(() => {});
        if (next === 'direct') this.#lostReason = 'reachable directly: tunnel no longer needed';
        this.#fw.handle({ type: 'set-firewalled', firewalled: next === 'firewalled' }, this.#d.now());
        if (next === 'firewalled') this.#nextDiscovery = this.#d.now();
        this.#run();
      }
    } finally {
      this.#probing = false;
    }
  }

  stop(): void {
    this.#stopped = true;
  }

  // ------------------------------------------------------------------ effects

  #run(): void {
    for (let e = this.#fw.pollEffect(); e; e = this.#fw.pollEffect()) this.#effect(e);
    // Out of candidates: look for more now rather than at the next discovery interval.
    if (this.#fw.firewalled && this.#fw.status.state === 'waiting' && !this.#discovering && this.#nextDiscovery > this.#d.now() + this.#cfg.recheckMs) {
      this.#nextDiscovery = this.#d.now();
    }
  }

  #effect(e: FirewalledEffect): void {
    const now = this.#d.now();
    switch (e.kind) {
      case 'dial':
        void this.#register(e.attempt, e.relay);
        return;
      case 'send-register': {
        const r = this.#registered.get(e.attempt);
        this.#registered.delete(e.attempt);
        if (r && 'slotId' in r) this.#lastRelay = { relayNodeId: r.relayNodeId, relay: r.relay };
        if (r && 'slotId' in r) this.#fw.handle({ type: 'registered', attempt: e.attempt, slotId: r.slotId, expiresAt: r.expiresAt }, now);
        else this.#fw.handle({ type: 'register-failed', attempt: e.attempt, reason: r?.error ?? 'no registration' }, now);
        return;
      }
      case 'close':
        this.#session('closeTunnel', { connId: e.conn });
        return;
      case 'check-tunnel':
        if (!this.#d.peers.has('session')) return;
        this.#d.peers.request('session', { type: 'connectionOpen', connId: e.conn }, { timeoutMs: 5_000 }).then(
          (open) => {
            if (!open && !this.#stopped) {
              this.#lostReason = 'tunnel connection closed';
              this.#fw.handle({ type: 'tunnel-closed', conn: e.conn }, this.#d.now());
              this.#run();
            }
          },
          () => {},
        );
        return;
      case 'advertise':
        if (e.addr && e.addr.relayVia) {
          const relay = e.addr.relayVia.relayAddr;
          const proven = this.#lastRelay?.relayNodeId;
          this.#current = {
            relayNodeId: proven || (relay.pubkeyHint ? toHex(nodeIdFromPubkey(relay.pubkeyHint)) : ''),
            relayAddr: addrText(relay),
            relayVia: `relay:${addrText(relay)}/slot/${e.addr.relayVia.slotId}`,
          };
          this.#d.emit({ type: 'RelayRegistered', ...this.#current });
        } else if (this.#current) {
          this.#d.emit({ type: 'RelayLost', relayNodeId: this.#current.relayNodeId, reason: this.#lostReason });
          this.#current = null;
        }
        return;
    }
  }

  /** 'dial' → one registerTunnel; its outcome is replayed to the pure client as dialed + registered (or failed). */
  async #register(attempt: number, relay: PeerAddr): Promise<void> {
    if (!this.#d.peers.has('session')) {
      this.#fw.handle({ type: 'dial-failed', attempt, reason: 'session unavailable' }, this.#d.now());
      this.#run();
      return;
    }
    try {
      const r = await this.#d.peers.request(
        'session',
        { type: 'registerTunnel', relay, timeoutMs: this.#cfg.registerTimeoutMs },
        { timeoutMs: this.#cfg.dialTimeoutMs + this.#cfg.registerTimeoutMs },
      );
      if (this.#stopped) return;
      this.#registered.set(attempt, { slotId: r.slotId, expiresAt: r.expiresAt, relayNodeId: r.relayNodeId, relay: r.relay });
      this.#fw.handle({ type: 'dialed', attempt, conn: r.connId }, this.#d.now());
    } catch (err) {
      if (this.#stopped) return;
      this.#lostReason = `registration failed: ${err instanceof Error ? err.message : String(err)}`;
      this.#fw.handle({ type: 'dial-failed', attempt, reason: this.#lostReason }, this.#d.now());
    }
    this.#run();
  }

  // ------------------------------------------------------------------ discovery

  async #discover(): Promise<void> {
    this.#discovering = true;
    const started = this.#d.now();
    this.#nextDiscovery = started + this.#cfg.discoveryIntervalMs;
    try {
      // The 16 rendezvous lookups are the costly part: every round while few relays are known, else every 10th.
      const dht = this.#fw.candidates(started).length < 4 || this.#rounds % 10 === 0;
      this.#rounds++;
      await Promise.all([this.#fromPeerDb(), dht ? this.#fromDht() : Promise.resolve(), this.#fromRelayLists()]);
    } finally {
      this.#discovering = false;
      this.#run();
    }
  }

  async #fromPeerDb(): Promise<void> {
    if (!this.#d.peers.has('session')) return;
    const list = await this.#d.peers.request('session', { type: 'relayPeers' }, { timeoutMs: 5_000 }).catch(() => null);
    if (!list || this.#stopped) return;
    this.#fw.handle(
      { type: 'peers', peers: list.map((p) => ({ addr: p.addr, source: p.source, capabilities: { dht: false, store: false, relay: true, contentSeed: false, mobileLight: false }, capabilitiesSeenAt: p.capabilitiesSeenAt, lastSeen: p.lastSeen })) },
      this.#d.now(),
    );
    this.#run();
  }

  async #fromDht(): Promise<void> {
    if (!this.#d.peers.has('dht')) return;
    const { keys } = relayDiscoveryPlan(this.#d.now());
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length && !this.#stopped) {
        const key = keys[next++]!;
        const r = await this.#d.peers.request('dht', { type: 'get', key }, { timeoutMs: DHT_GET_TIMEOUT_MS }).catch(() => null);
        if (!r?.value) continue;
        let a: RelayAnnouncement;
        try {
          a = decodeRelayAnnouncement(r.value);
        } catch {
          continue; // the DHT validated it; a value that does not decode here is not ours to judge further
        }
        this.#offer(a, 'dht');
      }
    };
    await Promise.all(Array.from({ length: DHT_PARALLEL }, worker));
  }

  async #fromRelayLists(): Promise<void> {
    if (!this.#d.peers.has('session')) return;
    const now = this.#d.now();
    const relays = this.#fw.candidates(now).slice(0, RELAY_LIST_PEERS);
    await Promise.all(
      relays.map(async (c) => {
        const r = await this.#d.peers
          .request(
            'session',
            { type: 'request', to: c.addr, messageType: MessageType.RELAY_LIST_REQUEST, payload: relayListRequestCodec.encode({ maxCount: RELAY_LIST_MAX }), timeoutMs: RELAY_LIST_TIMEOUT_MS },
            { timeoutMs: RELAY_LIST_TIMEOUT_MS + 2_000 },
          )
          .catch(() => null);
        if (!r || this.#stopped) return;
        try {
          for (const a of relayListResponseCodec.decode(r.payload).announcements) this.#offer(a, 'relay-list');
        } catch {
          /* a bad list costs its sender nothing more than being ignored */
        }
      }),
    );
  }

  #offer(a: RelayAnnouncement, source: 'dht' | 'relay-list'): void {
    if (this.#stopped) return;
    if (toHex(a.relayPubkey) === toHex(this.#d.nodePubkey)) return;
    this.#d.learned(a);
    this.#fw.handle({ type: 'announcement', announcement: a, source }, this.#d.now());
    this.#run();
  }

  #session(type: 'closeTunnel', body: { connId: number }): void {
    if (!this.#d.peers.has('session')) return;
    this.#d.peers.request('session', { type, ...body }, { timeoutMs: 5_000 }).catch(() => {});
  }
}

/**
 * The dial-back verdict: any peer that reached us → 'direct'; every peer that could judge (at least one) failed →
 * 'firewalled'; no judgement (no peers, or only peers without the extension) keeps the previous state.
 */
export function decideReachability(prev: RelayStatus['reachability'], verdicts: readonly string[]): RelayStatus['reachability'] {
  if (verdicts.includes('reachable')) return 'direct';
  if (verdicts.includes('unreachable')) return 'firewalled';
  return prev;
}

function addrText(a: PeerAddr): string {
  const host = a.ip.includes(':') ? `[${a.ip}]` : a.ip;
  return `${a.transport}://${host}:${a.port}`;
}
