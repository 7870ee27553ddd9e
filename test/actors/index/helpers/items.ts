import type { StoredItem, StoredShare } from '../../../../src/actors/index/search/index-store.js';

export const hex32 = (n: number): string => n.toString(16).padStart(64, '0');

export function item(shareId: string, n: number, name: string, extra: Partial<StoredItem> = {}): StoredItem {
  return {
    shareId,
    contentId: hex32(n),
    name,
    path: null,
    mime: null,
    size: String(n),
    tags: [],
    chunkCount: 1,
    chunkListHash: hex32(0),
    ...extra,
  };
}

export function share(shareId: string, items: StoredItem[], extra: Partial<StoredShare> = {}): StoredShare {
  return {
    shareId,
    title: null,
    description: null,
    seq: '1',
    manifestId: null,
    contentIds: items.map((i) => i.contentId),
    ...extra,
  };
}
