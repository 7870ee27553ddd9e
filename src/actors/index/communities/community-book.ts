/**
 * Joined communities as the index persists them (`index/communities`, community id → CommunityRecord), and the
 * pure decisions of create / join / leave (PROTOCOL.md §10, §6.8). The community key pair of a community we
 * created lives in the publisher keyring under the reference's label "community:<name>".
 */
import { ScpError } from '../../../errors.js';
import { bytesEqual, fromHex, toHex } from '../../../protocol/bytes.js';
import { checkMembershipToken, decodeMembershipToken, signMembershipToken, type CommunityMembershipToken } from '../../../protocol/community.js';
import { shareIdFromPubkey } from '../../../protocol/ids.js';
import { encodeMembershipToken } from '../../../protocol/community.js';

export const COMMUNITY_LABEL_PREFIX = 'community:';
export const MAX_COMMUNITIES = 256;
export const MAX_COMMUNITY_NAME_CHARS = 64;
export const DEFAULT_TOKEN_TTL_SECS = 30 * 86_400;

export interface CommunityRecord {
  communityId: string;
  sharePubkey: string;
  name: string | null;
  /** CBOR of our CommunityMembershipToken, if we hold one. */
  token: Uint8Array | null;
  /** Strict mode as a responder: requesters must present a valid token. */
  strict: boolean;
  /** True when we hold the community key (we created it). */
  owner: boolean;
  /** Unix seconds, decimal. */
  joinedAt: string;
}

/** What the API shows (never a key). */
export interface CommunityView {
  communityId: string;
  sharePubkey: string;
  name: string | null;
  owner: boolean;
  strict: boolean;
  hasToken: boolean;
  joinedAt: bigint;
}

export function communityView(r: CommunityRecord): CommunityView {
  return { communityId: r.communityId, sharePubkey: r.sharePubkey, name: r.name, owner: r.owner, strict: r.strict, hasToken: r.token !== null, joinedAt: BigInt(r.joinedAt) };
}

export function normalizeCommunityName(name: unknown): string {
  if (typeof name !== 'string') throw ScpError.badInput('a community needs a name');
  const n = name.normalize('NFC').trim();
  if (n === '' || [...n].length > MAX_COMMUNITY_NAME_CHARS || /\p{Cc}/u.test(n)) {
    throw ScpError.badInput(`a community name is 1–${MAX_COMMUNITY_NAME_CHARS} characters without control characters`);
  }
  return n;
}

export function hex32(v: unknown, what: string): string {
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v)) throw ScpError.badInput(`${what} must be 64 hex characters`);
  return v.toLowerCase();
}

export interface JoinInput {
  communityId: unknown;
  sharePubkey: unknown;
  name?: string | null;
  membershipToken?: string | null;
  strict?: boolean;
}

/**
 * Validates a join (the id must be SHA-256 of the pubkey; a token must be issued by this community for our node key
 * and unexpired) and returns the record to store, merged with an existing one (joining again updates options).
 */
export function joinDecision(existing: CommunityRecord | undefined, input: JoinInput, ours: { nodePubkey: Uint8Array; nowUnix: number; count: number }): CommunityRecord {
  const communityId = hex32(input.communityId, 'community id');
  const sharePubkey = hex32(input.sharePubkey, 'community share pubkey');
  if (!bytesEqual(shareIdFromPubkey(fromHex(sharePubkey, 32)), fromHex(communityId, 32))) {
    throw ScpError.badInput('community share_id does not match share_pubkey: check both values of the invitation');
  }
  if (!existing && ours.count >= MAX_COMMUNITIES) throw ScpError.limit(`a node joins at most ${MAX_COMMUNITIES} communities; leave one first`);
  let token = existing?.token ?? null;
  if (input.membershipToken !== undefined && input.membershipToken !== null) {
    const bytes = tokenBytes(input.membershipToken);
    let t: CommunityMembershipToken;
    try {
      t = decodeMembershipToken(bytes);
    } catch {
      throw ScpError.badInput('membershipToken is not a CommunityMembershipToken (hex of its CBOR)');
    }
    if (!bytesEqual(t.memberNodePubkey, ours.nodePubkey)) throw ScpError.verifyFailed('this membership token was issued to another node');
    const why = checkMembershipToken(t, fromHex(sharePubkey, 32), ours.nowUnix);
    if (why !== null) throw ScpError.verifyFailed(`membership token rejected: ${why}`, { reason: why });
    token = bytes;
  }
  return {
    communityId,
    sharePubkey,
    name: input.name !== undefined && input.name !== null ? normalizeCommunityName(input.name) : (existing?.name ?? null),
    token,
    strict: input.strict ?? existing?.strict ?? false,
    owner: existing?.owner ?? false,
    joinedAt: existing?.joinedAt ?? String(ours.nowUnix),
  };
}

function tokenBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(hex) || hex.length > 8192) throw ScpError.badInput('membershipToken must be hex');
  return fromHex(hex);
}

/** A token for `memberNodePubkey`, signed by the community key we hold. Returned as hex of its CBOR. */
export function issueToken(communitySeed: Uint8Array, communityId: string, memberNodePubkey: unknown, nowUnix: number, ttlSecs = DEFAULT_TOKEN_TTL_SECS): string {
  const member = fromHex(hex32(memberNodePubkey, 'member node pubkey'), 32);
  if (!Number.isInteger(ttlSecs) || ttlSecs <= 0) throw ScpError.badInput('ttlSecs must be a positive integer');
  const t = signMembershipToken(
    { communityShareId: fromHex(communityId, 32), memberNodePubkey: member, issuedAt: BigInt(nowUnix), expiresAt: BigInt(nowUnix + ttlSecs) },
    communitySeed,
  );
  return toHex(encodeMembershipToken(t));
}
