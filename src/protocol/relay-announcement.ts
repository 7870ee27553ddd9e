/**
 * RelayAnnouncement + RelayCapacity (PROTOCOL.md §6.7, §5.5): a relay's signed, short-lived advert, stored in
 * the DHT under its two rendezvous slots and returned by RELAY_LIST_RESPONSE. Unlike every other record it is
 * verified with *strict* Ed25519 (dalek `verify_strict`: canonical encodings, no small-order key or R).
 *
 * RelayCapacity has no decode defaults (§18): 64 / "Medium" are only what the reference produces.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { ScpError } from '../errors.js';
import { bytesEqual } from './bytes.js';
import { CborWriter, decodeCbor, type CborValue } from './cbor.js';
import { anyBytes, asMap, b32, list, oneOf, opt, req, u16, u64 } from './cbor-fields.js';
import { relayRendezvousKey, relayRendezvousSlots, rendezvousBucket } from './dht-keys.js';
import { ed25519Sign, ed25519Verify, publicKeyFromSeed } from './keys.js';
import {
  DECODE_MAX_ARRAY,
  DECODE_MAX_SIGNATURE_BYTES,
  RELAY_ANNOUNCEMENT_MAX_TTL_SECS,
  RELAY_DEFAULT_MAX_TUNNELS,
} from './limits.js';
import { decodeCapabilities, decodePeerAddr, encodeCapabilities, encodePeerAddr, type Capabilities, type PeerAddr } from './peer-addr.js';
import { relayAnnouncementSignableBytes, writeId, writeRelayCapacity, writeU64 } from './signables.js';

export type BandwidthClass = 'Low' | 'Medium' | 'High';
export const BANDWIDTH_CLASSES: readonly BandwidthClass[] = ['Low', 'Medium', 'High'];

export interface RelayCapacity {
  maxTunnels: number;
  bandwidthClass: BandwidthClass;
  /** null = unlimited. */
  maxBytesPerTunnel: bigint | null;
}

export const DEFAULT_RELAY_CAPACITY: Readonly<RelayCapacity> = Object.freeze({
  maxTunnels: RELAY_DEFAULT_MAX_TUNNELS,
  bandwidthClass: 'Medium',
  maxBytesPerTunnel: null,
});

export interface RelayAnnouncement {
  relayPubkey: Uint8Array;
  relayAddrs: PeerAddr[];
  capabilities: Capabilities;
  capacity: RelayCapacity;
  issuedAt: bigint;
  expiresAt: bigint;
  /** 64-byte Ed25519 signature; a CBOR byte string on the wire. */
  signature: Uint8Array;
}

export type UnsignedRelayAnnouncement = Omit<RelayAnnouncement, 'signature'>;

// ---------------------------------------------------------------------------------------------------------
// Codec

export function writeRelayAnnouncement(w: CborWriter, a: RelayAnnouncement): void {
  w.map(7);
  w.text('relay_pubkey');
  writeId(w, a.relayPubkey, 'relayAnnouncement.relayPubkey');
  w.text('relay_addrs').array(a.relayAddrs.length);
  for (const p of a.relayAddrs) encodePeerAddr(w, p);
  w.text('capabilities');
  encodeCapabilities(w, a.capabilities);
  w.text('capacity');
  writeRelayCapacity(w, a.capacity);
  w.text('issued_at');
  writeU64(w, a.issuedAt, 'relayAnnouncement.issuedAt');
  w.text('expires_at');
  writeU64(w, a.expiresAt, 'relayAnnouncement.expiresAt');
  w.text('signature').bytes(a.signature);
}

export function encodeRelayAnnouncement(a: RelayAnnouncement): Uint8Array {
  const w = new CborWriter(512);
  writeRelayAnnouncement(w, a);
  return w.finish();
}

export function decodeRelayCapacity(v: CborValue | undefined, where: string): RelayCapacity {
  const m = asMap(v, where);
  const mb = opt(m, 'max_bytes_per_tunnel');
  return {
    maxTunnels: u16(req(m, 'max_tunnels', where), `${where}.max_tunnels`),
    bandwidthClass: oneOf(req(m, 'bandwidth_class', where), BANDWIDTH_CLASSES, `${where}.bandwidth_class`),
    maxBytesPerTunnel: mb === undefined ? null : u64(mb, `${where}.max_bytes_per_tunnel`),
  };
}

export function decodeRelayAnnouncementValue(v: CborValue, where = 'RelayAnnouncement'): RelayAnnouncement {
  const m = asMap(v, where);
  return {
    relayPubkey: b32(req(m, 'relay_pubkey', where), `${where}.relay_pubkey`),
    relayAddrs: list(req(m, 'relay_addrs', where), `${where}.relay_addrs`, DECODE_MAX_ARRAY, (x, w) => decodePeerAddr(x, w)),
    capabilities: decodeCapabilities(req(m, 'capabilities', where), `${where}.capabilities`),
    capacity: decodeRelayCapacity(req(m, 'capacity', where), `${where}.capacity`),
    issuedAt: u64(req(m, 'issued_at', where), `${where}.issued_at`),
    expiresAt: u64(req(m, 'expires_at', where), `${where}.expires_at`),
    signature: anyBytes(req(m, 'signature', where), `${where}.signature`, DECODE_MAX_SIGNATURE_BYTES).slice(),
  };
}

