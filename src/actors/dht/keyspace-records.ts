/**
 * The two list-valued DHT records the keyspace check decodes, taken from protocol/: Providers
 * (transfer-messages.ts, PROTOCOL.md §3.2) and CommunityMembers (community.ts, §10.4). Our addition is the bound:
 * a members list longer than MAX_COMMUNITY_MEMBERS is refused (providers are bounded by their codec).
 */
import { decodeCommunityMembers as decodeMembersRecord, encodeCommunityMembers, type CommunityMembers } from '../../protocol/community.js';
import { MAX_PROVIDERS } from '../../protocol/limits.js';
import { ProtocolError } from '../../errors.js';
import { providersCodec, type Providers } from '../../protocol/transfer-messages.js';

/** Members one community:info: record may list (our bound; the reference has none). */
export const MAX_COMMUNITY_MEMBERS = 1_024;
export { MAX_PROVIDERS, encodeCommunityMembers };
export type { CommunityMembers, Providers };

export function decodeProviders(bytes: Uint8Array): Providers {
  return providersCodec.decode(bytes);
}

export function encodeProviders(p: Providers): Uint8Array {
  return providersCodec.encode(p);
}

export function decodeCommunityMembers(bytes: Uint8Array): CommunityMembers {
  const c = decodeMembersRecord(bytes);
  if (c.members.length > MAX_COMMUNITY_MEMBERS) {
    throw new ProtocolError(`lists more than ${MAX_COMMUNITY_MEMBERS} addresses`, 'CommunityMembers.members');
  }
  return c;
}
