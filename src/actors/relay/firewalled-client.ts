/**
 * The firewalled side of tunnel mode (PROTOCOL.md §9.3, §9.4), as a pure state machine. While the node is
 * firewalled it keeps one tunnel: choose a relay, dial it, send RELAY_REGISTER {relay_slot_id: null,
 * tunnel: true} (req_id 1, 10 s), and on RELAY_REGISTERED advertise `PeerAddr{self, relay_via: {relay, slot}}`.
 * Every 30 s it asks the session whether the tunnel is still up; a dropped tunnel withdraws the address and
 * re-registers, rotating away from relays that failed.
 *
 * Relay choice: configured relays come first (while one is untried in this round); then fresh peers (capability
 * `relay` seen within 24 h) plus fresh announcement addresses, else any peer seen within 24 h; among those not
 * yet tried in this round keep only the best RelayScore and go round-robin among them. RelayScore is the reference's (relay.rs): score =
 * (successes − 3·failures) / (2·total) clamped to ±1, latency EMA (3·avg + new) / 4, decayed 0.95 per full hour
 * since the last probe.
 *
 * `now` is unix milliseconds. Inputs via handle(), effects via pollEffect(), timers via nextDeadline().
 */
import { toHex } from '../../protocol/bytes.js';
import { peerAddrKey, type Capabilities, type PeerAddr } from '../../protocol/peer-addr.js';
import { checkRelayAnnouncement, type RelayAnnouncement } from '../../protocol/relay-announcement.js';
import type { ConnId } from './tunnel-core.js';

export const TUNNEL_RECHECK_MS = 30_000;
export const RELAY_REGISTER_TIMEOUT_MS = 10_000;
/** TCP/QUIC connect (5 s) plus the handshake. */
export const RELAY_DIAL_TIMEOUT_MS = 15_000;
export const RELAY_FRESHNESS_MS = 86_400_000;
export const RELAY_REGISTER_REQ_ID = 1;

/** Where a candidate came from (shown by relayStatus). */
export type CandidateSource = 'config' | 'lan' | 'peer' | 'dht' | 'relay-list';

export interface RelayCandidate {
  addr: PeerAddr;
  /** 'peer' when absent. */
  source?: 'lan' | 'peer';
  capabilities?: Capabilities | null;
  /** Unix ms the capabilities were learned (handshake, LAN announcement). */
  capabilitiesSeenAt?: number | null;
  /** Unix ms the peer was last seen. */
  lastSeen: number;
}

export interface RelayScore {
  successCount: number;
  failureCount: number;
  avgLatencyMs: number;
  /** Unix ms of the last success or failure. */
  lastProbeAt: number;
  score: number;
}

export function newRelayScore(now: number): RelayScore {
  return { successCount: 0, failureCount: 0, avgLatencyMs: 0, lastProbeAt: now, score: 0 };
}

export function recordRelaySuccess(s: RelayScore, latencyMs: number, now: number): void {
  s.successCount++;
  s.avgLatencyMs = s.avgLatencyMs === 0 ? Math.max(0, Math.round(latencyMs)) : Math.floor((s.avgLatencyMs * 3 + Math.max(0, latencyMs)) / 4);
  s.lastProbeAt = now;
  recompute(s);
}

export function recordRelayFailure(s: RelayScore, now: number): void {
  s.failureCount++;
  s.lastProbeAt = now;
  recompute(s);
}

/** The score with the 0.95-per-hour decay toward 0 applied at `now` (not stored). */
export function effectiveRelayScore(s: RelayScore, now: number): number {
  const hours = Math.min(100, Math.floor(Math.max(0, now - s.lastProbeAt) / 3_600_000));
  return s.score * Math.pow(0.95, hours);
}

function recompute(s: RelayScore): void {
  const total = s.successCount + s.failureCount;
  s.score = total === 0 ? 0 : Math.max(-1, Math.min(1, (s.successCount - 3 * s.failureCount) / (total * 2)));
}

