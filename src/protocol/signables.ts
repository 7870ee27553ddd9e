/**
 * Every byte string that gets signed or hashed into an id, in one place (hypercore's caps.js idea). These are
 * the layouts a single wrong byte breaks interop on (PROTOCOL.md §6.3–6.8, §4.3):
 *  - the manifest signature covers a 12-array whose items are 8-arrays;
 *  - the ManifestId hashes a 13-array whose items are the ItemV1 *maps* and whose signature is an int array;
 *  - heads, tokens, announcements and hellos sign positional arrays of their fields minus the signature.
 * The writers for shapes shared with the struct encoders (item map, fixed ids, u64) live here too, so the
 * struct codecs and the signed layouts cannot drift apart.
 */
import { ScpError } from '../errors.js';
import { toU64 } from './bytes.js';
import { CborWriter } from './cbor.js';
import { encodeCapabilities, encodePeerAddr } from './peer-addr.js';
import type { HandshakeHello } from './handshake.js';
import type { ItemV1, ManifestV1 } from './manifest.js';
import type { RelayAnnouncement, RelayCapacity } from './relay-announcement.js';
import type { CommunityMembershipToken } from './community.js';
import type { ShareHead } from './share-head.js';

// ---------------------------------------------------------------------------------------------------------
// Field writers shared by codecs and signables (they validate the caller's input: a wrong length is a local bug)

/** A fixed-size Rust byte array (`[u8; N]`): an array of N small ints. */
export function writeFixed(w: CborWriter, b: Uint8Array, n: number, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n) throw ScpError.badInput(`${what} must be ${n} bytes`);
  w.intArray(b);
}

export const writeId = (w: CborWriter, b: Uint8Array, what: string): void => writeFixed(w, b, 32, what);

export function writeU64(w: CborWriter, v: number | bigint, what: string): void {
  w.uint(toU64(v, what));
}

export function writeUint(w: CborWriter, v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw ScpError.badInput(`${what} must be an integer in 0..${max}`);
  w.uint(v);
}

function writeOptText(w: CborWriter, v: string | null | undefined): void {
  w.opt(v, (w, s) => w.text(s));
}

function writeIdList(w: CborWriter, ids: readonly Uint8Array[], what: string): void {
  w.array(ids.length);
  ids.forEach((id, i) => writeId(w, id, `${what}[${i}]`));
}

/** ItemV1 as a struct map (§6.1): `path` omitted when null, `mime` written as null. */
export function writeItemMap(w: CborWriter, it: ItemV1, what = 'item'): void {
  const hasPath = it.path !== null && it.path !== undefined;
  w.map(hasPath ? 8 : 7);
  w.text('content_id');
  writeId(w, it.contentId, `${what}.contentId`);
  w.text('size');
  writeU64(w, it.size, `${what}.size`);
  w.text('name').text(it.name);
  if (hasPath) w.text('path').text(it.path!);
  w.text('mime');
  writeOptText(w, it.mime);
  w.text('tags').array(it.tags.length);
  for (const t of it.tags) w.text(t);
  w.text('chunk_count');
  writeUint(w, it.chunkCount, 0xffff_ffff, `${what}.chunkCount`);
  w.text('chunk_list_hash');
  writeId(w, it.chunkListHash, `${what}.chunkListHash`);
}

/** ItemV1 as the signature's 8-array: `path` is present (null) here. */
function writeItemArray(w: CborWriter, it: ItemV1, what: string): void {
  w.array(8);
  writeId(w, it.contentId, `${what}.contentId`);
  writeU64(w, it.size, `${what}.size`);
  w.text(it.name);
  writeOptText(w, it.path);
  writeOptText(w, it.mime);
  w.array(it.tags.length);
  for (const t of it.tags) w.text(t);
  writeUint(w, it.chunkCount, 0xffff_ffff, `${what}.chunkCount`);
  writeId(w, it.chunkListHash, `${what}.chunkListHash`);
}

/** Elements 0..9 shared by the 12-array and the 13-array. */
function writeManifestPrefix(w: CborWriter, m: ManifestV1): void {
  writeUint(w, m.version, 0xff, 'manifest.version');
  writeId(w, m.sharePubkey, 'manifest.sharePubkey');
  writeId(w, m.shareId, 'manifest.shareId');
  writeU64(w, m.seq, 'manifest.seq');
  writeU64(w, m.createdAt, 'manifest.createdAt');
  w.opt(m.expiresAt, (w, v) => writeU64(w, v, 'manifest.expiresAt'));
  writeOptText(w, m.title);
  writeOptText(w, m.description);
  w.text(m.visibility);
  writeIdList(w, m.communities, 'manifest.communities');
}

