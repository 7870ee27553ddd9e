/**
 * XOR-metric helpers on 20-byte NodeIds, written for the hot path (routing-table `closest`, lookup sorting):
 * no allocation when comparing two distances to the same target.
 */
import { sha256 } from '../../protocol/hash.js';
import { toHex } from '../../protocol/bytes.js';
import type { PeerAddr } from '../../protocol/peer-addr.js';
import type { Contact, NodeId } from './types.js';

export const ID_BYTES = 20;
export const ID_BITS = 160;

// Decoded hints are fresh arrays, but one answer's hints are looked at several times (lookup, routing table,
// rate limiter); the simulator reuses arrays outright. A WeakMap keeps the hash and hex per array instance.
const identities = new WeakMap<Uint8Array, { id: NodeId; key: string }>();

function identityOf(pubkey: Uint8Array): { id: NodeId; key: string } {
  let v = identities.get(pubkey);
  if (!v) {
    v = { id: sha256(pubkey).subarray(0, ID_BYTES), key: `pubkey:${toHex(pubkey)}` };
    identities.set(pubkey, v);
  }
  return v;
}

/** NodeId = first 20 bytes of SHA-256(pubkey) (PROTOCOL.md §5.1). */
export function nodeIdOf(pubkey: Uint8Array): NodeId {
  return identityOf(pubkey).id;
}

/** Lookup target of a 32-byte DHT key: its first 20 bytes (PROTOCOL.md §5.2). */
export function targetOfKey(key: Uint8Array): NodeId {
  return key.subarray(0, ID_BYTES);
}

/** Number of leading zero bits of a XOR b; 160 when equal. This is the bucket index of b seen from a. */
export function commonPrefixBits(a: NodeId, b: NodeId): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = (a[i]! ^ b[i]!) & 0xff;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_BITS;
}

/** Compares distance(a, target) with distance(b, target): negative when a is closer. */
export function compareDistance(a: NodeId, b: NodeId, target: NodeId): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const t = target[i]!;
    const d = (a[i]! ^ t) - (b[i]! ^ t);
    if (d !== 0) return d;
  }
  return 0;
}

export function xorDistance(a: NodeId, b: NodeId): Uint8Array {
  const out = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** A random id whose bucket index (seen from `local`) is exactly `bucket`: for bucket refresh. */
export function randomIdInBucket(local: NodeId, bucket: number, randomBytes: (n: number) => Uint8Array): NodeId {
  const id = randomBytes(ID_BYTES);
  const byte = bucket >> 3;
  const bit = bucket & 7;
  for (let i = 0; i < byte; i++) id[i] = local[i]!;
  // Keep the first `bit` bits of this byte equal to local's, flip the next one, randomise the rest.
  const keepMask = (0xff00 >> bit) & 0xff;
  const flip = 0x80 >> bit;
  id[byte] = (local[byte]! & keepMask) | ((local[byte]! ^ flip) & flip) | (id[byte]! & ~(keepMask | flip) & 0xff);
  return id;
}

export function pubkeyKey(pubkey: Uint8Array): string {
  return identityOf(pubkey).key;
}

/** A routable contact from an address, or undefined when the address has no pubkey hint (no NodeId). */
export function contactOf(addr: PeerAddr): Contact | undefined {
  if (!addr.pubkeyHint || addr.pubkeyHint.length !== 32) return undefined;
  const { id, key } = identityOf(addr.pubkeyHint);
  return { id, addr, key };
}