export type FirewalledInput =
  | { type: 'set-firewalled'; firewalled: boolean }
  /** Our own direct address (ip/port/tcp) that goes into the advertised relay_via PeerAddr. */
  | { type: 'set-self-addr'; addr: PeerAddr }
  /** Relays from the configuration (`relays`): always candidates, tried first. */
  | { type: 'configured'; relays: PeerAddr[] }
  /** A snapshot of the peer DB's candidates (replaces the previous one). */
  | { type: 'peers'; peers: RelayCandidate[] }
  /** An announcement from the DHT, LAN or RELAY_LIST_RESPONSE (validated here). */
  | { type: 'announcement'; announcement: RelayAnnouncement; source?: 'dht' | 'relay-list' | 'lan' }
  | { type: 'dialed'; attempt: number; conn: ConnId }
  | { type: 'dial-failed'; attempt: number; reason: string }
  | { type: 'registered'; attempt: number; slotId: bigint; expiresAt: bigint }
  | { type: 'register-failed'; attempt: number; reason: string }
  /** The tunnel connection is gone (also the answer to 'check-tunnel' when it is). */
  | { type: 'tunnel-closed'; conn: ConnId };

export type FirewalledEffect =
  /** Open a session to `relay` (handshake expecting `relay.pubkeyHint` if set); answer 'dialed' / 'dial-failed'. */
  | { kind: 'dial'; attempt: number; relay: PeerAddr }
  /**
   * On `conn`, send RELAY_REGISTER {relay_slot_id: null, tunnel: true} with `reqId` and wait `timeoutMs`;
   * answer 'registered' / 'register-failed'. After RELAY_REGISTERED, serve the relay's requests on `conn`
   * (no peer identity, no rate limit, refuse relay requests) and report 'tunnel-closed' when it ends.
   */
  | { kind: 'send-register'; attempt: number; conn: ConnId; reqId: number; timeoutMs: number }
  | { kind: 'close'; conn: ConnId }
  /** Answer 'tunnel-closed' if `conn` is no longer open (else nothing). */
  | { kind: 'check-tunnel'; conn: ConnId }
  /** Advertise `addr` (with relay_via) in provider records and member lists; null withdraws it. */
  | { kind: 'advertise'; addr: PeerAddr | null };

export interface FirewalledClientInit {
  firewalled?: boolean;
  selfAddr?: PeerAddr;
  /** Our node key: never choose ourselves. */
  localPubkey?: Uint8Array;
  recheckMs?: number;
  registerTimeoutMs?: number;
  dialTimeoutMs?: number;
  freshnessMs?: number;
}

type State =
  | { kind: 'idle' }
  | { kind: 'waiting'; nextAt: number }
  | { kind: 'dialing'; attempt: number; relay: PeerAddr; key: string; startedAt: number; deadline: number }
  | { kind: 'registering'; attempt: number; relay: PeerAddr; key: string; conn: ConnId; startedAt: number; deadline: number }
  | { kind: 'tunneled'; relay: PeerAddr; key: string; conn: ConnId; slotId: bigint; expiresAt: bigint; nextCheck: number };

const relayKeyOf = (a: PeerAddr): string => (a.pubkeyHint ? `pubkey:${toHex(a.pubkeyHint)}` : peerAddrKey(a));

export class FirewalledClient {
  #state: State = { kind: 'idle' };
  #firewalled: boolean;
  #self: PeerAddr | undefined;
  readonly #localKey: string | undefined;
  readonly #recheckMs: number;
  readonly #registerTimeoutMs: number;
  readonly #dialTimeoutMs: number;
  readonly #freshMs: number;
  #peers: RelayCandidate[] = [];
  #configured: PeerAddr[] = [];
  readonly #announcements = new Map<string, { a: RelayAnnouncement; source: CandidateSource }>();
  readonly #scores = new Map<string, RelayScore>();
  readonly #tried = new Set<string>();
  #rr = 0;
  #attempt = 0;
  #advertised: PeerAddr | null = null;
  readonly #effects: FirewalledEffect[] = [];

