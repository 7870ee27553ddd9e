/**
 * "Communities at scale" (our extension, docs/COMMUNITIES.md): per-member records signed by the member's node key,
 * paged member browsing with cursors, delta sync since a cursor, and push announces. Message numbers 4080–4082
 * are outside the reference's closed registry (a reference peer answers them with "unknown message type N"); the
 * answers reuse the request number with the RESPONSE flag, as FIND_NODE does. CBOR follows the reference's
 * conventions: string-keyed struct maps, ids as int arrays, signatures and opaque blobs as byte strings.
 */
import { ScpError } from '../errors.js';
import { bytesEqual } from './bytes.js';
import { CborWriter, decodeCbor, type CborValue } from './cbor.js';
import { anyBytes, asMap, b32, bool, byteString, list, opt, req, text, u16, u64 } from './cbor-fields.js';
import { checkMembershipToken, decodeMembershipToken } from './community.js';
import { ed25519Sign, ed25519Verify, publicKeyFromSeed } from './keys.js';
import { MAX_MEMBERSHIP_PROOF_BYTES } from './limits.js';
import { bytesIn, defineMessageCodec, listIn, uintIn, type MessageCodec } from './message-codec.js';
import { decodePeerAddr, encodePeerAddr, type PeerAddr } from './peer-addr.js';
import { writeId, writeU64 } from './signables.js';

export const CommunityExtMessageType = {
  COMMUNITY_MEMBERS_PAGE: 4080,
  COMMUNITY_MEMBERS_DELTA: 4081,
  COMMUNITY_MEMBER_ANNOUNCE: 4082,
} as const;

export const MEMBER_RECORD_DOMAIN = 'scp2p-community-member-v1';
export const MEMBER_RECORD_DEFAULT_TTL_SECS = 3_600;
export const MEMBER_RECORD_MAX_TTL_SECS = 21_600;
export const MEMBER_RECORD_MAX_SKEW_SECS = 300;
export const MEMBER_RECORD_MAX_ADDRS = 4;
export const MEMBER_PAGE_MAX_ENTRIES = 500;
export const MEMBER_CURSOR_MAX_BYTES = 64;
const MAX_REASON_BYTES = 256;

// ---------------------------------------------------------------------------------------------------------
// CommunityMemberRecord

export interface CommunityMemberRecord {
  communityShareId: Uint8Array;
  memberNodePubkey: Uint8Array;
  addrs: PeerAddr[];
  issuedAt: bigint;
  expiresAt: bigint;
  /** A signed tombstone: the member left. */
  left: boolean;
  /** CBOR of a CommunityMembershipToken (strict communities), or null. */
  membershipProof: Uint8Array | null;
  signature: Uint8Array;
}

export type UnsignedMemberRecord = Omit<CommunityMemberRecord, 'signature'>;

/** The 8-array the member's node key signs (domain text first: disjoint from every other node-key signature). */
export function memberRecordSignableBytes(r: UnsignedMemberRecord): Uint8Array {
  const w = new CborWriter(256 + r.addrs.length * 96);
  w.array(8).text(MEMBER_RECORD_DOMAIN);
  writeId(w, r.communityShareId, 'memberRecord.communityShareId');
  writeId(w, r.memberNodePubkey, 'memberRecord.memberNodePubkey');
  w.array(r.addrs.length);
  for (const a of r.addrs) encodePeerAddr(w, a);
  writeU64(w, r.issuedAt, 'memberRecord.issuedAt');
  writeU64(w, r.expiresAt, 'memberRecord.expiresAt');
  w.bool(r.left);
  if (r.membershipProof) w.bytes(r.membershipProof);
  else w.null();
  return w.finish();
}

export function writeMemberRecord(w: CborWriter, r: CommunityMemberRecord): void {
  if (r.addrs.length > MEMBER_RECORD_MAX_ADDRS) throw ScpError.badInput(`a member record carries at most ${MEMBER_RECORD_MAX_ADDRS} addresses`);
  w.map(8).text('community_share_id');
  writeId(w, r.communityShareId, 'memberRecord.communityShareId');
  w.text('member_node_pubkey');
  writeId(w, r.memberNodePubkey, 'memberRecord.memberNodePubkey');
  w.text('addrs').array(r.addrs.length);
  for (const a of r.addrs) encodePeerAddr(w, a);
  w.text('issued_at');
  writeU64(w, r.issuedAt, 'memberRecord.issuedAt');
  w.text('expires_at');
  writeU64(w, r.expiresAt, 'memberRecord.expiresAt');
  w.text('left').bool(r.left);
  w.text('membership_proof');
  if (r.membershipProof) w.bytes(bytesIn(r.membershipProof, 'memberRecord.membershipProof', undefined, MAX_MEMBERSHIP_PROOF_BYTES));
  else w.null();
  w.text('signature').bytes(bytesIn(r.signature, 'memberRecord.signature', 64));
}

