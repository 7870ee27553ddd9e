import type { CommonMailbox } from './mailbox.js';
import type { WireMailboxEntry } from './wire.js';

export type Trust = 'trusted' | 'normal' | 'untrusted';
export type Visibility = 'private' | 'public';

export interface Subscription {
  shareId: string;
  sharePubkey: string | null;
  trust: Trust;
  /** Unix milliseconds. */
  subscribedAt: bigint;
  /** Latest synced manifest seq (0 before the first sync) and its id. */
  latestSeq?: bigint;
  latestManifestId?: string | null;
  title?: string | null;
}

interface PublishCommon {
  visibility?: Visibility;
  communities?: string[];
  /** Publisher label; the node's default publisher when absent. */
  publisher?: string;
  title?: string;
  description?: string;
}

export type PublishRequest =
  | ({ kind: 'text'; title: string; text: string } & PublishCommon)
  | ({ kind: 'files'; paths: string[]; title: string } & PublishCommon)
  | ({ kind: 'folder'; dir: string; title: string } & PublishCommon);

export interface PublishResult {
  shareId: string;
  manifestId: string;
  seq: bigint;
}

export interface OwnShare {
  shareId: string;
  sharePubkey: string;
  publisher: string;
  seq: bigint;
  manifestId: string;
  title: string | null;
  visibility: Visibility;
  items: number;
  /** Unix seconds. */
  updatedAt: bigint;
}

/** An item of a share as users browse it (API.md). */
export interface ShareItemView {
  shareId: string;
  contentId: string;
  name: string;
  /** Relative path inside a folder share ('/'-separated), or null for top-level items. */
  path: string | null;
  size: bigint;
  mime: string | null;
  tags: string[];
  chunkCount: number;
  chunkListHash: string;
}

export interface SearchQuery {
  query: string;
  limit?: number;
  offset?: number;
  trust?: Trust[] | 'all';
  shareIds?: string[];
}

export interface SearchHit extends ShareItemView {
  score: number;
  shareTitle: string | null;
  snippet: string | null;
}

export interface SearchResult {
  hits: SearchHit[];
  total: number;
}

export interface SyncReport {
  checked: number;
  updated: Array<{ shareId: string; seq: bigint; manifestId: string }>;
  failed: Array<{ shareId: string; code: string; error: string }>;
}

// ---------------------------------------------------------------- communities and public browse (issue 10)

export interface CommunityInfo {
  communityId: string;
  sharePubkey: string;
  name: string | null;
  /** We hold the community key (we created it) and can issue membership tokens. */
  owner: boolean;
  /** As a responder, we require membership tokens (PROTOCOL.md §10.3 strict mode). */
  strict: boolean;
  hasToken: boolean;
  /** Unix seconds. */
  joinedAt: bigint;
}

/** A public share as a browse shows it; subscribe with `shareId` + `sharePubkey` (the `peer` serves its manifest). */
export interface PublicShareView {
  shareId: string;
  sharePubkey: string;
  latestSeq: bigint;
  latestManifestId: string;
  title: string | null;
  description: string | null;
  /** The address that listed it ("tcp://ip:port@pubkey"), null for our own. */
  peer: string | null;
  /** The listing node's key when known. */
  peerPubkey: string | null;
}

export interface CommunityParticipant {
  /** Hex node key when known (directory records always carry it; classic members only via a pubkey hint). */
  nodePubkey: string | null;
  addresses: string[];
  /** GET_COMMUNITY_STATUS answer: true joined, false not joined, null unreachable. */
  joined: boolean | null;
  name: string | null;
  /** Where we learned of it: the extension's signed directory, the classic community:info record, or both. */
  source: 'directory' | 'dht' | 'both';
  /** Speaks the communities-at-scale extension (null: not probed). */
  extension: boolean | null;
}

export interface CommunityBrowse {
  shares: PublicShareView[];
  nextCursor: string | null;
}

export interface IndexMailbox extends CommonMailbox, WireMailboxEntry {
  createCommunity: { req: { name: string }; reply: { communityId: string; sharePubkey: string } };
  joinCommunity: {
    req: { communityId: string; sharePubkey: string; name?: string | null; membershipToken?: string | null; strict?: boolean };
    reply: CommunityInfo;
  };
  leaveCommunity: { req: { communityId: string }; reply: { left: boolean } };
  listCommunities: { req: object; reply: CommunityInfo[] };
  listCommunityParticipants: { req: { communityId: string }; reply: CommunityParticipant[] };
  browseCommunityShares: { req: { communityId: string; cursor?: string | null; limit?: number }; reply: CommunityBrowse };
  /** Hex CBOR of a CommunityMembershipToken for `memberNodePubkey`, signed with a community key we hold. */
  issueMembershipToken: { req: { communityId: string; memberNodePubkey: string; ttlSecs?: number }; reply: { token: string; expiresAt: bigint } };
  listPublicSharesFromPeers: { req: { maxPeers?: number }; reply: PublicShareView[] };

  subscribe: { req: { shareId: string; sharePubkey?: string | null; trust?: Trust }; reply: Subscription };
  unsubscribe: { req: { shareId: string }; reply: { removed: boolean } };
  listSubscriptions: { req: object; reply: Subscription[] };
  publish: { req: PublishRequest; reply: PublishResult };
  listOwnShares: { req: object; reply: OwnShare[] };
  /** Puts every active share head (and manifest) of ours into the DHT again now (after gaining a relay route). */
  republishShares: { req: object; reply: { announced: number } };
  unpublish: { req: { shareId: string }; reply: { removed: boolean } };
  syncSubscriptions: { req: { shareIds?: string[] }; reply: SyncReport };
  listShareItems: { req: { shareId: string }; reply: ShareItemView[] };
  search: { req: SearchQuery; reply: SearchResult };
  /** Items to download from a share's latest manifest ('all' or the listed content ids); NOT_FOUND for unknown ones. */
  resolveItems: { req: { shareId: string; contentIds: string[] | 'all' }; reply: ShareItemView[] };
}
