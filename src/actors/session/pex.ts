/**
 * PEX policy (PROTOCOL.md §7.2). On every new session each side pushes a PEX_OFFER holding its own dialable
 * addresses (the handshake carries no listen port) and sends a PEX_REQUEST; afterwards each session is asked
 * again every `intervalMs` (jittered). Offers are validated before they reach the peer DB: the reference
 * upserts whatever it is sent, we drop unroutable and garbage addresses and bound what one offer may add.
 *
 * Times are unix milliseconds, the same base the peer DB uses.
 */
import { isIP } from 'node:net';
import type { Random } from '../runtime/random.js';
import { bytesEqual } from '../../protocol/bytes.js';
import { ipToBytes, peerAddrKey, type PeerAddr } from '../../protocol/peer-addr.js';
import type { PexOffer, PexRequest } from '../../protocol/pex.js';
import type { PeerDb } from './peer-db.js';

export const PEX_MAX_PEERS = 64;

// ---------- address classification

export type AddrScope = 'unroutable' | 'loopback' | 'private' | 'public';

/** Where an IP can be reached from: nowhere, this host, a private network, or anywhere. */
export function ipScope(ip: string): AddrScope {
  const kind = isIP(ip);
  if (kind === 0) return 'unroutable';
  const b = ipToBytes(ip);
  if (kind === 6) {
    const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
    if (mapped) return v4Scope(b.subarray(12));
    if (b.every((x, i) => (i === 15 ? x === 1 : x === 0))) return 'loopback';
    if (b.every((x) => x === 0)) return 'unroutable';
    if (b[0] === 0xff) return 'unroutable'; // multicast
    if ((b[0]! & 0xfe) === 0xfc) return 'private'; // fc00::/7 unique local
    if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'private'; // fe80::/10 link local
    if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return 'unroutable'; // documentation
    return 'public';
  }
  return v4Scope(b);
}

function v4Scope(b: Uint8Array): AddrScope {
  const [a, c] = [b[0]!, b[1]!];
  if (a === 0) return 'unroutable'; // 0.0.0.0/8
  if (a === 127) return 'loopback';
  if (a >= 224) return 'unroutable'; // multicast, reserved, broadcast
  if (a === 10 || (a === 172 && c >= 16 && c <= 31) || (a === 192 && c === 168)) return 'private';
  if (a === 169 && c === 254) return 'private'; // link local
  if (a === 100 && c >= 64 && c <= 127) return 'private'; // carrier-grade NAT
  return 'public';
}

const SCOPE_RANK: Record<AddrScope, number> = { unroutable: -1, loopback: 0, private: 1, public: 2 };

export type AddrRejection = 'unroutable' | 'bad-port' | 'out-of-scope' | 'self' | 'per-ip-cap' | 'bad-relay';

/**
 * Whether an offered address is worth recording, judged from the sender's own IP: a public sender's offer
 * of a loopback or private address is useless to us (or an attempt to aim us at our own network).
 */
export function checkOfferedAddr(a: PeerAddr, senderIp: string, depth = 0): AddrRejection | undefined {
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65_535) return 'bad-port';
  const scope = ipScope(a.ip);
  if (scope === 'unroutable') return 'unroutable';
  const senderScope = ipScope(senderIp);
  if (SCOPE_RANK[scope] < SCOPE_RANK[senderScope === 'unroutable' ? 'public' : senderScope]) return 'out-of-scope';
  if (a.relayVia) {
    if (depth >= 1) return 'bad-relay';
    const r = checkOfferedAddr(a.relayVia.relayAddr, senderIp, depth + 1);
    if (r !== undefined) return 'bad-relay';
  }
  return undefined;
}

// ---------- merging and answering

export interface MergeContext {
  /** The remote IP of the session the offer came on. */
  senderIp: string;
  /** Our own node key: offers of ourselves are dropped. */
  selfPubkey: Uint8Array;
  /** peerAddrKey of our own listen addresses. */
  selfAddrKeys: ReadonlySet<string>;
  now: number;
  /** At most this many addresses per IP from one offer (ports are cheap for an attacker). */
  maxPerIp?: number;
}

export interface MergeResult {
  accepted: number;
  rejected: { addr: PeerAddr; reason: AddrRejection }[];
}

