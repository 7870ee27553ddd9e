/**
 * The peer DB (PROTOCOL.md §7.2): dialable peer addresses with last-seen times, capabilities learned at the
 * handshake, reputation (+1 success / −2 failure, clamped to ±10) and dial failures with exponential backoff.
 *
 * Only dialable addresses become records: an inbound connection's socket port is ephemeral, so an inbound
 * peer is remembered by identity (`noteIdentity`) and gets an address record only when it offers one
 * (PEX_OFFER on connect) or when we dial it. Times are wall-clock unix milliseconds passed in by the caller
 * (they are persisted, so a monotonic clock would not survive a restart). Randomness is injected.
 * `snapshot()` / `restore()` give JSON-safe plain data for the worker to keep in lmdb.
 */
import type { Random } from '../runtime/random.js';
import { toHex } from '../../protocol/bytes.js';
import { peerAddrKey, type Capabilities, type PeerAddr } from '../../protocol/peer-addr.js';

export type PeerSource = 'bootstrap' | 'pex' | 'lan' | 'dial' | 'api';

export interface PeerRecord {
  /** peerAddrKey(addr): "<ip>:<port>:<Quic|Tcp>". */
  key: string;
  addr: PeerAddr;
  source: PeerSource;
  lastSeen: number;
  capabilities: Capabilities | null;
  capabilitiesSeenAt: number | null;
  reputation: number;
  /** Consecutive dial failures since the last success. */
  failures: number;
  /** Earliest time a dial should be tried again (0 = now). */
  nextDialAt: number;
  /** True once a handshake over this address proved its pubkey hint. */
  verified: boolean;
}

export interface IdentityRecord {
  pubkeyHex: string;
  capabilities: Capabilities;
  capabilitiesSeenAt: number;
  lastSeen: number;
}

export interface PeerDbInit {
  maxRecords?: number;
  maxIdentities?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** PEX answers hold at most this many peers (the reference: 64). */
  pexMaxPeers?: number;
  /** Only peers seen within this window are offered (the reference: 24 h). */
  pexFreshMs?: number;
  /** Capability data is considered fresh this long (the reference: 24 h). */
  capabilitiesFreshMs?: number;
}

export interface PeerDbComponents {
  random: Random;
}

export const REPUTATION_MIN = -10;
export const REPUTATION_MAX = 10;
const DAY_MS = 86_400_000;

// ---------- snapshot format (JSON-safe: hex for bytes, decimal strings for u64)

export interface PeerAddrData {
  ip: string;
  port: number;
  transport: 'quic' | 'tcp';
  pubkeyHint: string | null;
  relayVia?: { relayAddr: PeerAddrData; slotId: string } | null;
}

export interface PeerRecordData extends Omit<PeerRecord, 'addr' | 'key'> {
  addr: PeerAddrData;
}

export interface PeerDbSnapshot {
  version: 1;
  records: PeerRecordData[];
  identities: IdentityRecord[];
}

export function peerAddrToData(p: PeerAddr): PeerAddrData {
  const out: PeerAddrData = { ip: p.ip, port: p.port, transport: p.transport, pubkeyHint: p.pubkeyHint ? toHex(p.pubkeyHint) : null };
  if (p.relayVia) out.relayVia = { relayAddr: peerAddrToData(p.relayVia.relayAddr), slotId: p.relayVia.slotId.toString() };
  return out;
}

export function peerAddrFromData(d: PeerAddrData): PeerAddr {
  const out: PeerAddr = {
    ip: d.ip,
    port: d.port,
    transport: d.transport,
    pubkeyHint: d.pubkeyHint === null ? null : new Uint8Array(Buffer.from(d.pubkeyHint, 'hex')),
  };
  if (d.relayVia) out.relayVia = { relayAddr: peerAddrFromData(d.relayVia.relayAddr), slotId: BigInt(d.relayVia.slotId) };
  return out;
}

const clampRep = (n: number): number => Math.max(REPUTATION_MIN, Math.min(REPUTATION_MAX, n));

export class PeerDb {
  readonly #random: Random;
  readonly #maxRecords: number;
  readonly #maxIdentities: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #pexMaxPeers: number;
  readonly #pexFreshMs: number;
  readonly #capsFreshMs: number;
  readonly #records = new Map<string, PeerRecord>();
  readonly #identities = new Map<string, IdentityRecord>();

  constructor(components: PeerDbComponents, init: PeerDbInit = {}) {
    this.#random = components.random;
    this.#maxRecords = init.maxRecords ?? 4_096;
    this.#maxIdentities = init.maxIdentities ?? 4_096;
    this.#backoffBaseMs = init.backoffBaseMs ?? 1_000;
    this.#backoffMaxMs = init.backoffMaxMs ?? 600_000;
    this.#pexMaxPeers = init.pexMaxPeers ?? 64;
    this.#pexFreshMs = init.pexFreshMs ?? DAY_MS;
    this.#capsFreshMs = init.capabilitiesFreshMs ?? DAY_MS;
  }

