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

export interface IndexMailbox extends CommonMailbox, WireMailboxEntry {
  subscribe: { req: { shareId: string; sharePubkey?: string | null; trust?: Trust }; reply: Subscription };
  unsubscribe: { req: { shareId: string }; reply: { removed: boolean } };
  listSubscriptions: { req: object; reply: Subscription[] };
  publish: { req: PublishRequest; reply: PublishResult };
  listOwnShares: { req: object; reply: OwnShare[] };
  unpublish: { req: { shareId: string }; reply: { removed: boolean } };
  syncSubscriptions: { req: { shareIds?: string[] }; reply: SyncReport };
  listShareItems: { req: { shareId: string }; reply: ShareItemView[] };
  search: { req: SearchQuery; reply: SearchResult };
  /** Items to download from a share's latest manifest ('all' or the listed content ids); NOT_FOUND for unknown ones. */
  resolveItems: { req: { shareId: string; contentIds: string[] | 'all' }; reply: ShareItemView[] };
}