function manifestSizeHint(m: ManifestV1): number {
  return 512 + m.items.length * 256 + (m.communities.length + m.recommendedShares.length) * 48;
}

// ---------------------------------------------------------------------------------------------------------
// Signed layouts

/** §6.3: the bytes the share key signs. */
export function manifestUnsignedBytes(m: ManifestV1): Uint8Array {
  const w = new CborWriter(manifestSizeHint(m));
  w.array(12);
  writeManifestPrefix(w, m);
  w.array(m.items.length);
  m.items.forEach((it, i) => writeItemArray(w, it, `manifest.items[${i}]`));
  writeIdList(w, m.recommendedShares, 'manifest.recommendedShares');
  return w.finish();
}

/** §6.4: the bytes whose BLAKE3 is the ManifestId. */
export function manifestIdBytes(m: ManifestV1): Uint8Array {
  const w = new CborWriter(manifestSizeHint(m));
  w.array(13);
  writeManifestPrefix(w, m);
  w.array(m.items.length);
  m.items.forEach((it, i) => writeItemMap(w, it, `manifest.items[${i}]`));
  writeIdList(w, m.recommendedShares, 'manifest.recommendedShares');
  // The reference hashes Option<&[u8]>: any length, written as an int array.
  w.opt(m.signature, (w, s) => w.intArray(s));
  return w.finish();
}

/** §6.5: [share_id, latest_seq, latest_manifest_id, updated_at]. */
export function shareHeadSignableBytes(h: Pick<ShareHead, 'shareId' | 'latestSeq' | 'latestManifestId' | 'updatedAt'>): Uint8Array {
  const w = new CborWriter(160);
  w.array(4);
  writeId(w, h.shareId, 'shareHead.shareId');
  writeU64(w, h.latestSeq, 'shareHead.latestSeq');
  writeId(w, h.latestManifestId, 'shareHead.latestManifestId');
  writeU64(w, h.updatedAt, 'shareHead.updatedAt');
  return w.finish();
}

export function writeRelayCapacity(w: CborWriter, c: RelayCapacity): void {
  w.map(3);
  w.text('max_tunnels');
  writeUint(w, c.maxTunnels, 0xffff, 'capacity.maxTunnels');
  w.text('bandwidth_class').text(c.bandwidthClass);
  w.text('max_bytes_per_tunnel').opt(c.maxBytesPerTunnel, (w, v) => writeU64(w, v, 'capacity.maxBytesPerTunnel'));
}

/** §6.7: [relay_pubkey, relay_addrs, capabilities, capacity, issued_at, expires_at]. */
export function relayAnnouncementSignableBytes(a: Omit<RelayAnnouncement, 'signature'>): Uint8Array {
  const w = new CborWriter(256 + a.relayAddrs.length * 96);
  w.array(6);
  writeId(w, a.relayPubkey, 'relayAnnouncement.relayPubkey');
  w.array(a.relayAddrs.length);
  for (const p of a.relayAddrs) encodePeerAddr(w, p);
  encodeCapabilities(w, a.capabilities);
  writeRelayCapacity(w, a.capacity);
  writeU64(w, a.issuedAt, 'relayAnnouncement.issuedAt');
  writeU64(w, a.expiresAt, 'relayAnnouncement.expiresAt');
  return w.finish();
}

/** §6.8: [community_share_id, member_node_pubkey, issued_at, expires_at], signed by the community key. */
export function membershipTokenSignableBytes(t: Omit<CommunityMembershipToken, 'signature'>): Uint8Array {
  const w = new CborWriter(160);
  w.array(4);
  writeId(w, t.communityShareId, 'token.communityShareId');
  writeId(w, t.memberNodePubkey, 'token.memberNodePubkey');
  writeU64(w, t.issuedAt, 'token.issuedAt');
  writeU64(w, t.expiresAt, 'token.expiresAt');
  return w.finish();
}

/** §4.3: the hello minus its signature, positional; built from the *received* fields on verify. */
export function handshakeSignableBytes(h: Omit<HandshakeHello, 'signature'>): Uint8Array {
  const w = new CborWriter(320);
  w.array(7);
  writeId(w, h.nodePubkey, 'hello.nodePubkey');
  encodeCapabilities(w, h.capabilities);
  writeId(w, h.nonce, 'hello.nonce');
  w.opt(h.echoedNonce, (w, n) => writeId(w, n, 'hello.echoedNonce'));
  writeU64(w, h.timestampUnixSecs, 'hello.timestampUnixSecs');
  writeUint(w, h.protocolVersion, 0xffff, 'hello.protocolVersion');
  w.opt(h.ephemeralPubkey, (w, e) => writeId(w, e, 'hello.ephemeralPubkey'));
  return w.finish();
}