  constructor(init: FirewalledClientInit = {}, now = 0) {
    this.#firewalled = init.firewalled === true;
    this.#self = init.selfAddr;
    this.#localKey = init.localPubkey ? `pubkey:${toHex(init.localPubkey)}` : undefined;
    this.#recheckMs = init.recheckMs ?? TUNNEL_RECHECK_MS;
    this.#registerTimeoutMs = init.registerTimeoutMs ?? RELAY_REGISTER_TIMEOUT_MS;
    this.#dialTimeoutMs = init.dialTimeoutMs ?? RELAY_DIAL_TIMEOUT_MS;
    this.#freshMs = init.freshnessMs ?? RELAY_FRESHNESS_MS;
    if (this.#firewalled) this.#state = { kind: 'waiting', nextAt: now };
  }

  /** 'idle' | 'waiting' | 'dialing' | 'registering' | 'tunneled', plus the tunnel's relay and slot when up. */
  get status(): { state: State['kind']; relay?: PeerAddr; slotId?: bigint; expiresAt?: bigint; conn?: ConnId; advertised: PeerAddr | null } {
    const s = this.#state;
    return s.kind === 'tunneled'
      ? { state: s.kind, relay: s.relay, slotId: s.slotId, expiresAt: s.expiresAt, conn: s.conn, advertised: this.#advertised }
      : { state: s.kind, advertised: this.#advertised };
  }

  get firewalled(): boolean {
    return this.#firewalled;
  }

  score(relayKey: string, now: number): number {
    const s = this.#scores.get(relayKey);
    return s ? effectiveRelayScore(s, now) : 0;
  }

  relayScore(relayKey: string): Readonly<RelayScore> | undefined {
    return this.#scores.get(relayKey);
  }

  handle(input: FirewalledInput, now: number): void {
    const s = this.#state;
    switch (input.type) {
      case 'set-firewalled':
        if (input.firewalled === this.#firewalled) return;
        this.#firewalled = input.firewalled;
        if (input.firewalled) {
          this.#state = { kind: 'waiting', nextAt: now };
          this.#tick(now);
        } else {
          this.#abandon();
          this.#state = { kind: 'idle' };
          this.#advertise(null);
        }
        return;
      case 'set-self-addr':
        this.#self = { ip: input.addr.ip, port: input.addr.port, transport: input.addr.transport, pubkeyHint: input.addr.pubkeyHint };
        if (s.kind === 'tunneled') this.#advertise(this.#relayAddr(s.relay, s.slotId));
        return;
      case 'peers':
        this.#peers = input.peers.slice();
        this.#maybeStart(now);
        return;
      case 'configured':
        this.#configured = input.relays.map((a) => ({ ip: a.ip, port: a.port, transport: a.transport, pubkeyHint: a.pubkeyHint }));
        this.#maybeStart(now);
        return;
      case 'announcement': {
        const a = input.announcement;
        if (checkRelayAnnouncement(a, BigInt(Math.floor(now / 1000))) !== null) return;
        const k = toHex(a.relayPubkey);
        const old = this.#announcements.get(k);
        if (!old || old.a.issuedAt < a.issuedAt) this.#announcements.set(k, { a, source: input.source ?? old?.source ?? 'dht' });
        this.#maybeStart(now);
        return;
      }
      case 'dialed':
        if (s.kind !== 'dialing' || s.attempt !== input.attempt) {
          this.#effects.push({ kind: 'close', conn: input.conn }); // a stale dial: not ours any more
          return;
        }
        this.#state = { ...s, kind: 'registering', conn: input.conn, deadline: now + this.#registerTimeoutMs };
        this.#effects.push({ kind: 'send-register', attempt: s.attempt, conn: input.conn, reqId: RELAY_REGISTER_REQ_ID, timeoutMs: this.#registerTimeoutMs });
        return;
      case 'dial-failed':
        if (s.kind === 'dialing' && s.attempt === input.attempt) this.#failed(s.key, now);
        return;
      case 'registered':
        if (s.kind !== 'registering' || s.attempt !== input.attempt) return;
        this.#scoreOf(s.key, now);
        recordRelaySuccess(this.#scores.get(s.key)!, now - s.startedAt, now);
        this.#tried.clear();
        this.#state = { kind: 'tunneled', relay: s.relay, key: s.key, conn: s.conn, slotId: input.slotId, expiresAt: input.expiresAt, nextCheck: now + this.#recheckMs };
        this.#advertise(this.#relayAddr(s.relay, input.slotId));
        return;
      case 'register-failed':
        if (s.kind !== 'registering' || s.attempt !== input.attempt) return;
        this.#effects.push({ kind: 'close', conn: s.conn });
        this.#failed(s.key, now);
        return;
      case 'tunnel-closed':
        if (s.kind === 'tunneled' && s.conn === input.conn) {
          this.#advertise(null);
          this.#failed(s.key, now);
        } else if (s.kind === 'registering' && s.conn === input.conn) {
          this.#failed(s.key, now);
        }
        return;
    }
  }

  handleTimeout(now: number): void {
    const s = this.#state;
    if ((s.kind === 'dialing' || s.kind === 'registering') && now >= s.deadline) {
      if (s.kind === 'registering') this.#effects.push({ kind: 'close', conn: s.conn });
      this.#failed(s.key, now);
      return;
    }
    if (s.kind === 'tunneled' && now >= s.nextCheck) {
      s.nextCheck = now + this.#recheckMs;
      this.#effects.push({ kind: 'check-tunnel', conn: s.conn });
      return;
    }
    if (s.kind === 'waiting' && now >= s.nextAt) {
      this.#tried.clear();
      this.#tick(now);
    }
  }

  nextDeadline(): number | undefined {
    const s = this.#state;
    switch (s.kind) {
      case 'idle':
        return undefined;
      case 'waiting':
        return s.nextAt;
      case 'tunneled':
        return s.nextCheck;
      default:
        return s.deadline;
    }
  }

  pollEffect(): FirewalledEffect | undefined {
    return this.#effects.shift();
  }

  /** The relays selection would consider now, best first (for status pages and tests); configured ones first. */
  candidates(now: number): { key: string; addr: PeerAddr; score: number; source: CandidateSource; sources: CandidateSource[] }[] {
    type Entry = { addr: PeerAddr; source: CandidateSource; sources: Set<CandidateSource> };
    const fresh = new Map<string, Entry>();
    // One relay may be known by its key (announcements, handshakes) and by its bare address (configuration):
    // the first entry for a key or an address wins, so it is listed and tried once; later ones add their source.
    const byAddr = new Map<string, Entry>();
    const put = (m: Map<string, Entry>, a: PeerAddr, source: CandidateSource): void => {
      const k = relayKeyOf(a);
      const ak = peerAddrKey(a);
      if (k === this.#localKey || this.#isSelf(a) || a.relayVia) return;
      const known = m.get(k) ?? byAddr.get(ak);
      if (known) {
        known.sources.add(source);
        // A LAN or configured entry (address only) learns the relay's key from a later entry for the same address.
        if (!known.addr.pubkeyHint && a.pubkeyHint) known.addr = { ...known.addr, pubkeyHint: a.pubkeyHint };
        return;
      }
      const e: Entry = { addr: a, source, sources: new Set([source]) };
      byAddr.set(ak, e);
      m.set(k, e);
    };
    for (const a of this.#configured) put(fresh, a, 'config');
    for (const p of this.#peers) {
      if (p.capabilities?.relay && p.capabilitiesSeenAt != null && now - p.capabilitiesSeenAt < this.#freshMs) put(fresh, p.addr, p.source ?? 'peer');
    }
    const t = BigInt(Math.floor(now / 1000));
    for (const [k, { a, source }] of this.#announcements) {
      if (t >= a.expiresAt) {
        this.#announcements.delete(k);
        continue;
      }
      const addr = a.relayAddrs.find((x) => x.transport === 'tcp') ?? a.relayAddrs[0]!;
      put(fresh, { ip: addr.ip, port: addr.port, transport: addr.transport, pubkeyHint: a.relayPubkey }, source);
    }
    let pool = fresh;
    if (pool.size === 0) {
      pool = new Map();
      byAddr.clear();
      for (const p of this.#peers) if (now - p.lastSeen < this.#freshMs) put(pool, p.addr, p.source ?? 'peer');
    }
    const rank = (e: { source: CandidateSource }): number => (e.source === 'config' ? 0 : 1);
    return [...pool]
      .map(([key, { addr, source, sources }]) => ({
        key,
        addr: { ip: addr.ip, port: addr.port, transport: addr.transport, pubkeyHint: addr.pubkeyHint },
        score: this.score(key, now),
        source,
        sources: [...sources],
      }))
      .sort((a, b) => rank(a) - rank(b) || b.score - a.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The next relay to try: an untried configured relay if any, else best score among untried candidates, round-robin among ties. */
  chooseRelay(now: number): { key: string; addr: PeerAddr } | undefined {
    let c = this.candidates(now).filter((x) => !this.#tried.has(x.key));
    if (c.length === 0) return undefined;
    if (c[0]!.source === 'config') c = c.filter((x) => x.source === 'config');
    const best = c[0]!.score;
    const top = c.filter((x) => Math.abs(x.score - best) < 1e-9);
    return top[this.#rr++ % top.length];
  }

  /** New candidates while waiting: try them now rather than at the next re-check. */
  #maybeStart(now: number): void {
    if (this.#state.kind === 'waiting' && this.#firewalled && this.candidates(now).some((x) => !this.#tried.has(x.key))) this.#tick(now);
  }

  #tick(now: number): void {
    if (!this.#firewalled) return;
    const pick = this.chooseRelay(now);
    if (!pick) {
      this.#state = { kind: 'waiting', nextAt: now + this.#recheckMs };
      return;
    }
    this.#tried.add(pick.key);
    const attempt = ++this.#attempt;
    this.#state = { kind: 'dialing', attempt, relay: pick.addr, key: pick.key, startedAt: now, deadline: now + this.#dialTimeoutMs };
    this.#effects.push({ kind: 'dial', attempt, relay: pick.addr });
  }

  #failed(key: string, now: number): void {
    this.#scoreOf(key, now);
    recordRelayFailure(this.#scores.get(key)!, now);
    this.#state = { kind: 'waiting', nextAt: now + this.#recheckMs };
    // Rotate at once to a relay not tried in this round; when all were, wait for the re-check.
    this.#tick(now);
  }

  #abandon(): void {
    const s = this.#state;
    if (s.kind === 'registering' || s.kind === 'tunneled') this.#effects.push({ kind: 'close', conn: s.conn });
    this.#tried.clear();
  }

  #scoreOf(key: string, now: number): RelayScore {
    let s = this.#scores.get(key);
    if (!s) this.#scores.set(key, (s = newRelayScore(now)));
    return s;
  }

  #isSelf(a: PeerAddr): boolean {
    return this.#self !== undefined && a.ip === this.#self.ip && a.port === this.#self.port && a.transport === this.#self.transport;
  }

  #relayAddr(relay: PeerAddr, slotId: bigint): PeerAddr | null {
    if (!this.#self) return null;
    return {
      ip: this.#self.ip,
      port: this.#self.port,
      transport: this.#self.transport,
      pubkeyHint: this.#self.pubkeyHint,
      relayVia: { relayAddr: { ip: relay.ip, port: relay.port, transport: relay.transport, pubkeyHint: relay.pubkeyHint }, slotId },
    };
  }

  #advertise(addr: PeerAddr | null): void {
    if (addr === null && this.#advertised === null) return;
    this.#advertised = addr;
    this.#effects.push({ kind: 'advertise', addr });
  }
}
