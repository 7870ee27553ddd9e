/**
 * What the index derives from an item: the stored record of a manifest's items (deduplicated by content id),
 * the normalised fields scoring reads, and the index keys (tokens) an item is filed under.
 */
import { toHex } from '../../../protocol/bytes.js';
import type { ItemV1, ManifestV1 } from '../../../protocol/manifest.js';
import type { StoredItem, StoredShare } from './index-store.js';
import { indexKey, normaliseText, tokenizeNormalised, whitespaceWords } from './normalize.js';
import type { ScoredFields } from './scoring.js';

export function manifestToStored(m: ManifestV1, manifestIdHex: string | null = null): { share: StoredShare; items: StoredItem[] } {
  const shareId = toHex(m.shareId);
  const seen = new Set<string>();
  const items: StoredItem[] = [];
  for (const it of m.items) {
    const s = storedItem(shareId, it);
    if (seen.has(s.contentId)) continue;
    seen.add(s.contentId);
    items.push(s);
  }
  return {
    share: {
      shareId,
      title: m.title,
      description: m.description,
      seq: m.seq.toString(),
      manifestId: manifestIdHex,
      contentIds: items.map((i) => i.contentId),
    },
    items,
  };
}

function storedItem(shareId: string, it: ItemV1): StoredItem {
  return {
    shareId,
    contentId: toHex(it.contentId),
    name: it.name,
    path: it.path,
    mime: it.mime,
    size: it.size.toString(),
    tags: [...it.tags],
    chunkCount: it.chunkCount,
    chunkListHash: toHex(it.chunkListHash),
  };
}

export function sameItem(a: StoredItem, b: StoredItem): boolean {
  return (
    a.name === b.name &&
    a.path === b.path &&
    a.mime === b.mime &&
    a.size === b.size &&
    a.chunkCount === b.chunkCount &&
    a.chunkListHash === b.chunkListHash &&
    a.tags.length === b.tags.length &&
    a.tags.every((t, i) => t === b.tags[i])
  );
}

function folderOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '' : path.slice(0, cut);
}

/** An item's normalised scoring fields. */
export function scoredFields(item: Pick<StoredItem, 'name' | 'path' | 'tags'>): ScoredFields & { pathNorm: string } {
  const nameNorm = normaliseText(item.name);
  const pathNorm = item.path === null ? '' : normaliseText(item.path);
  return { nameNorm, nameWords: whitespaceWords(nameNorm), tagsNorm: item.tags.map(normaliseText), folderNorm: folderOf(pathNorm), pathNorm };
}

/** An item's normalised scoring fields and its index keys (name, path, tags; sorted, unique). */
export function analyseItem(item: Pick<StoredItem, 'name' | 'path' | 'tags'>): { fields: ScoredFields; tokens: string[] } {
  const { pathNorm, ...fields } = scoredFields(item);
  const set = new Set<string>();
  const add = (norm: string): void => {
    for (const t of tokenizeNormalised(norm)) set.add(indexKey(t));
  };
  add(fields.nameNorm);
  if (pathNorm !== fields.nameNorm) add(pathNorm);
  for (const t of fields.tagsNorm) add(t);
  return { fields, tokens: [...set].sort() };
}

export function itemTokens(item: Pick<StoredItem, 'name' | 'path' | 'tags'>): string[] {
  return analyseItem(item).tokens;
}

export function shareTokensOf(title: string | null, description: string | null): string[] {
  const set = new Set<string>();
  for (const s of [title, description]) if (s !== null) for (const t of tokenizeNormalised(normaliseText(s))) set.add(indexKey(t));
  return [...set].sort();
}