  get size(): number {
    return this.#records.size;
  }

  get(addrOrKey: PeerAddr | string): PeerRecord | undefined {
    return this.#records.get(typeof addrOrKey === 'string' ? addrOrKey : peerAddrKey(addrOrKey));
  }

  all(): PeerRecord[] {
    return [...this.#records.values()];
  }

  identity(pubkey: Uint8Array): IdentityRecord | undefined {
    return this.#identities.get(toHex(pubkey));
  }

  /** Capabilities of an address, if learned within the freshness window. */
  freshCapabilities(addrOrKey: PeerAddr | string, now: number): Capabilities | null {
    const r = this.get(addrOrKey);
    if (!r || r.capabilities === null || r.capabilitiesSeenAt === null) return null;
    return now - r.capabilitiesSeenAt <= this.#capsFreshMs ? r.capabilities : null;
  }

  /**
   * Records (or refreshes) a dialable address: bootstrap config, a validated PEX offer, LAN discovery.
   * A hint proven by a handshake is never replaced by an unproven one.
   */
  upsert(addr: PeerAddr, now: number, opts: { source: PeerSource; capabilities?: Capabilities | null }): PeerRecord {
    const key = peerAddrKey(addr);
    let r = this.#records.get(key);
    if (r === undefined) {
      r = {
        key,
        addr: cloneAddr(addr),
        source: opts.source,
        lastSeen: now,
        capabilities: null,
        capabilitiesSeenAt: null,
        reputation: 0,
        failures: 0,
        nextDialAt: 0,
        verified: false,
      };
      this.#records.set(key, r);
      this.#evictIfFull(key);
    } else {
      r.lastSeen = Math.max(r.lastSeen, now);
      if (!r.verified && addr.pubkeyHint !== null) r.addr = { ...r.addr, pubkeyHint: addr.pubkeyHint.slice() };
      if (addr.relayVia !== undefined && !r.verified) r.addr = { ...r.addr, relayVia: addr.relayVia };
      if (opts.source === 'bootstrap') r.source = 'bootstrap';
    }
    if (opts.capabilities) {
      r.capabilities = { ...opts.capabilities };
      r.capabilitiesSeenAt = now;
    }
    if (!r.capabilities && r.addr.pubkeyHint) {
      const id = this.#identities.get(toHex(r.addr.pubkeyHint));
      if (id) {
        r.capabilities = id.capabilities;
        r.capabilitiesSeenAt = id.capabilitiesSeenAt;
      }
    }
    return r;
  }

  /**
   * A handshake completed with `pubkey` (either direction). Remembers its capabilities by identity and
   * copies them onto every address record carrying that hint. Creates no address record.
   */
  noteIdentity(pubkey: Uint8Array, capabilities: Capabilities, now: number): void {
    const hex = toHex(pubkey);
    this.#identities.delete(hex); // re-insert: Map order = recency, for eviction
    this.#identities.set(hex, { pubkeyHex: hex, capabilities: { ...capabilities }, capabilitiesSeenAt: now, lastSeen: now });
    while (this.#identities.size > this.#maxIdentities) {
      const first = this.#identities.keys().next();
      if (first.done) break;
      this.#identities.delete(first.value);
    }
    for (const r of this.#records.values()) {
      if (r.addr.pubkeyHint && toHex(r.addr.pubkeyHint) === hex) {
        r.capabilities = { ...capabilities };
        r.capabilitiesSeenAt = now;
        r.lastSeen = Math.max(r.lastSeen, now);
      }
    }
  }

  /** An outbound dial to `addr` completed its handshake as `pubkey`. */
  recordDialSuccess(addr: PeerAddr, pubkey: Uint8Array, capabilities: Capabilities, now: number): PeerRecord {
    const r = this.upsert(addr, now, { source: 'dial' });
    r.addr = { ...r.addr, pubkeyHint: pubkey.slice() };
    r.verified = true;
    r.failures = 0;
    r.nextDialAt = 0;
    r.reputation = clampRep(r.reputation + 1);
    this.noteIdentity(pubkey, capabilities, now);
    return r;
  }

  /** A dial (connect or handshake) failed: −2 reputation and exponential backoff with jitter. */
  recordDialFailure(addrOrKey: PeerAddr | string, now: number): PeerRecord | undefined {
    const r = this.get(addrOrKey);
    if (!r) return undefined;
    r.failures++;
    r.reputation = clampRep(r.reputation - 2);
    r.nextDialAt = now + this.backoffMs(r.failures);
    return r;
  }

  /** Outcome of a request served by this peer (no backoff change). */
  recordOutcome(addrOrKey: PeerAddr | string, ok: boolean): void {
    const r = this.get(addrOrKey);
    if (r) r.reputation = clampRep(r.reputation + (ok ? 1 : -2));
  }

  /** base·2^(failures−1), capped, with ±25 % jitter drawn from the injected Random. */
  backoffMs(failures: number): number {
    if (failures <= 0) return 0;
    const exp = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** Math.min(failures - 1, 30));
    const jitter = 0.75 + this.#random.next() * 0.5;
    return Math.min(this.#backoffMaxMs, Math.round(exp * jitter));
  }

  /** Records whose backoff has elapsed, best first (reputation, then most recently seen). */
  dialCandidates(now: number, limit = Infinity): PeerRecord[] {
    return this.all()
      .filter((r) => r.nextDialAt <= now)
      .sort((a, b) => b.reputation - a.reputation || b.lastSeen - a.lastSeen || (a.key < b.key ? -1 : 1))
      .slice(0, limit);
  }

  /** Up to min(max, 64) peers seen within 24 h, drawn uniformly at random (PEX_OFFER body). */
  pexSample(max: number, now: number, exclude?: (r: PeerRecord) => boolean): PeerAddr[] {
    const n = Math.max(0, Math.min(Math.floor(max), this.#pexMaxPeers));
    const pool = this.all().filter((r) => now - r.lastSeen <= this.#pexFreshMs && !(exclude?.(r) ?? false));
    // Partial Fisher–Yates: the first n slots become a uniform sample without replacement.
    const k = Math.min(n, pool.length);
    for (let i = 0; i < k; i++) {
      const j = i + this.#random.int(pool.length - i);
      const t = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = t;
    }
    return pool.slice(0, k).map((r) => cloneAddr(r.addr));
  }

  remove(addrOrKey: PeerAddr | string): boolean {
    return this.#records.delete(typeof addrOrKey === 'string' ? addrOrKey : peerAddrKey(addrOrKey));
  }

  snapshot(): PeerDbSnapshot {
    return {
      version: 1,
      records: this.all().map((r) => ({
        addr: peerAddrToData(r.addr),
        source: r.source,
        lastSeen: r.lastSeen,
        capabilities: r.capabilities ? { ...r.capabilities } : null,
        capabilitiesSeenAt: r.capabilitiesSeenAt,
        reputation: r.reputation,
        failures: r.failures,
        nextDialAt: r.nextDialAt,
        verified: r.verified,
      })),
      identities: [...this.#identities.values()].map((i) => ({ ...i, capabilities: { ...i.capabilities } })),
    };
  }

  /** Replaces the contents with a snapshot (records beyond the configured bounds are dropped). */
  restore(s: PeerDbSnapshot): void {
    this.#records.clear();
    this.#identities.clear();
    for (const d of s.records) {
      const addr = peerAddrFromData(d.addr);
      const key = peerAddrKey(addr);
      this.#records.set(key, {
        key,
        addr,
        source: d.source,
        lastSeen: d.lastSeen,
        capabilities: d.capabilities ? { ...d.capabilities } : null,
        capabilitiesSeenAt: d.capabilitiesSeenAt,
        reputation: clampRep(d.reputation),
        failures: d.failures,
        nextDialAt: d.nextDialAt,
        verified: d.verified,
      });
      this.#evictIfFull(key);
    }
    for (const i of s.identities.slice(-this.#maxIdentities)) this.#identities.set(i.pubkeyHex, { ...i, capabilities: { ...i.capabilities } });
  }

  /** Evicts the least recently seen non-bootstrap record (never `keep`) while over capacity. */
  #evictIfFull(keep: string): void {
    while (this.#records.size > this.#maxRecords) {
      let victim: PeerRecord | undefined;
      for (const r of this.#records.values()) {
        if (r.key === keep || r.source === 'bootstrap') continue;
        if (!victim || r.lastSeen < victim.lastSeen || (r.lastSeen === victim.lastSeen && r.reputation < victim.reputation)) victim = r;
      }
      if (!victim) {
        // Everything left is bootstrap config or the new record: drop the newcomer rather than config.
        if (this.#records.size > this.#maxRecords) this.#records.delete(keep);
        return;
      }
      this.#records.delete(victim.key);
    }
  }
}

function cloneAddr(a: PeerAddr): PeerAddr {
  const out: PeerAddr = { ip: a.ip, port: a.port, transport: a.transport, pubkeyHint: a.pubkeyHint ? a.pubkeyHint.slice() : null };
  if (a.relayVia) out.relayVia = { relayAddr: cloneAddr(a.relayVia.relayAddr), slotId: a.relayVia.slotId };
  return out;
}
