/**
 * Our own published shares, as the index persists them (`index/own-shares`, share id → OwnShareRecord):
 * enough to answer listOwnShares and LIST_PUBLIC_SHARES, to re-announce the head and manifest after a
 * restart (the DHT is not persisted, PROTOCOL.md §12), and to know which files we seed. Pure helpers only.
 */
import type { OwnShare, Visibility } from '../../messages/index-mailbox.js';
import { fromHex } from '../../protocol/bytes.js';
import type { PublicShareSummary } from '../../protocol/share-messages.js';

export interface SeededFile {
  contentId: string;
  absPath: string;
  /** Decimal u64. */
  size: string;
}

export interface OwnShareRecord {
  shareId: string;
  sharePubkey: string;
  publisher: string;
  /** Decimal u64. */
  seq: string;
  manifestId: string;
  title: string | null;
  description: string | null;
  visibility: Visibility;
  items: number;
  /** Unix seconds (decimal): the head's updated_at. */
  updatedAt: string;
  /** The signed ShareHead, encoded (re-announced at start). */
  head: Uint8Array;
  /** Files of the latest manifest we serve (for unpublish: stop seeding what no other share of ours holds). */
  files: SeededFile[];
  /** False after unpublish: kept so the next publish under the same publisher still counts seq up. */
  active: boolean;
}

export function ownShareView(r: OwnShareRecord): OwnShare {
  return {
    shareId: r.shareId,
    sharePubkey: r.sharePubkey,
    publisher: r.publisher,
    seq: BigInt(r.seq),
    manifestId: r.manifestId,
    title: r.title,
    visibility: r.visibility,
    items: r.items,
    updatedAt: BigInt(r.updatedAt),
  };
}

/**
 * PROTOCOL.md §10.1: our active public shares, updated_at desc, then seq desc, then share id asc,
 * truncated to max_entries (at least one entry even when 0 is asked).
 */
export function publicShareList(records: readonly OwnShareRecord[], maxEntries: number): PublicShareSummary[] {
  const pub = records.filter((r) => r.active && r.visibility === 'public');
  pub.sort((a, b) => {
    const ua = BigInt(a.updatedAt);
    const ub = BigInt(b.updatedAt);
    if (ua !== ub) return ua > ub ? -1 : 1;
    const sa = BigInt(a.seq);
    const sb = BigInt(b.seq);
    if (sa !== sb) return sa > sb ? -1 : 1;
    return a.shareId < b.shareId ? -1 : a.shareId > b.shareId ? 1 : 0;
  });
  return pub.slice(0, Math.max(1, maxEntries)).map((r) => ({
    shareId: fromHex(r.shareId, 32),
    sharePubkey: fromHex(r.sharePubkey, 32),
    latestSeq: BigInt(r.seq),
    latestManifestId: fromHex(r.manifestId, 32),
    title: r.title,
    description: r.description,
  }));
}

/** Content ids of `files` that no other active share of ours (besides `exceptShareId`) still serves. */
export function contentToStopSeeding(records: readonly OwnShareRecord[], exceptShareId: string, files: readonly SeededFile[]): string[] {
  const stillServed = new Set<string>();
  for (const r of records) if (r.active && r.shareId !== exceptShareId) for (const f of r.files) stillServed.add(f.contentId);
  return [...new Set(files.map((f) => f.contentId))].filter((c) => !stillServed.has(c));
}