export function mergePexOffer(db: PeerDb, offer: PexOffer, ctx: MergeContext): MergeResult {
  const maxPerIp = ctx.maxPerIp ?? 4;
  const perIp = new Map<string, number>();
  const out: MergeResult = { accepted: 0, rejected: [] };
  for (const a of offer.peers.slice(0, PEX_MAX_PEERS)) {
    let reason = checkOfferedAddr(a, ctx.senderIp);
    if (reason === undefined && (ctx.selfAddrKeys.has(peerAddrKey(a)) || (a.pubkeyHint !== null && bytesEqual(a.pubkeyHint, ctx.selfPubkey)))) {
      reason = 'self';
    }
    if (reason === undefined) {
      const n = perIp.get(a.ip) ?? 0;
      if (n >= maxPerIp) reason = 'per-ip-cap';
      perIp.set(a.ip, n + 1);
    }
    if (reason !== undefined) {
      out.rejected.push({ addr: a, reason });
      continue;
    }
    db.upsert(a, ctx.now, { source: 'pex' });
    out.accepted++;
  }
  return out;
}

/** The PEX_OFFER body answering a PEX_REQUEST: a fresh random sample, never the requester itself. */
export function answerPexRequest(db: PeerDb, request: PexRequest, now: number, requesterPubkey: Uint8Array | null): PexOffer {
  const exclude = requesterPubkey
    ? (r: { addr: PeerAddr }) => r.addr.pubkeyHint !== null && bytesEqual(r.addr.pubkeyHint, requesterPubkey)
    : undefined;
  return { peers: db.pexSample(Math.min(request.maxPeers, PEX_MAX_PEERS), now, exclude) };
}

/** The PEX_OFFER pushed on connect: our own dialable addresses, each hinted with our key. */
export function ownOffer(ownAddrs: readonly PeerAddr[], selfPubkey: Uint8Array): PexOffer {
  return {
    peers: ownAddrs
      .filter((a) => ipScope(a.ip) !== 'unroutable' && a.port > 0)
      .slice(0, PEX_MAX_PEERS)
      .map((a) => ({ ...a, pubkeyHint: a.pubkeyHint ?? selfPubkey })),
  };
}

// ---------- scheduling

export interface PexSchedulerInit {
  /** Period between PEX_REQUESTs on one session (default 5 min), jittered ±20 %. */
  intervalMs?: number;
  maxPeers?: number;
}

export type PexEffect =
  | { kind: 'pex-offer'; conn: number }
  | { kind: 'pex-request'; conn: number; request: PexRequest };

/** Decides when each session sends PEX (sans-I/O: `handleTimeout(now)`, `pollEffect()`, `nextDeadline()`). */
export class PexScheduler {
  readonly #random: Random;
  readonly #intervalMs: number;
  readonly #maxPeers: number;
  readonly #due = new Map<number, number>();
  readonly #effects: PexEffect[] = [];

  constructor(components: { random: Random }, init: PexSchedulerInit = {}) {
    this.#random = components.random;
    this.#intervalMs = init.intervalMs ?? 300_000;
    this.#maxPeers = Math.min(init.maxPeers ?? PEX_MAX_PEERS, PEX_MAX_PEERS);
  }

  /** A session finished its handshake: offer our addresses and ask for peers now. */
  connected(conn: number, now: number): void {
    this.#effects.push({ kind: 'pex-offer', conn }, { kind: 'pex-request', conn, request: { maxPeers: this.#maxPeers } });
    this.#due.set(conn, now + this.#jittered());
  }

  disconnected(conn: number): void {
    this.#due.delete(conn);
  }

  handleTimeout(now: number): void {
    for (const [conn, at] of this.#due) {
      if (at > now) continue;
      this.#effects.push({ kind: 'pex-request', conn, request: { maxPeers: this.#maxPeers } });
      this.#due.set(conn, now + this.#jittered());
    }
  }

  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const at of this.#due.values()) if (min === undefined || at < min) min = at;
    return min;
  }

  pollEffect(): PexEffect | undefined {
    return this.#effects.shift();
  }

  #jittered(): number {
    return Math.round(this.#intervalMs * (0.8 + 0.4 * this.#random.next()));
  }
}