export function readMemberRecord(v: CborValue, where = 'CommunityMemberRecord'): CommunityMemberRecord {
  const m = asMap(v, where);
  const proof = opt(m, 'membership_proof');
  return {
    communityShareId: b32(req(m, 'community_share_id', where), `${where}.community_share_id`),
    memberNodePubkey: b32(req(m, 'member_node_pubkey', where), `${where}.member_node_pubkey`),
    addrs: list(req(m, 'addrs', where), `${where}.addrs`, MEMBER_RECORD_MAX_ADDRS, (x, w) => decodePeerAddr(x, w)),
    issuedAt: u64(req(m, 'issued_at', where), `${where}.issued_at`),
    expiresAt: u64(req(m, 'expires_at', where), `${where}.expires_at`),
    left: bool(req(m, 'left', where), `${where}.left`),
    membershipProof: proof === undefined ? null : anyBytes(proof, `${where}.membership_proof`, MAX_MEMBERSHIP_PROOF_BYTES).slice(),
    signature: byteString(req(m, 'signature', where), `${where}.signature`, 64, 64).slice(),
  };
}

export function encodeMemberRecord(r: CommunityMemberRecord): Uint8Array {
  const w = new CborWriter(512);
  writeMemberRecord(w, r);
  return w.finish();
}

export function decodeMemberRecord(bytes: Uint8Array): CommunityMemberRecord {
  return readMemberRecord(decodeCbor(bytes, 'CommunityMemberRecord'));
}

/** Signs with the member's node seed; the record's member key must be that seed's public key. */
export function signMemberRecord(r: UnsignedMemberRecord, nodeSeed32: Uint8Array): CommunityMemberRecord {
  if (!bytesEqual(publicKeyFromSeed(nodeSeed32), r.memberNodePubkey)) throw ScpError.badInput('signMemberRecord: the seed is not the member key');
  return { ...r, signature: ed25519Sign(nodeSeed32, memberRecordSignableBytes(r)) };
}

export type MemberRecordReason =
  | 'wrong_community'
  | 'stale'
  | 'from_future'
  | 'bad_ttl'
  | 'bad_addrs'
  | 'bad_signature'
  | 'token_missing'
  | 'token_invalid';

export interface MemberRecordCheck {
  communityShareId: Uint8Array;
  communityPubkey: Uint8Array;
  nowUnix: number | bigint;
  /** Strict community: a membership token issued by the community key for this member is required. */
  strict?: boolean;
}

/** Every acceptance rule of docs/COMMUNITIES.md §5.1 except "newer than the stored one". Never throws. */
export function checkMemberRecord(r: CommunityMemberRecord, c: MemberRecordCheck): MemberRecordReason | null {
  const now = BigInt(c.nowUnix);
  if (!bytesEqual(r.communityShareId, c.communityShareId)) return 'wrong_community';
  if (r.expiresAt <= now) return 'stale';
  if (r.issuedAt > now + BigInt(MEMBER_RECORD_MAX_SKEW_SECS)) return 'from_future';
  if (r.expiresAt <= r.issuedAt || r.expiresAt - r.issuedAt > BigInt(MEMBER_RECORD_MAX_TTL_SECS)) return 'bad_ttl';
  if (r.addrs.length > MEMBER_RECORD_MAX_ADDRS || (!r.left && r.addrs.some((a) => a.port === 0))) return 'bad_addrs';
  let ok = false;
  try {
    ok = r.signature.length === 64 && ed25519Verify(r.memberNodePubkey, memberRecordSignableBytes(r), r.signature);
  } catch {
    ok = false;
  }
  if (!ok) return 'bad_signature';
  if (c.strict && !r.left) {
    if (!r.membershipProof) return 'token_missing';
    if (!tokenAdmits(r.membershipProof, c.communityPubkey, r.memberNodePubkey, now)) return 'token_invalid';
  }
  return null;
}

