/**
 * The one exception to last-write-wins (PROTOCOL.md §10.4): a STORE of a `community:info:` record onto an
 * existing valid one appends the incoming members not already present (exact PeerAddr equality) and keeps the
 * larger `updated_at`. Our bound: the list keeps its newest MAX_COMMUNITY_MEMBERS entries (oldest dropped first;
 * honest members re-add themselves on every republish, a flood only displaces members for one republish period).
 */
import { bytesEqual } from '../../protocol/bytes.js';
import { peerAddrEquals } from '../../protocol/peer-addr.js';
import { validateDhtValue } from './keyspace-validation.js';
import { MAX_COMMUNITY_MEMBERS, encodeCommunityMembers } from './keyspace-records.js';

export function mergeCommunityInfo(key: Uint8Array, existing: Uint8Array, incoming: Uint8Array): Uint8Array | undefined {
  const a = validateDhtValue(key, existing);
  const b = validateDhtValue(key, incoming);
  if (!a.ok || !b.ok || a.value.kind !== 'community-members' || b.value.kind !== 'community-members') return undefined;
  const old = a.value.members;
  const neu = b.value.members;
  if (!bytesEqual(old.communityShareId, neu.communityShareId)) return undefined;
  const members = [...old.members];
  for (const m of neu.members) if (!members.some((x) => peerAddrEquals(x, m))) members.push(m);
  return encodeCommunityMembers({
    communityShareId: old.communityShareId,
    members: members.slice(Math.max(0, members.length - MAX_COMMUNITY_MEMBERS)),
    updatedAt: old.updatedAt > neu.updatedAt ? old.updatedAt : neu.updatedAt,
  });
}
