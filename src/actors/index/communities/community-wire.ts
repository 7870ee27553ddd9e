/**
 * Inbound community requests the index owns: GET_COMMUNITY_STATUS (404), LIST_COMMUNITY_PUBLIC_SHARES (406)
 * (PROTOCOL.md §10.2–10.3) and the extension's 4080–4082 (docs/COMMUNITIES.md §5.3). Pure: state is a view,
 * the requester is the session's authenticated PeerRef, time is an argument.
 */
import type { PeerRef, WireReply } from '../../../messages/wire.js';
import { bytesEqual, fromHex, toHex } from '../../../protocol/bytes.js';
import {
  CommunityExtMessageType as X,
  communityMemberAnnounceCodec,
  communityMemberAnnounceResultCodec,
  communityMembersDeltaCodec,
  communityMembersDeltaResultCodec,
  communityMembersPageCodec,
  communityMembersPageResultCodec,
  tokenAdmits,
} from '../../../protocol/community-ext.js';
import { shareIdFromPubkey } from '../../../protocol/ids.js';
import { ErrorText, MessageType } from '../../../protocol/registry.js';
import {
  communityPublicShareListCodec,
  communityStatusCodec,
  getCommunityStatusCodec,
  listCommunityPublicSharesCodec,
} from '../../../protocol/share-messages.js';
import { publicShareList, type OwnShareRecord } from '../own-shares.js';
import type { CommunityRecord } from './community-book.js';
import type { MemberDirectory } from './member-directory.js';

export const PROOF_REQUIRED_TEXT = 'community membership proof required';
export const PROOF_REJECTED_TEXT = 'community membership proof rejected';
const NOT_JOINED_TEXT = 'not joined';

export interface CommunityWireState {
  community(idHex: string): CommunityRecord | undefined;
  directory(idHex: string): MemberDirectory | undefined;
  ownShares(): readonly OwnShareRecord[];
  /** Community ids (hex) listed in the manifest `manifestIdHex` of one of our shares. */
  manifestCommunities(manifestIdHex: string): readonly string[];
  nowUnix(): number;
}

export const COMMUNITY_WIRE_TYPES: ReadonlySet<number> = new Set<number>([
  MessageType.GET_COMMUNITY_STATUS,
  MessageType.LIST_COMMUNITY_PUBLIC_SHARES,
  X.COMMUNITY_MEMBERS_PAGE,
  X.COMMUNITY_MEMBERS_DELTA,
  X.COMMUNITY_MEMBER_ANNOUNCE,
]);

function idMatches(id: Uint8Array, pubkey: Uint8Array): boolean {
  return bytesEqual(shareIdFromPubkey(pubkey), id);
}

/** Our public shares published into `communityIdHex`, §10.1 order, truncated to maxEntries. */
export function communityShares(state: CommunityWireState, communityIdHex: string, maxEntries: number) {
  const inCommunity = state.ownShares().filter((r) => r.active && r.visibility === 'public' && state.manifestCommunities(r.manifestId).includes(communityIdHex));
  return inCommunity.length === 0 ? [] : publicShareList(inCommunity, maxEntries);
}

/** Strict mode: does `proof` admit `requesterKey`, which must also be the key the handshake proved (when known)? */
export function strictAdmits(c: CommunityRecord, requesterKey: Uint8Array | null, proof: Uint8Array | null, from: PeerRef | undefined, nowUnix: number): string | null {
  if (!requesterKey || !proof) return PROOF_REQUIRED_TEXT;
  if (from?.pubkey && from.pubkey !== toHex(requesterKey)) return PROOF_REJECTED_TEXT;
  return tokenAdmits(proof, fromHex(c.sharePubkey, 32), requesterKey, nowUnix) ? null : PROOF_REJECTED_TEXT;
}

