/**
 * Identifiers (PROTOCOL.md §5.1): ShareId = SHA-256(pubkey), NodeId = its first 20 bytes. XOR distance is
 * computed on 20-byte NodeIds; comparisons are big-endian byte order, as Kademlia and the reference do.
 */
import { ScpError } from '../errors.js';
import { sha256 } from './hash.js';
import { NODE_ID_BYTES } from './limits.js';

export function shareIdFromPubkey(pubkey: Uint8Array): Uint8Array {
  if (!(pubkey instanceof Uint8Array) || pubkey.length !== 32) throw ScpError.badInput('public key must be 32 bytes');
  return sha256(pubkey);
}

export function nodeIdFromPubkey(pubkey: Uint8Array): Uint8Array {
  return shareIdFromPubkey(pubkey).slice(0, NODE_ID_BYTES);
}

/** a XOR b; both must be the same length. */
export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw ScpError.badInput(`xorDistance: lengths differ (${a.length} vs ${b.length})`);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Big-endian unsigned comparison of equal-length byte strings: −1, 0 or 1. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Which of `a` and `b` is closer to `target` by XOR distance: −1 (a closer), 0 (equal), 1 (b closer). */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < target.length; i++) {
    const da = a[i]! ^ target[i]!;
    const db = b[i]! ^ target[i]!;
    if (da !== db) return da < db ? -1 : 1;
  }
  return 0;
}

/** Routing-table bucket index: leading zero bits of local XOR other (0 = most distant); null for the same id. */
export function bucketIndex(local: Uint8Array, other: Uint8Array): number | null {
  for (let i = 0; i < local.length; i++) {
    const x = local[i]! ^ other[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return null;
}