/** Does the CBOR token `proof` admit `memberPubkey` to the community of `communityPubkey` at `now`? */
export function tokenAdmits(proof: Uint8Array, communityPubkey: Uint8Array, memberPubkey: Uint8Array, nowUnix: number | bigint): boolean {
  try {
    const t = decodeMembershipToken(proof);
    if (!bytesEqual(t.memberNodePubkey, memberPubkey)) return false;
    return checkMembershipToken(t, communityPubkey, nowUnix) === null;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Messages

export interface CommunityMembersPage {
  communityShareId: Uint8Array;
  communitySharePubkey: Uint8Array;
  cursor: Uint8Array | null;
  maxEntries: number;
  requesterMembershipProof: Uint8Array | null;
}

export interface CommunityMembersPageResult {
  communityShareId: Uint8Array;
  members: CommunityMemberRecord[];
  nextCursor: Uint8Array | null;
  syncCursor: Uint8Array;
}

export interface CommunityMembersDelta {
  communityShareId: Uint8Array;
  communitySharePubkey: Uint8Array;
  since: Uint8Array;
  maxEntries: number;
  requesterMembershipProof: Uint8Array | null;
}

export interface CommunityMembersDeltaResult {
  communityShareId: Uint8Array;
  members: CommunityMemberRecord[];
  nextCursor: Uint8Array;
  more: boolean;
  reset: boolean;
}

export interface CommunityMemberAnnounce {
  record: CommunityMemberRecord;
}

export interface CommunityMemberAnnounceResult {
  accepted: boolean;
  reason: string | null;
}

const optBytes = (w: CborWriter, b: Uint8Array | null | undefined, what: string, max: number): void => {
  if (b === null || b === undefined) w.null();
  else w.bytes(bytesIn(b, what, undefined, max));
};
const readOptBytes = (m: ReturnType<typeof asMap>, key: string, where: string, max: number): Uint8Array | null => {
  const v = opt(m, key);
  return v === undefined ? null : anyBytes(v, `${where}.${key}`, max).slice();
};
// Records carry bigint times already; the U64Input widening of the codec type is narrowed back here.
const writeRecords = (w: CborWriter, rs: readonly unknown[], what: string): void => {
  listIn(rs, what, MEMBER_PAGE_MAX_ENTRIES);
  w.array(rs.length);
  for (const r of rs) writeMemberRecord(w, r as CommunityMemberRecord);
};
const readRecords = (v: CborValue | undefined, where: string): CommunityMemberRecord[] => list(v, where, MEMBER_PAGE_MAX_ENTRIES, readMemberRecord);

export const communityMembersPageCodec: MessageCodec<CommunityMembersPage> = defineMessageCodec<CommunityMembersPage>(
  'CommunityMembersPage',
  (w, v) => {
    w.map(5).text('community_share_id').intArray(bytesIn(v.communityShareId, 'CommunityMembersPage.communityShareId', 32));
    w.text('community_share_pubkey').intArray(bytesIn(v.communitySharePubkey, 'CommunityMembersPage.communitySharePubkey', 32));
    w.text('cursor');
    optBytes(w, v.cursor, 'CommunityMembersPage.cursor', MEMBER_CURSOR_MAX_BYTES);
    w.text('max_entries').uint(uintIn(v.maxEntries, 16, 'CommunityMembersPage.maxEntries'));
    w.text('requester_membership_proof');
    optBytes(w, v.requesterMembershipProof, 'CommunityMembersPage.requesterMembershipProof', MAX_MEMBERSHIP_PROOF_BYTES);
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      communityShareId: b32(req(m, 'community_share_id', where), `${where}.community_share_id`),
      communitySharePubkey: b32(req(m, 'community_share_pubkey', where), `${where}.community_share_pubkey`),
      cursor: readOptBytes(m, 'cursor', where, MEMBER_CURSOR_MAX_BYTES),
      maxEntries: u16(req(m, 'max_entries', where), `${where}.max_entries`),
      requesterMembershipProof: readOptBytes(m, 'requester_membership_proof', where, MAX_MEMBERSHIP_PROOF_BYTES),
    };
  },
  200,
);

export const communityMembersPageResultCodec: MessageCodec<CommunityMembersPageResult> = defineMessageCodec<CommunityMembersPageResult>(
  'CommunityMembersPageResult',
  (w, v) => {
    w.map(4).text('community_share_id').intArray(bytesIn(v.communityShareId, 'CommunityMembersPageResult.communityShareId', 32));
    w.text('members');
    writeRecords(w, v.members, 'CommunityMembersPageResult.members');
    w.text('next_cursor');
    optBytes(w, v.nextCursor, 'CommunityMembersPageResult.nextCursor', MEMBER_CURSOR_MAX_BYTES);
    w.text('sync_cursor').bytes(bytesIn(v.syncCursor, 'CommunityMembersPageResult.syncCursor', undefined, MEMBER_CURSOR_MAX_BYTES));
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      communityShareId: b32(req(m, 'community_share_id', where), `${where}.community_share_id`),
      members: readRecords(req(m, 'members', where), `${where}.members`),
      nextCursor: readOptBytes(m, 'next_cursor', where, MEMBER_CURSOR_MAX_BYTES),
      syncCursor: anyBytes(req(m, 'sync_cursor', where), `${where}.sync_cursor`, MEMBER_CURSOR_MAX_BYTES).slice(),
    };
  },
  4096,
);

