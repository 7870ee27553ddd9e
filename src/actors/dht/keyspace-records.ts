/**
 * The two small DHT value records the keyspace check needs and protocol/ does not (yet) export: Providers
 * (PROTOCOL.md §3.2, type 498 used as a value) and CommunityMembers (§10.4). Struct maps, keys in order.
 * Decoders are bounded (our addition): at most MAX_PROVIDERS / MAX_COMMUNITY_MEMBERS addresses.
 */
import { CborWriter, decodeCbor } from '../../protocol/cbor.js';
import { asMap, b32, list, req, u64 } from '../../protocol/cbor-fields.js';
import { decodePeerAddr, encodePeerAddr, type PeerAddr } from '../../protocol/peer-addr.js';
import { MAX_PROVIDERS } from '../../protocol/limits.js';

/** Members one community:info: record may list (our bound; the reference has none). */
export const MAX_COMMUNITY_MEMBERS = 1_024;
export { MAX_PROVIDERS };

export interface Providers {
  contentId: Uint8Array;
  providers: PeerAddr[];
  updatedAt: bigint;
}

export interface CommunityMembers {
  communityShareId: Uint8Array;
  members: PeerAddr[];
  updatedAt: bigint;
}

export function decodeProviders(bytes: Uint8Array): Providers {
  const m = asMap(decodeCbor(bytes, 'Providers'), 'Providers');
  return {
    contentId: b32(req(m, 'content_id', 'Providers'), 'Providers.content_id'),
    providers: list(req(m, 'providers', 'Providers'), 'Providers.providers', MAX_PROVIDERS, (x, w) => decodePeerAddr(x, w)),
    updatedAt: u64(req(m, 'updated_at', 'Providers'), 'Providers.updated_at'),
  };
}

export function encodeProviders(p: Providers): Uint8Array {
  const w = new CborWriter(256);
  w.map(3).text('content_id').intArray(p.contentId).text('providers').array(p.providers.length);
  for (const a of p.providers) encodePeerAddr(w, a);
  w.text('updated_at').uint(p.updatedAt);
  return w.finish();
}

export function decodeCommunityMembers(bytes: Uint8Array): CommunityMembers {
  const m = asMap(decodeCbor(bytes, 'CommunityMembers'), 'CommunityMembers');
  return {
    communityShareId: b32(req(m, 'community_share_id', 'CommunityMembers'), 'CommunityMembers.community_share_id'),
    members: list(req(m, 'members', 'CommunityMembers'), 'CommunityMembers.members', MAX_COMMUNITY_MEMBERS, (x, w) =>
      decodePeerAddr(x, w),
    ),
    updatedAt: u64(req(m, 'updated_at', 'CommunityMembers'), 'CommunityMembers.updated_at'),
  };
}

export function encodeCommunityMembers(c: CommunityMembers): Uint8Array {
  const w = new CborWriter(256);
  w.map(3).text('community_share_id').intArray(c.communityShareId).text('members').array(c.members.length);
  for (const a of c.members) encodePeerAddr(w, a);
  w.text('updated_at').uint(c.updatedAt);
  return w.finish();
}
