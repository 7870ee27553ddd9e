/**
 * ManifestV1 and ItemV1 (PROTOCOL.md §6.1–6.4, §6.6): the struct-map codec (what MANIFEST_DATA.bytes and the
 * `manifest:loc:` DHT value hold), signing, verification and the ManifestId.
 *
 * Decoding is lenient where the reference is (§1.4: any key order, unknown keys ignored, defaults for
 * `visibility`, `communities`, `chunk_count`, `chunk_list_hash`, ids as int arrays or byte strings) and bounded
 * everywhere; the publish-side item/chunk limits are a separate check (`checkManifestLimits`) because the
 * reference applies them only to fetched and published manifests, not to DHT values.
 */
import { ScpError } from '../errors.js';
import { bytesEqual } from './bytes.js';
import { CborWriter, decodeCbor, type CborMap, type CborValue } from './cbor.js';
import { anyBytes, asMap, b32, list, oneOf, opt, req, text, u32, u64, u8 } from './cbor-fields.js';
import { blake3 } from './hash.js';
import { shareIdFromPubkey } from './ids.js';
import { ed25519Sign, ed25519Verify, isValidEd25519Point, publicKeyFromSeed } from './keys.js';
import { DECODE_MAX_ARRAY, DECODE_MAX_SIGNATURE_BYTES, MAX_MANIFEST_CHUNKS, MAX_MANIFEST_ITEMS } from './limits.js';
import { manifestIdBytes, manifestUnsignedBytes, writeId, writeItemMap, writeU64, writeUint } from './signables.js';

export type ShareVisibility = 'private' | 'public';
export const SHARE_VISIBILITIES: readonly ShareVisibility[] = ['private', 'public'];

export interface ItemV1 {
  contentId: Uint8Array;
  size: bigint;
  name: string;
  /** Relative `/`-separated path inside a folder share; null for single files (omitted on the wire). */
  path: string | null;
  mime: string | null;
  tags: string[];
  chunkCount: number;
  /** BLAKE3 over the concatenated 32-byte chunk hashes. */
  chunkListHash: Uint8Array;
}

export interface ManifestV1 {
  version: number;
  sharePubkey: Uint8Array;
  shareId: Uint8Array;
  seq: bigint;
  createdAt: bigint;
  expiresAt: bigint | null;
  title: string | null;
  description: string | null;
  visibility: ShareVisibility;
  communities: Uint8Array[];
  items: ItemV1[];
  recommendedShares: Uint8Array[];
  /** 64-byte Ed25519 signature over `manifestUnsignedBytes`, or null while unsigned. */
  signature: Uint8Array | null;
}

const ZERO32 = new Uint8Array(32);

// ---------------------------------------------------------------------------------------------------------
// Codec

export function writeManifest(w: CborWriter, m: ManifestV1): void {
  w.map(13);
  w.text('version');
  writeUint(w, m.version, 0xff, 'manifest.version');
  w.text('share_pubkey');
  writeId(w, m.sharePubkey, 'manifest.sharePubkey');
  w.text('share_id');
  writeId(w, m.shareId, 'manifest.shareId');
  w.text('seq');
  writeU64(w, m.seq, 'manifest.seq');
  w.text('created_at');
  writeU64(w, m.createdAt, 'manifest.createdAt');
  w.text('expires_at').opt(m.expiresAt, (w, v) => writeU64(w, v, 'manifest.expiresAt'));
  w.text('title').opt(m.title, (w, v) => w.text(v));
  w.text('description').opt(m.description, (w, v) => w.text(v));
  w.text('visibility').text(m.visibility);
  w.text('communities').array(m.communities.length);
  m.communities.forEach((c, i) => writeId(w, c, `manifest.communities[${i}]`));
  w.text('items').array(m.items.length);
  m.items.forEach((it, i) => writeItemMap(w, it, `manifest.items[${i}]`));
  w.text('recommended_shares').array(m.recommendedShares.length);
  m.recommendedShares.forEach((s, i) => writeId(w, s, `manifest.recommendedShares[${i}]`));
  // The reference's manifest signature codec writes a byte string here (not an int array).
  w.text('signature').opt(m.signature, (w, s) => w.bytes(s));
}

export function encodeManifest(m: ManifestV1): Uint8Array {
  const w = new CborWriter(512 + m.items.length * 256);
  writeManifest(w, m);
  return w.finish();
}

function optText(m: CborMap, key: string, where: string): string | null {
  const v = opt(m, key);
  return v === undefined ? null : text(v, `${where}.${key}`);
}

function optU64(m: CborMap, key: string, where: string): bigint | null {
  const v = opt(m, key);
  return v === undefined ? null : u64(v, `${where}.${key}`);
}

export function decodeItem(v: CborValue, where: string): ItemV1 {
  const m = asMap(v, where);
  const cc = m.get('chunk_count');
  const clh = m.get('chunk_list_hash');
  return {
    contentId: b32(req(m, 'content_id', where), `${where}.content_id`),
    size: u64(req(m, 'size', where), `${where}.size`),
    name: text(req(m, 'name', where), `${where}.name`),
    path: optText(m, 'path', where),
    mime: optText(m, 'mime', where),
    tags: list(req(m, 'tags', where), `${where}.tags`, DECODE_MAX_ARRAY, (x, w) => text(x, w)),
    // serde(default): only a *missing* key takes the default; null is a type error, as in the reference.
    chunkCount: cc === undefined ? 0 : u32(cc, `${where}.chunk_count`),
    chunkListHash: clh === undefined ? ZERO32.slice() : b32(clh, `${where}.chunk_list_hash`),
  };
}

