/**
 * From described items and the previous head to the next unsigned ManifestV1 (PROTOCOL.md §6.6 publish
 * rules): seq = previous seq + 1 (first = 1), created_at = now, expires_at = null. Pure: `nowUnix` is an
 * argument. Refuses a catalog beyond the reference's limits (3,000 items, 100,000 chunks) with an error that
 * proposes a split by top-level folder.
 */
import { ScpError } from '../../../errors.js';
import type { ContentDescription } from '../../../protocol/content.js';
import { shareIdFromPubkey } from '../../../protocol/ids.js';
import { DHT_MAX_VALUE_BYTES, MAX_MANIFEST_CHUNKS, MAX_MANIFEST_ITEMS, CHUNK_SIZE } from '../../../protocol/limits.js';
import { encodeManifest, type ItemV1, type ManifestV1, type ShareVisibility } from '../../../protocol/manifest.js';
import { mimeForName } from './item-path.js';
import type { ScannedFile } from './folder-scan.js';

export interface BuildManifestInput {
  sharePubkey: Uint8Array;
  /** The latest seq this publisher published for the share (its stored head), or null for the first. */
  previousSeq: bigint | null;
  title: string | null;
  description?: string | null;
  visibility: ShareVisibility;
  communities?: readonly Uint8Array[];
  recommendedShares?: readonly Uint8Array[];
  items: readonly ItemV1[];
  nowUnix: number | bigint;
}

export function buildManifest(input: BuildManifestInput): ManifestV1 {
  checkPublishLimits(input.items);
  if (input.visibility !== 'private' && input.visibility !== 'public') {
    throw ScpError.badInput('visibility must be "private" or "public"');
  }
  if (input.communities && input.communities.length > 0 && input.visibility !== 'public') {
    throw ScpError.badInput('publishing into a community needs visibility "public"');
  }
  return {
    version: 1,
    sharePubkey: input.sharePubkey,
    shareId: shareIdFromPubkey(input.sharePubkey),
    seq: input.previousSeq === null ? 1n : input.previousSeq + 1n,
    createdAt: BigInt(input.nowUnix),
    expiresAt: null,
    title: input.title,
    description: input.description ?? null,
    visibility: input.visibility,
    communities: [...(input.communities ?? [])],
    items: [...input.items],
    recommendedShares: [...(input.recommendedShares ?? [])],
    signature: null,
  };
}

export function itemFromFile(f: Pick<ScannedFile, 'name' | 'path' | 'mime' | 'tags'>, d: ContentDescription): ItemV1 {
  return {
    contentId: d.contentId,
    size: d.size,
    name: f.name,
    path: f.path,
    mime: f.mime,
    tags: [...f.tags],
    chunkCount: d.chunkCount,
    chunkListHash: d.chunkListHash,
  };
}

/** publishText: the text as one item named after the title ("<title>.txt"), mime text/plain. */
export function textItem(title: string, d: ContentDescription): ItemV1 {
  const base = title.trim().replace(/[\\/]/g, '_') || 'text';
  const name = /\.txt$/i.test(base) ? base : `${base}.txt`;
  return {
    contentId: d.contentId,
    size: d.size,
    name,
    path: null,
    mime: mimeForName(name) ?? 'text/plain',
    tags: ['text'],
    chunkCount: d.chunkCount,
    chunkListHash: d.chunkListHash,
  };
}

export interface SplitGroup {
  folders: string[];
  items: number;
  chunks: number;
}

/** Groups top-level folders (first path segment; loose files as "") greedily into shares within the limits. */
export function proposeSplit(items: readonly Pick<ItemV1, 'path' | 'chunkCount'>[]): SplitGroup[] {
  const byTop = new Map<string, { items: number; chunks: number }>();
  for (const it of items) {
    const top = it.path !== null && it.path.includes('/') ? (it.path.split('/')[0] as string) : '';
    const g = byTop.get(top) ?? { items: 0, chunks: 0 };
    g.items++;
    g.chunks += it.chunkCount;
    byTop.set(top, g);
  }
  const groups: SplitGroup[] = [];
  let cur: SplitGroup = { folders: [], items: 0, chunks: 0 };
  for (const [folder, g] of [...byTop.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (cur.folders.length > 0 && (cur.items + g.items > MAX_MANIFEST_ITEMS || cur.chunks + g.chunks > MAX_MANIFEST_CHUNKS)) {
      groups.push(cur);
      cur = { folders: [], items: 0, chunks: 0 };
    }
    cur.folders.push(folder);
    cur.items += g.items;
    cur.chunks += g.chunks;
  }
  if (cur.folders.length > 0) groups.push(cur);
  return groups;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** Throws ScpError LIMIT (details: items, chunks, reason, groups) when the items exceed one share's limits. */
export function checkPublishLimits(items: readonly Pick<ItemV1, 'path' | 'chunkCount'>[]): void {
  let chunks = 0;
  for (const it of items) chunks += it.chunkCount;
  const tooMany = items.length > MAX_MANIFEST_ITEMS;
  if (!tooMany && chunks <= MAX_MANIFEST_CHUNKS) return;
  const groups = proposeSplit(items);
  const what = tooMany
    ? `${fmt(items.length)} files; one share holds at most ${fmt(MAX_MANIFEST_ITEMS)}`
    : `${fmt(chunks)} chunks of 256 KiB (about ${fmt(Math.round((chunks * CHUNK_SIZE) / 2 ** 30))} GiB); one share holds at most ${fmt(MAX_MANIFEST_CHUNKS)} (about 24 GiB)`;
  const oversized = groups.filter((g) => g.items > MAX_MANIFEST_ITEMS || g.chunks > MAX_MANIFEST_CHUNKS);
  const plan = groups
    .slice(0, 6)
    .map((g, i) => `  share ${i + 1}: ${g.folders.map((f) => (f === '' ? '(loose files)' : `${f}/`)).join(', ')} — ${fmt(g.items)} files, ${fmt(g.chunks)} chunks`)
    .join('\n');
  const more = groups.length > 6 ? `\n  … ${groups.length - 6} more` : '';
  const hint =
    oversized.length > 0
      ? `; ${oversized.map((g) => g.folders[0] || '(loose files)').join(', ')} alone ${oversized.length === 1 ? 'is' : 'are'} too big: split ${oversized.length === 1 ? 'it' : 'them'} into sub-folders too`
      : '';
  throw ScpError.limit(
    `this folder has ${what}. Split it into ${groups.length} shares by top-level folder, publishing each with its own publisher label (e.g. --publisher part1)${hint}:\n${plan}${more}`,
    { reason: tooMany ? 'too_many_items' : 'too_many_chunks', items: items.length, chunks, groups },
  );
}

/** Whether the manifest fits one DHT value (64 KiB); larger ones are served by GET_MANIFEST only. */
export function manifestFitsDht(m: ManifestV1): boolean {
  return encodeManifest(m).length <= DHT_MAX_VALUE_BYTES;
}
