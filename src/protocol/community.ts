/**
 * Communities (PROTOCOL.md §6.8, §10.4): the membership token a community key signs for a member node, and the
 * CommunityMembers DHT value under `community:info:<id>` whose member lists are merged (not replaced) on STORE.
 */
import { ScpError } from '../errors.js';
import { bytesEqual } from './bytes.js';
import { CborWriter, decodeCbor, type CborValue } from './cbor.js';
import { anyBytes, asMap, b32, list, req, u64 } from './cbor-fields.js';
import { shareIdFromPubkey } from './ids.js';
import { ed25519Sign, ed25519Verify, isValidEd25519Point, publicKeyFromSeed } from './keys.js';
import { DECODE_MAX_ARRAY, DECODE_MAX_SIGNATURE_BYTES } from './limits.js';
import { decodePeerAddr, encodePeerAddr, peerAddrEquals, type PeerAddr } from './peer-addr.js';
import { membershipTokenSignableBytes, writeId, writeU64 } from './signables.js';

// ---------------------------------------------------------------------------------------------------------
// CommunityMembershipToken

export interface CommunityMembershipToken {
  communityShareId: Uint8Array;
  memberNodePubkey: Uint8Array;
  issuedAt: bigint;
  expiresAt: bigint;
  /** 64-byte signature by the community's share key; a CBOR byte string on the wire. */
  signature: Uint8Array;
}

export function encodeMembershipToken(t: CommunityMembershipToken): Uint8Array {
  const w = new CborWriter(256);
  w.map(5);
  w.text('community_share_id');
  writeId(w, t.communityShareId, 'token.communityShareId');
  w.text('member_node_pubkey');
  writeId(w, t.memberNodePubkey, 'token.memberNodePubkey');
  w.text('issued_at');
  writeU64(w, t.issuedAt, 'token.issuedAt');
  w.text('expires_at');
  writeU64(w, t.expiresAt, 'token.expiresAt');
  w.text('signature').bytes(t.signature);
  return w.finish();
}

export function decodeMembershipTokenValue(v: CborValue, where = 'CommunityMembershipToken'): CommunityMembershipToken {
  const m = asMap(v, where);
  return {
    communityShareId: b32(req(m, 'community_share_id', where), `${where}.community_share_id`),
    memberNodePubkey: b32(req(m, 'member_node_pubkey', where), `${where}.member_node_pubkey`),
    issuedAt: u64(req(m, 'issued_at', where), `${where}.issued_at`),
    expiresAt: u64(req(m, 'expires_at', where), `${where}.expires_at`),
    signature: anyBytes(req(m, 'signature', where), `${where}.signature`, DECODE_MAX_SIGNATURE_BYTES).slice(),
  };
}

export function decodeMembershipToken(bytes: Uint8Array): CommunityMembershipToken {
  return decodeMembershipTokenValue(decodeCbor(bytes, 'CommunityMembershipToken'));
}

/** Signed with the community's share seed (whose SHA-256(pub) is the community id). */
export function signMembershipToken(t: Omit<CommunityMembershipToken, 'signature'>, communitySeed32: Uint8Array): CommunityMembershipToken {
  if (!bytesEqual(shareIdFromPubkey(publicKeyFromSeed(communitySeed32)), t.communityShareId)) {
    throw ScpError.badInput('signMembershipToken: the seed does not belong to this community');
  }
  return { ...t, signature: ed25519Sign(communitySeed32, membershipTokenSignableBytes(t)) };
}

export type TokenVerifyReason = 'bad_community_pubkey' | 'community_id_mismatch' | 'expired' | 'bad_signature_length' | 'bad_signature';

/** §6.8 in the reference's order; `nowUnix` null/undefined skips the expiry rule. Never throws. */
export function checkMembershipToken(
  t: CommunityMembershipToken,
  communityPubkey: Uint8Array,
  nowUnix?: number | bigint | null,
): TokenVerifyReason | null {
  if (communityPubkey.length !== 32) return 'bad_community_pubkey';
  if (!bytesEqual(shareIdFromPubkey(communityPubkey), t.communityShareId)) {
    return isValidEd25519Point(communityPubkey) ? 'community_id_mismatch' : 'bad_community_pubkey';
  }
  if (nowUnix !== undefined && nowUnix !== null && BigInt(nowUnix) > t.expiresAt) return 'expired';
  if (t.signature.length !== 64) return 'bad_signature_length';
  let bytes: Uint8Array;
  try {
    bytes = membershipTokenSignableBytes(t);
  } catch {
    return 'bad_signature';
  }
  if (ed25519Verify(communityPubkey, bytes, t.signature)) return null;
  return isValidEd25519Point(communityPubkey) ? 'bad_signature' : 'bad_community_pubkey';
}

export function verifyMembershipToken(t: CommunityMembershipToken, communityPubkey: Uint8Array, nowUnix?: number | bigint | null): true {
  const reason = checkMembershipToken(t, communityPubkey, nowUnix);
  if (reason !== null) throw ScpError.verifyFailed(`community membership token rejected: ${reason}`, { reason });
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// CommunityMembers (DHT value)

export interface CommunityMembers {
  communityShareId: Uint8Array;
  members: PeerAddr[];
  updatedAt: bigint;
}

export function writeCommunityMembers(w: CborWriter, c: CommunityMembers): void {
  w.map(3);
  w.text('community_share_id');
  writeId(w, c.communityShareId, 'members.communityShareId');
  w.text('members').array(c.members.length);
  for (const p of c.members) encodePeerAddr(w, p);
  w.text('updated_at');
  writeU64(w, c.updatedAt, 'members.updatedAt');
}

export function encodeCommunityMembers(c: CommunityMembers): Uint8Array {
  const w = new CborWriter(128 + c.members.length * 96);
  writeCommunityMembers(w, c);
  return w.finish();
}

export function decodeCommunityMembersValue(v: CborValue, where = 'CommunityMembers'): CommunityMembers {
  const m = asMap(v, where);
  return {
    communityShareId: b32(req(m, 'community_share_id', where), `${where}.community_share_id`),
    members: list(req(m, 'members', where), `${where}.members`, DECODE_MAX_ARRAY, (x, w) => decodePeerAddr(x, w)),
    updatedAt: u64(req(m, 'updated_at', where), `${where}.updated_at`),
  };
}

export function decodeCommunityMembers(bytes: Uint8Array): CommunityMembers {
  return decodeCommunityMembersValue(decodeCbor(bytes, 'CommunityMembers'));
}

/**
 * The reference's STORE merge (§10.4): keep the existing members in order, append incoming members not already
 * present (exact PeerAddr equality), keep the larger `updated_at`. Records for different communities do not merge.
 */
export function mergeCommunityMembers(existing: CommunityMembers, incoming: CommunityMembers): CommunityMembers {
  if (!bytesEqual(existing.communityShareId, incoming.communityShareId)) {
    throw ScpError.badInput('mergeCommunityMembers: records belong to different communities');
  }
  const members = [...existing.members];
  for (const p of incoming.members) {
    if (!members.some((q) => peerAddrEquals(q, p))) members.push(p);
  }
  return {
    communityShareId: existing.communityShareId,
    members,
    updatedAt: incoming.updatedAt > existing.updatedAt ? incoming.updatedAt : existing.updatedAt,
  };
}