export function decodeRelayAnnouncement(bytes: Uint8Array): RelayAnnouncement {
  return decodeRelayAnnouncementValue(decodeCbor(bytes, 'RelayAnnouncement'));
}

// ---------------------------------------------------------------------------------------------------------
// Sign and validate

export function signRelayAnnouncement(a: UnsignedRelayAnnouncement, relaySeed32: Uint8Array): RelayAnnouncement {
  if (!bytesEqual(publicKeyFromSeed(relaySeed32), a.relayPubkey)) {
    throw ScpError.badInput('signRelayAnnouncement: the seed does not belong to relayPubkey');
  }
  return { ...a, signature: ed25519Sign(relaySeed32, relayAnnouncementSignableBytes(a)) };
}

/**
 * dalek's `verify_strict`: the key and R must be canonical encodings of points that are not of small order,
 * then the ordinary (cofactorless) equation, which OpenSSL checks (it also rejects a non-canonical S).
 */
export function ed25519VerifyStrict(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (pub.length !== 32 || sig.length !== 64) return false;
  try {
    const A = ed25519.Point.fromBytes(pub, false);
    const R = ed25519.Point.fromBytes(sig.subarray(0, 32), false);
    if (A.isSmallOrder() || R.isSmallOrder()) return false;
  } catch {
    return false;
  }
  return ed25519Verify(pub, msg, sig);
}

export type RelayAnnouncementInvalidReason =
  | 'not_a_relay'
  | 'expiry_not_after_issue'
  | 'ttl_too_long'
  | 'no_addresses'
  | 'address_has_relay_via'
  | 'bad_signature_length'
  | 'bad_signature'
  | 'expired';

/**
 * The structural and signature checks of §6.7 (what the DHT keyspace check and the relay cache apply), plus
 * `now < expires_at` when `nowUnix` is given. Returns the first failed rule or null. Never throws.
 */
export function checkRelayAnnouncement(a: RelayAnnouncement, nowUnix?: number | bigint): RelayAnnouncementInvalidReason | null {
  if (!a.capabilities.relay) return 'not_a_relay';
  if (a.expiresAt <= a.issuedAt) return 'expiry_not_after_issue';
  if (a.expiresAt - a.issuedAt > BigInt(RELAY_ANNOUNCEMENT_MAX_TTL_SECS)) return 'ttl_too_long';
  if (a.relayAddrs.length === 0) return 'no_addresses';
  if (a.relayAddrs.some((p) => p.relayVia !== undefined && p.relayVia !== null)) return 'address_has_relay_via';
  if (a.signature.length !== 64) return 'bad_signature_length';
  let bytes: Uint8Array;
  try {
    bytes = relayAnnouncementSignableBytes(a);
  } catch {
    return 'bad_signature';
  }
  if (!ed25519VerifyStrict(a.relayPubkey, bytes, a.signature)) return 'bad_signature';
  if (nowUnix !== undefined && BigInt(nowUnix) >= a.expiresAt) return 'expired';
  return null;
}

export function validateRelayAnnouncement(a: RelayAnnouncement, nowUnix?: number | bigint): true {
  const reason = checkRelayAnnouncement(a, nowUnix);
  if (reason !== null) throw ScpError.verifyFailed(`relay announcement rejected: ${reason}`, { reason });
  return true;
}

/**
 * Whether `key` is one of the relay's two rendezvous keys for bucket(issued_at) − 1, bucket or + 1 (§5.5 rule 4).
 */
export function relayAnnouncementKeyMatches(key: Uint8Array, a: Pick<RelayAnnouncement, 'relayPubkey' | 'issuedAt'>): boolean {
  const bucket = rendezvousBucket(a.issuedAt);
  for (const b of [bucket - 1n, bucket, bucket + 1n]) {
    if (b < 0n) continue;
    for (const slot of relayRendezvousSlots(a.relayPubkey, b)) {
      if (bytesEqual(relayRendezvousKey(b, slot), key)) return true;
    }
  }
  return false;
}

/** The two DHT keys a relay publishes its announcement under for the bucket of `unixSecs`. */
export function relayAnnouncementKeys(relayPubkey: Uint8Array, unixSecs: number | bigint): Uint8Array[] {
  const bucket = rendezvousBucket(unixSecs);
  return relayRendezvousSlots(relayPubkey, bucket).map((s) => relayRendezvousKey(bucket, s));
}
