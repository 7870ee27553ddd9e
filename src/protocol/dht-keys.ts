/**
 * DHT key derivations (PROTOCOL.md §5.2): SHA-256 over an ASCII prefix and the raw 32-byte id. Relay
 * rendezvous keys spread relays over 16 slots per hour bucket so discovery can probe a fixed key set.
 */
import { ScpError } from '../errors.js';
import { u64be } from './bytes.js';
import { sha256 } from './hash.js';
import { NODE_ID_BYTES, RENDEZVOUS_BUCKET_SECS, RENDEZVOUS_SLOTS_PER_BUCKET } from './limits.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const SHARE_HEAD = enc('share:head:');
const MANIFEST_LOC = enc('manifest:loc:');
const CONTENT_PROV = enc('content:prov:');
const COMMUNITY_INFO = enc('community:info:');
const RELAY_RENDEZVOUS = enc('scp2p:relay:rendezvous');

function id32(b: Uint8Array, what: string): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw ScpError.badInput(`${what} must be 32 bytes`);
  return b;
}

export const shareHeadKey = (shareId: Uint8Array): Uint8Array => sha256(SHARE_HEAD, id32(shareId, 'share id'));
export const manifestLocKey = (manifestId: Uint8Array): Uint8Array => sha256(MANIFEST_LOC, id32(manifestId, 'manifest id'));
export const contentProviderKey = (contentId: Uint8Array): Uint8Array => sha256(CONTENT_PROV, id32(contentId, 'content id'));
export const communityInfoKey = (communityId: Uint8Array): Uint8Array =>
  sha256(COMMUNITY_INFO, id32(communityId, 'community share id'));

/** Hour bucket of a unix time: floor(unix / 3600). */
export function rendezvousBucket(unixSecs: number | bigint): bigint {
  return BigInt(unixSecs) / BigInt(RENDEZVOUS_BUCKET_SECS);
}

export function relayRendezvousKey(bucketId: number | bigint, slot: number): Uint8Array {
  return sha256(RELAY_RENDEZVOUS, u64be(bucketId), u64be(slot));
}

/** The relay's two slots in a bucket: last 8 digest bytes (big-endian) of SHA-256(pub ‖ bucket ‖ which) mod 16. */
export function relayRendezvousSlots(relayPubkey: Uint8Array, bucketId: number | bigint): [number, number] {
  const slot = (which: number): number => {
    const d = sha256(id32(relayPubkey, 'relay pubkey'), u64be(bucketId), Uint8Array.of(which));
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength).getBigUint64(24);
    return Number(v % BigInt(RENDEZVOUS_SLOTS_PER_BUCKET));
  };
  return [slot(0), slot(1)];
}

/** All rendezvous keys a discovering client probes for one bucket (slots 0..15). */
export function relayRendezvousKeysForBucket(bucketId: number | bigint): Uint8Array[] {
  return Array.from({ length: RENDEZVOUS_SLOTS_PER_BUCKET }, (_, s) => relayRendezvousKey(bucketId, s));
}

/** The NodeId-space point a lookup for a 32-byte key walks toward: its first 20 bytes. */
export function lookupTarget(key32: Uint8Array): Uint8Array {
  return id32(key32, 'DHT key').slice(0, NODE_ID_BYTES);
}