export function handleCommunityWire(state: CommunityWireState, req: { messageType: number; payload: Uint8Array; from?: PeerRef }): WireReply {
  try {
    switch (req.messageType) {
      case MessageType.GET_COMMUNITY_STATUS: {
        const q = getCommunityStatusCodec.decode(req.payload);
        if (!idMatches(q.communityShareId, q.communitySharePubkey)) return { error: ErrorText.COMMUNITY_ID_MISMATCH };
        const c = state.community(toHex(q.communityShareId));
        return { payload: communityStatusCodec.encode({ communityShareId: q.communityShareId, joined: c !== undefined, membershipProof: c?.token ?? null, name: c?.name ?? null }) };
      }
      case MessageType.LIST_COMMUNITY_PUBLIC_SHARES: {
        const q = listCommunityPublicSharesCodec.decode(req.payload);
        if (!idMatches(q.communityShareId, q.communitySharePubkey)) return { error: ErrorText.COMMUNITY_ID_MISMATCH };
        const idHex = toHex(q.communityShareId);
        const c = state.community(idHex);
        if (!c) return { payload: communityPublicShareListCodec.encode({ communityShareId: q.communityShareId, shares: [] }) };
        if (c.strict) {
          const refused = strictAdmits(c, q.requesterNodePubkey, q.requesterMembershipProof, req.from, state.nowUnix());
          if (refused) return { error: refused };
        }
        return { payload: communityPublicShareListCodec.encode({ communityShareId: q.communityShareId, shares: communityShares(state, idHex, q.maxEntries) }) };
      }
      case X.COMMUNITY_MEMBERS_PAGE: {
        const q = communityMembersPageCodec.decode(req.payload);
        if (!idMatches(q.communityShareId, q.communitySharePubkey)) return { error: ErrorText.COMMUNITY_ID_MISMATCH };
        const idHex = toHex(q.communityShareId);
        const c = state.community(idHex);
        const dir = state.directory(idHex);
        if (!c || !dir) return { payload: communityMembersPageResultCodec.encode({ communityShareId: q.communityShareId, members: [], nextCursor: null, syncCursor: new Uint8Array(16) }) };
        const refused = c.strict ? strictAdmits(c, req.from ? fromHex(req.from.pubkey, 32) : null, q.requesterMembershipProof, req.from, state.nowUnix()) : null;
        if (refused) return { error: refused };
        const p = dir.page(q.cursor, q.maxEntries, state.nowUnix());
        return { payload: communityMembersPageResultCodec.encode({ communityShareId: q.communityShareId, ...p }) };
      }
      case X.COMMUNITY_MEMBERS_DELTA: {
        const q = communityMembersDeltaCodec.decode(req.payload);
        if (!idMatches(q.communityShareId, q.communitySharePubkey)) return { error: ErrorText.COMMUNITY_ID_MISMATCH };
        const idHex = toHex(q.communityShareId);
        const c = state.community(idHex);
        const dir = state.directory(idHex);
        if (!c || !dir) return { payload: communityMembersDeltaResultCodec.encode({ communityShareId: q.communityShareId, members: [], nextCursor: q.since, more: false, reset: false }) };
        const refused = c.strict ? strictAdmits(c, req.from ? fromHex(req.from.pubkey, 32) : null, q.requesterMembershipProof, req.from, state.nowUnix()) : null;
        if (refused) return { error: refused };
        const d = dir.delta(q.since, q.maxEntries, state.nowUnix());
        return { payload: communityMembersDeltaResultCodec.encode({ communityShareId: q.communityShareId, ...d }) };
      }
      case X.COMMUNITY_MEMBER_ANNOUNCE: {
        const q = communityMemberAnnounceCodec.decode(req.payload);
        const dir = state.directory(toHex(q.record.communityShareId));
        if (!dir) return { payload: communityMemberAnnounceResultCodec.encode({ accepted: false, reason: NOT_JOINED_TEXT }) };
        const out = dir.accept(q.record, state.nowUnix());
        return { payload: communityMemberAnnounceResultCodec.encode(out.accepted ? { accepted: true, reason: null } : { accepted: false, reason: out.reason }) };
      }
      default:
        return { error: `unknown message type ${req.messageType}` };
    }
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}
