/**
 * The client side of the extension's member sync (docs/COMMUNITIES.md §4–§5): pull a member's directory into
 * ours — delta since our cursor when we hold one, page by page otherwise — and push our own record. Transport-free:
 * the caller passes one function that sends a request to one peer and returns the answer payload (throwing the
 * peer's error envelope as an error), so the node's session and the simulator run the same code.
 */
import {
  CommunityExtMessageType as X,
  communityMemberAnnounceCodec,
  communityMemberAnnounceResultCodec,
  communityMembersDeltaCodec,
  communityMembersDeltaResultCodec,
  communityMembersPageCodec,
  communityMembersPageResultCodec,
  MEMBER_PAGE_MAX_ENTRIES,
  type CommunityMemberAnnounceResult,
  type CommunityMemberRecord,
} from '../../../protocol/community-ext.js';
import type { MemberDirectory } from './member-directory.js';

/** Sends one request to one peer; resolves with the answer payload, rejects with the peer's error. */
export type SendToPeer = (messageType: number, payload: Uint8Array) => Promise<Uint8Array>;

export interface SyncCommunity {
  communityShareId: Uint8Array;
  communityPubkey: Uint8Array;
  /** Our membership token (strict communities ask for it), or null. */
  token: Uint8Array | null;
}

export interface PullOptions {
  /** Requests per pull at most (a page or delta answer each); the rest comes next round. */
  maxRequests?: number;
  entries?: number;
}

export interface PullResult {
  /** 'delta' when the cursor held, 'pages' after a first contact or a reset. */
  mode: 'delta' | 'pages';
  requests: number;
  /** Records received / accepted into our directory (refused ones: stale, forged, not newer). */
  received: number;
  accepted: number;
  /** Where the next pull from this peer starts (a delta cursor), undefined if we never got one. */
  cursor: Uint8Array | undefined;
  /** False when maxRequests ran out before the peer said "no more". */
  complete: boolean;
}

const DEFAULT_MAX_REQUESTS = 40;

/**
 * Pulls `send`'s directory into `dir`. Any error of the peer (including a reference peer's
 * "unknown message type 4080") propagates: the caller decides what it means (remember the peer as classic).
 */
export async function pullMembers(send: SendToPeer, c: SyncCommunity, dir: MemberDirectory, since: Uint8Array | undefined, nowUnix: () => number, opts: PullOptions = {}): Promise<PullResult> {
  const maxRequests = opts.maxRequests ?? DEFAULT_MAX_REQUESTS;
  const entries = opts.entries ?? MEMBER_PAGE_MAX_ENTRIES;
  const out: PullResult = { mode: 'delta', requests: 0, received: 0, accepted: 0, cursor: since, complete: false };
  const take = (records: readonly CommunityMemberRecord[]): void => {
    out.received += records.length;
    for (const r of records) if (dir.accept(r, nowUnix()).accepted) out.accepted++;
  };
  if (since) {
    let cursor = since;
    let reset = false;
    while (out.requests < maxRequests) {
      out.requests++;
      const r = communityMembersDeltaResultCodec.decode(
        await send(X.COMMUNITY_MEMBERS_DELTA, communityMembersDeltaCodec.encode({ communityShareId: c.communityShareId, communitySharePubkey: c.communityPubkey, since: cursor, maxEntries: entries, requesterMembershipProof: c.token })),
      );
      if (r.reset) {
        // The peer's directory restarted (new epoch): our cursor means nothing there; page from scratch below.
        reset = true;
        out.cursor = undefined;
        break;
      }
      take(r.members);
      cursor = r.nextCursor;
      out.cursor = cursor;
      if (!r.more) {
        out.complete = true;
        return out;
      }
    }
    if (!reset || out.requests >= maxRequests) return out;
  }
  out.mode = 'pages';
  let page: Uint8Array | null = null;
  let sync: Uint8Array | undefined;
  while (out.requests < maxRequests) {
    out.requests++;
    const r = communityMembersPageResultCodec.decode(
      await send(X.COMMUNITY_MEMBERS_PAGE, communityMembersPageCodec.encode({ communityShareId: c.communityShareId, communitySharePubkey: c.communityPubkey, cursor: page, maxEntries: entries, requesterMembershipProof: c.token })),
    );
    // The delta position when the first page was cut: changes made while we page arrive again by delta.
    sync ??= r.syncCursor;
    take(r.members);
    page = r.nextCursor;
    if (!page) {
      out.complete = true;
      break;
    }
  }
  // An unfinished page walk keeps no cursor: the next pull pages again rather than skip the members not yet seen.
  out.cursor = out.complete ? sync : undefined;
  return out;
}

/** Pushes one record (ours: a refresh, a join or a leave tombstone) to one member. */
export async function announceMember(send: SendToPeer, record: CommunityMemberRecord): Promise<CommunityMemberAnnounceResult> {
  return communityMemberAnnounceResultCodec.decode(await send(X.COMMUNITY_MEMBER_ANNOUNCE, communityMemberAnnounceCodec.encode({ record })));
}