export const communityMembersDeltaCodec: MessageCodec<CommunityMembersDelta> = defineMessageCodec<CommunityMembersDelta>(
  'CommunityMembersDelta',
  (w, v) => {
    w.map(5).text('community_share_id').intArray(bytesIn(v.communityShareId, 'CommunityMembersDelta.communityShareId', 32));
    w.text('community_share_pubkey').intArray(bytesIn(v.communitySharePubkey, 'CommunityMembersDelta.communitySharePubkey', 32));
    w.text('since').bytes(bytesIn(v.since, 'CommunityMembersDelta.since', undefined, MEMBER_CURSOR_MAX_BYTES));
    w.text('max_entries').uint(uintIn(v.maxEntries, 16, 'CommunityMembersDelta.maxEntries'));
    w.text('requester_membership_proof');
    optBytes(w, v.requesterMembershipProof, 'CommunityMembersDelta.requesterMembershipProof', MAX_MEMBERSHIP_PROOF_BYTES);
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      communityShareId: b32(req(m, 'community_share_id', where), `${where}.community_share_id`),
      communitySharePubkey: b32(req(m, 'community_share_pubkey', where), `${where}.community_share_pubkey`),
      since: anyBytes(req(m, 'since', where), `${where}.since`, MEMBER_CURSOR_MAX_BYTES).slice(),
      maxEntries: u16(req(m, 'max_entries', where), `${where}.max_entries`),
      requesterMembershipProof: readOptBytes(m, 'requester_membership_proof', where, MAX_MEMBERSHIP_PROOF_BYTES),
    };
  },
  200,
);

export const communityMembersDeltaResultCodec: MessageCodec<CommunityMembersDeltaResult> = defineMessageCodec<CommunityMembersDeltaResult>(
  'CommunityMembersDeltaResult',
  (w, v) => {
    w.map(5).text('community_share_id').intArray(bytesIn(v.communityShareId, 'CommunityMembersDeltaResult.communityShareId', 32));
    w.text('members');
    writeRecords(w, v.members, 'CommunityMembersDeltaResult.members');
    w.text('next_cursor').bytes(bytesIn(v.nextCursor, 'CommunityMembersDeltaResult.nextCursor', undefined, MEMBER_CURSOR_MAX_BYTES));
    w.text('more').bool(v.more === true);
    w.text('reset').bool(v.reset === true);
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      communityShareId: b32(req(m, 'community_share_id', where), `${where}.community_share_id`),
      members: readRecords(req(m, 'members', where), `${where}.members`),
      nextCursor: anyBytes(req(m, 'next_cursor', where), `${where}.next_cursor`, MEMBER_CURSOR_MAX_BYTES).slice(),
      more: bool(req(m, 'more', where), `${where}.more`),
      reset: bool(req(m, 'reset', where), `${where}.reset`),
    };
  },
  4096,
);

export const communityMemberAnnounceCodec: MessageCodec<CommunityMemberAnnounce> = defineMessageCodec<CommunityMemberAnnounce>(
  'CommunityMemberAnnounce',
  (w, v) => {
    w.map(1).text('record');
    writeMemberRecord(w, v.record as CommunityMemberRecord);
  },
  (v, where) => {
    const m = asMap(v, where);
    return { record: readMemberRecord(req(m, 'record', where), `${where}.record`) };
  },
  512,
);

export const communityMemberAnnounceResultCodec: MessageCodec<CommunityMemberAnnounceResult> = defineMessageCodec<CommunityMemberAnnounceResult>(
  'CommunityMemberAnnounceResult',
  (w, v) => {
    w.map(2).text('accepted').bool(v.accepted === true).text('reason');
    if (v.reason === null || v.reason === undefined) w.null();
    else w.text(v.reason.slice(0, MAX_REASON_BYTES));
  },
  (v, where) => {
    const m = asMap(v, where);
    const r = opt(m, 'reason');
    return { accepted: bool(req(m, 'accepted', where), `${where}.accepted`), reason: r === undefined ? null : text(r, `${where}.reason`, MAX_REASON_BYTES * 4) };
  },
  32,
);
