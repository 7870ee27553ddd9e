/**
 * Relay discovery data (PROTOCOL.md §9.4, §6.7): a cache of validated RelayAnnouncements (newest per relay
 * pubkey, pruned at expiry) that answers RELAY_LIST_REQUEST, plus the DHT rendezvous plans: a relay publishes
 * under its 2 slot keys of the current hour bucket with ttl = max(seconds to bucket end, 24 h), and a client
 * discovers by probing all 16 slot keys of the current bucket.
 *
 * Pure: `now` is unix milliseconds; announcement times are unix seconds (bigint) as on the wire.
 */
import { toHex } from '../../protocol/bytes.js';
import { relayRendezvousKeysForBucket, rendezvousBucket } from '../../protocol/dht-keys.js';
import { RENDEZVOUS_BUCKET_SECS, RELAY_ANNOUNCEMENT_MAX_TTL_SECS } from '../../protocol/limits.js';
import type { Capabilities, PeerAddr } from '../../protocol/peer-addr.js';
import {
  checkRelayAnnouncement,
  DEFAULT_RELAY_CAPACITY,
  encodeRelayAnnouncement,
  relayAnnouncementKeys,
  signRelayAnnouncement,
  type RelayAnnouncement,
  type RelayAnnouncementInvalidReason,
  type RelayCapacity,
} from '../../protocol/relay-announcement.js';

export const DHT_MIN_STORE_TTL_SECS = 86_400;
export const RELAY_ANNOUNCE_INTERVAL_SECS = 1_800;
export const RELAY_ANNOUNCE_MIN_INTERVAL_SECS = 60;
export const RELAY_DIRECTORY_MAX_ENTRIES = 1_024;

const secs = (nowMs: number): bigint => BigInt(Math.floor(nowMs / 1000));

export type OfferResult =
  | { accepted: true; replaced: boolean }
  | { accepted: false; reason: RelayAnnouncementInvalidReason | 'older' | 'full' };

export class RelayDirectory {
  readonly #byKey = new Map<string, RelayAnnouncement>();
  readonly #max: number;

  constructor(init: { maxEntries?: number } = {}) {
    this.#max = init.maxEntries ?? RELAY_DIRECTORY_MAX_ENTRIES;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Validates (structure, strict signature, now < expires_at) and caches `a` if it is the newest seen for its
   * relay. When full, the entry that expires first makes room, unless `a` expires before it.
   */
  offer(a: RelayAnnouncement, now: number): OfferResult {
    const reason = checkRelayAnnouncement(a, secs(now));
    if (reason !== null) return { accepted: false, reason };
    this.prune(now);
    const key = toHex(a.relayPubkey);
    const old = this.#byKey.get(key);
    if (old && old.issuedAt >= a.issuedAt) return { accepted: false, reason: 'older' };
    if (!old && this.#byKey.size >= this.#max) {
      const victim = this.#soonestExpiring();
      if (!victim || victim[1].expiresAt >= a.expiresAt) return { accepted: false, reason: 'full' };
      this.#byKey.delete(victim[0]);
    }
    this.#byKey.delete(key);
    this.#byKey.set(key, a);
    return { accepted: true, replaced: old !== undefined };
  }

  get(relayPubkey: Uint8Array, now: number): RelayAnnouncement | undefined {
    this.prune(now);
    return this.#byKey.get(toHex(relayPubkey));
  }

  /** Fresh announcements, newest issued first, at most `maxCount` (the RELAY_LIST_RESPONSE answer). */
  list(maxCount: number, now: number): RelayAnnouncement[] {
    this.prune(now);
    return [...this.#byKey.values()]
      .sort((a, b) => (a.issuedAt === b.issuedAt ? 0 : a.issuedAt > b.issuedAt ? -1 : 1))
      .slice(0, Math.max(0, maxCount));
  }

  prune(now: number): number {
    const t = secs(now);
    let n = 0;
    for (const [k, a] of this.#byKey) {
      if (t >= a.expiresAt) {
        this.#byKey.delete(k);
        n++;
      }
    }
    return n;
  }

  /** Unix ms at which the next entry expires. */
  nextExpiryMs(): number | undefined {
    const v = this.#soonestExpiring();
    return v ? Number(v[1].expiresAt) * 1000 : undefined;
  }

  #soonestExpiring(): [string, RelayAnnouncement] | undefined {
    let best: [string, RelayAnnouncement] | undefined;
    for (const e of this.#byKey) if (!best || e[1].expiresAt < best[1].expiresAt) best = e;
    return best;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Building and publishing our own announcement

export interface OwnAnnouncementInit {
  relayPubkey: Uint8Array;
  relayAddrs: PeerAddr[];
  capacity?: RelayCapacity;
  /** Defaults to relay-only, as the reference forces. */
  capabilities?: Capabilities;
  /** Announcement lifetime; at most 6 h (the default). */
  ttlSecs?: number;
}

/** Our signed announcement issued at `now`. `seed` is the node key seed (signing is pure). */
export function buildRelayAnnouncement(init: OwnAnnouncementInit, now: number, seed: Uint8Array): RelayAnnouncement {
  const issuedAt = secs(now);
  const ttl = BigInt(Math.min(init.ttlSecs ?? RELAY_ANNOUNCEMENT_MAX_TTL_SECS, RELAY_ANNOUNCEMENT_MAX_TTL_SECS));
  const caps = init.capabilities ?? { dht: false, store: false, relay: true, contentSeed: false, mobileLight: false };
  return signRelayAnnouncement(
    {
      relayPubkey: init.relayPubkey,
      relayAddrs: init.relayAddrs.map((a) => ({ ip: a.ip, port: a.port, transport: a.transport, pubkeyHint: a.pubkeyHint })),
      capabilities: { ...caps, relay: true },
      capacity: init.capacity ?? { ...DEFAULT_RELAY_CAPACITY },
      issuedAt,
      expiresAt: issuedAt + ttl,
    },
    seed,
  );
}

export interface PublishPlan {
  /** The relay's 2 rendezvous keys for the bucket of `now`. */
  keys: Uint8Array[];
  /** max(seconds to the end of the bucket, 24 h): the STORE ttl. */
  ttlSecs: number;
  /** The value to STORE: the announcement's struct CBOR. */
  value: Uint8Array;
}

export function relayPublishPlan(a: RelayAnnouncement, now: number): PublishPlan {
  const t = secs(now);
  const bucketEnd = (rendezvousBucket(t) + 1n) * BigInt(RENDEZVOUS_BUCKET_SECS);
  const toEnd = Number(bucketEnd - t);
  return { keys: relayAnnouncementKeys(a.relayPubkey, t), ttlSecs: Math.max(toEnd, DHT_MIN_STORE_TTL_SECS), value: encodeRelayAnnouncement(a) };
}

export interface DiscoveryPlan {
  bucket: bigint;
  /** All 16 rendezvous keys of the current bucket, to FIND_VALUE. */
  keys: Uint8Array[];
}

export function relayDiscoveryPlan(now: number): DiscoveryPlan {
  const bucket = rendezvousBucket(secs(now));
  return { bucket, keys: relayRendezvousKeysForBucket(bucket) };
}

/** When the next re-announce is due after one at `lastMs` (interval ≥ 60 s, default 1,800 s). */
export function nextAnnounceAt(lastMs: number, intervalSecs = RELAY_ANNOUNCE_INTERVAL_SECS): number {
  return lastMs + Math.max(RELAY_ANNOUNCE_MIN_INTERVAL_SECS, intervalSecs) * 1000;
}
