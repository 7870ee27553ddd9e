/** Member-record fixtures: deterministic node keys, one community key, records signed as a member would sign them. */
import { MemberDirectory } from '../../../../src/actors/index/communities/member-directory.js';
import { toHex } from '../../../../src/protocol/bytes.js';
import { encodeMembershipToken, signMembershipToken } from '../../../../src/protocol/community.js';
import { signMemberRecord, type CommunityMemberRecord } from '../../../../src/protocol/community-ext.js';
import { shareIdFromPubkey } from '../../../../src/protocol/ids.js';
import { ed25519Sign, publicKeyFromSeed } from '../../../../src/protocol/keys.js';
import { membershipTokenSignableBytes } from '../../../../src/protocol/signables.js';
import type { PeerAddr } from '../../../../src/protocol/peer-addr.js';

export const NOW = 1_700_000_000;
export const communitySeed = new Uint8Array(32).fill(0xc1);
export const communityPubkey = publicKeyFromSeed(communitySeed);
export const communityId = shareIdFromPubkey(communityPubkey);
export const communityIdHex = toHex(communityId);

export function nodeSeed(i: number): Uint8Array {
  const s = new Uint8Array(32);
  new DataView(s.buffer).setUint32(0, i + 1);
  s[31] = 0x5a;
  return s;
}

export function addrOf(i: number): PeerAddr {
  return { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 7001, transport: 'tcp', pubkeyHint: null };
}

/** A token for `memberPub`; with another `seed` it is a forgery (signed by a key that is not the community's). */
export function tokenFor(memberPub: Uint8Array, seed = communitySeed, id = communityId, ttl = 86_400): Uint8Array {
  const t = { communityShareId: id, memberNodePubkey: memberPub, issuedAt: BigInt(NOW), expiresAt: BigInt(NOW + ttl) };
  if (seed === communitySeed) return encodeMembershipToken(signMembershipToken(t, seed));
  return encodeMembershipToken({ ...t, signature: ed25519Sign(seed, membershipTokenSignableBytes(t)) });
}

export function record(i: number, over: { issuedAt?: number; ttl?: number; left?: boolean; token?: Uint8Array | null } = {}): CommunityMemberRecord {
  const seed = nodeSeed(i);
  const issued = over.issuedAt ?? NOW;
  return signMemberRecord(
    {
      communityShareId: communityId,
      memberNodePubkey: publicKeyFromSeed(seed),
      addrs: over.left ? [] : [addrOf(i)],
      issuedAt: BigInt(issued),
      expiresAt: BigInt(issued + (over.ttl ?? 3_600)),
      left: over.left ?? false,
      membershipProof: over.token ?? null,
    },
    seed,
  );
}

export function directory(strict = false, epoch = 1n): MemberDirectory {
  return new MemberDirectory({ communityShareId: communityId, communityPubkey, epoch, strict });
}
