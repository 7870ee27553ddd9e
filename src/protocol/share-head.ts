/**
 * ShareHead (PROTOCOL.md §6.5): the small signed pointer a publisher stores under `share:head:<share_id>`
 * saying "my latest manifest is seq N with id M". `sig` is an int array of 64 (not a byte string).
 */
import { ScpError } from '../errors.js';
import { bytesEqual } from './bytes.js';
import { CborWriter, decodeCbor, type CborValue } from './cbor.js';
import { anyBytes, asMap, b32, req, u64 } from './cbor-fields.js';
import { shareIdFromPubkey } from './ids.js';
import { ed25519Sign, ed25519Verify, isValidEd25519Point, publicKeyFromSeed } from './keys.js';
import { DECODE_MAX_SIGNATURE_BYTES } from './limits.js';
import { shareHeadSignableBytes, writeId, writeU64 } from './signables.js';

export interface ShareHead {
  shareId: Uint8Array;
  latestSeq: bigint;
  latestManifestId: Uint8Array;
  updatedAt: bigint;
  sig: Uint8Array;
}

export type UnsignedShareHead = Omit<ShareHead, 'sig'>;

export function writeShareHead(w: CborWriter, h: ShareHead): void {
  w.map(5);
  w.text('share_id');
  writeId(w, h.shareId, 'shareHead.shareId');
  w.text('latest_seq');
  writeU64(w, h.latestSeq, 'shareHead.latestSeq');
  w.text('latest_manifest_id');
  writeId(w, h.latestManifestId, 'shareHead.latestManifestId');
  w.text('updated_at');
  writeU64(w, h.updatedAt, 'shareHead.updatedAt');
  w.text('sig').intArray(h.sig);
}

export function encodeShareHead(h: ShareHead): Uint8Array {
  const w = new CborWriter(256);
  writeShareHead(w, h);
  return w.finish();
}

export function decodeShareHeadValue(v: CborValue, where = 'ShareHead'): ShareHead {
  const m = asMap(v, where);
  return {
    shareId: b32(req(m, 'share_id', where), `${where}.share_id`),
    latestSeq: u64(req(m, 'latest_seq', where), `${where}.latest_seq`),
    latestManifestId: b32(req(m, 'latest_manifest_id', where), `${where}.latest_manifest_id`),
    updatedAt: u64(req(m, 'updated_at', where), `${where}.updated_at`),
    // Vec<u8> in the reference: any length decodes, verification wants 64.
    sig: anyBytes(req(m, 'sig', where), `${where}.sig`, DECODE_MAX_SIGNATURE_BYTES).slice(),
  };
}

export function decodeShareHead(bytes: Uint8Array): ShareHead {
  return decodeShareHeadValue(decodeCbor(bytes, 'ShareHead'));
}

/** Signs a head with the share's seed; the seed must belong to the share (SHA-256(pub) = shareId). */
export function signShareHead(h: UnsignedShareHead, seed32: Uint8Array): ShareHead {
  const pub = publicKeyFromSeed(seed32);
  if (!bytesEqual(shareIdFromPubkey(pub), h.shareId)) {
    throw ScpError.badInput('signShareHead: the seed does not belong to this share id');
  }
  const head: UnsignedShareHead = {
    shareId: h.shareId,
    latestSeq: BigInt(h.latestSeq),
    latestManifestId: h.latestManifestId,
    updatedAt: BigInt(h.updatedAt),
  };
  return { ...head, sig: ed25519Sign(seed32, shareHeadSignableBytes(head)) };
}

export type ShareHeadVerifyReason = 'bad_signature_length' | 'bad_share_pubkey' | 'share_id_mismatch' | 'bad_signature';

const HEAD_REASON_TEXT: Record<ShareHeadVerifyReason, string> = {
  bad_signature_length: 'share head signature must be 64 bytes',
  bad_share_pubkey: 'share pubkey is not a valid Ed25519 key',
  share_id_mismatch: 'share head share_id does not match share_pubkey',
  bad_signature: 'share head signature does not verify',
};

/** The first rule of §6.6 the head breaks, or null. Never throws. */
export function checkShareHead(h: ShareHead, sharePubkey: Uint8Array): ShareHeadVerifyReason | null {
  if (h.sig.length !== 64) return 'bad_signature_length';
  // Point validity is only checked once something failed (a verifying signature implies a valid point).
  if (sharePubkey.length !== 32) return 'bad_share_pubkey';
  if (!bytesEqual(shareIdFromPubkey(sharePubkey), h.shareId)) {
    return isValidEd25519Point(sharePubkey) ? 'share_id_mismatch' : 'bad_share_pubkey';
  }
  let bytes: Uint8Array;
  try {
    bytes = shareHeadSignableBytes(h);
  } catch {
    return 'bad_signature';
  }
  if (ed25519Verify(sharePubkey, bytes, h.sig)) return null;
  return isValidEd25519Point(sharePubkey) ? 'bad_signature' : 'bad_share_pubkey';
}

/** Throws ScpError VERIFY_FAILED (with `details.reason`) unless the head is signed by `sharePubkey`. */
export function verifyShareHead(h: ShareHead, sharePubkey: Uint8Array): true {
  const reason = checkShareHead(h, sharePubkey);
  if (reason !== null) throw ScpError.verifyFailed(`${HEAD_REASON_TEXT[reason]}; ignore this head`, { reason });
  return true;
}

/**
 * Of the current best `a` and a candidate `b`, the one a share-head lookup keeps (§5.7): higher seq wins,
 * equal seq goes to the newer `updated_at`, a full tie keeps `a`.
 */
export function betterShareHead(a: ShareHead, b: ShareHead): ShareHead {
  if (b.latestSeq !== a.latestSeq) return b.latestSeq > a.latestSeq ? b : a;
  return b.updatedAt > a.updatedAt ? b : a;
}