/** Decodes a ManifestV1 from an already-parsed CBOR value (used for DHT values and MANIFEST_DATA). */
export function decodeManifestValue(v: CborValue, where = 'ManifestV1'): ManifestV1 {
  const m = asMap(v, where);
  const vis = m.get('visibility');
  const comm = m.get('communities');
  const sig = opt(m, 'signature');
  return {
    version: u8(req(m, 'version', where), `${where}.version`),
    sharePubkey: b32(req(m, 'share_pubkey', where), `${where}.share_pubkey`),
    shareId: b32(req(m, 'share_id', where), `${where}.share_id`),
    seq: u64(req(m, 'seq', where), `${where}.seq`),
    createdAt: u64(req(m, 'created_at', where), `${where}.created_at`),
    expiresAt: optU64(m, 'expires_at', where),
    title: optText(m, 'title', where),
    description: optText(m, 'description', where),
    visibility: vis === undefined ? 'private' : oneOf(vis, SHARE_VISIBILITIES, `${where}.visibility`),
    communities: comm === undefined ? [] : list(comm, `${where}.communities`, DECODE_MAX_ARRAY, b32),
    items: list(req(m, 'items', where), `${where}.items`, DECODE_MAX_ARRAY, decodeItem),
    recommendedShares: list(req(m, 'recommended_shares', where), `${where}.recommended_shares`, DECODE_MAX_ARRAY, b32),
    signature: sig === undefined ? null : anyBytes(sig, `${where}.signature`, DECODE_MAX_SIGNATURE_BYTES).slice(),
  };
}

export function decodeManifest(bytes: Uint8Array): ManifestV1 {
  return decodeManifestValue(decodeCbor(bytes, 'ManifestV1'));
}

// ---------------------------------------------------------------------------------------------------------
// Ids, limits, signing, verification

/** BLAKE3 of the 13-array (§6.4). Computed from fields, never from received bytes. */
export function manifestId(m: ManifestV1): Uint8Array {
  return blake3(manifestIdBytes(m));
}

/** check_limits (§6.6): ≤ 3,000 items and ≤ 100,000 chunks in total. Throws ScpError LIMIT. */
export function checkManifestLimits(m: ManifestV1): void {
  if (m.items.length > MAX_MANIFEST_ITEMS) {
    throw ScpError.limit(`manifest has ${m.items.length} items; at most ${MAX_MANIFEST_ITEMS} are allowed`, {
      reason: 'too_many_items',
    });
  }
  let chunks = 0;
  for (const it of m.items) chunks += it.chunkCount;
  if (chunks > MAX_MANIFEST_CHUNKS) {
    throw ScpError.limit(`manifest lists ${chunks} chunks; at most ${MAX_MANIFEST_CHUNKS} are allowed`, {
      reason: 'too_many_chunks',
    });
  }
}

/** Returns a signed copy. The seed must belong to `m.sharePubkey` (a mismatch could never verify). */
export function signManifest(m: ManifestV1, seed32: Uint8Array): ManifestV1 {
  if (!bytesEqual(publicKeyFromSeed(seed32), m.sharePubkey)) {
    throw ScpError.badInput('signManifest: the seed does not belong to manifest.sharePubkey');
  }
  return { ...m, signature: ed25519Sign(seed32, manifestUnsignedBytes(m)) };
}

export type ManifestVerifyReason =
  | 'expired'
  | 'expiry_not_after_creation'
  | 'unsigned'
  | 'bad_signature_length'
  | 'bad_share_pubkey'
  | 'share_id_mismatch'
  | 'bad_signature';

const MANIFEST_REASON_TEXT: Record<ManifestVerifyReason, string> = {
  expired: 'manifest has expired',
  expiry_not_after_creation: 'manifest expires_at must be after created_at',
  unsigned: 'manifest missing signature',
  bad_signature_length: 'manifest signature must be 64 bytes',
  bad_share_pubkey: 'manifest share_pubkey is not a valid Ed25519 key',
  share_id_mismatch: 'manifest share_id does not match share_pubkey',
  bad_signature: 'manifest signature does not verify',
};

/** The first rule of §6.6 the manifest breaks at `nowUnix`, or null when it verifies. Never throws. */
export function checkManifest(m: ManifestV1, nowUnix: number | bigint): ManifestVerifyReason | null {
  const now = BigInt(nowUnix);
  if (m.expiresAt !== null) {
    if (now > m.expiresAt) return 'expired';
    if (m.expiresAt <= m.createdAt) return 'expiry_not_after_creation';
  }
  if (m.signature === null) return 'unsigned';
  if (m.signature.length !== 64) return 'bad_signature_length';
  // Reference order: point validity, then share id, then signature. The (slow) point check only runs once
  // something has failed, to name the right reason: a verifying signature implies a valid point.
  if (!bytesEqual(shareIdFromPubkey(m.sharePubkey), m.shareId)) {
    return isValidEd25519Point(m.sharePubkey) ? 'share_id_mismatch' : 'bad_share_pubkey';
  }
  let bytes: Uint8Array;
  try {
    bytes = manifestUnsignedBytes(m);
  } catch {
    return 'bad_signature'; // fields that cannot even be encoded cannot carry a valid signature
  }
  if (ed25519Verify(m.sharePubkey, bytes, m.signature)) return null;
  return isValidEd25519Point(m.sharePubkey) ? 'bad_signature' : 'bad_share_pubkey';
}

/** Verifies (§6.6) and returns the ManifestId; throws ScpError VERIFY_FAILED with `details.reason` otherwise. */
export function verifyManifest(m: ManifestV1, nowUnix: number | bigint): { manifestId: Uint8Array } {
  const reason = checkManifest(m, nowUnix);
  if (reason !== null) throw ScpError.verifyFailed(`${MANIFEST_REASON_TEXT[reason]}; discard this manifest`, { reason });
  return { manifestId: manifestId(m) };
}

