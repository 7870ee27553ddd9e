/**
 * Blocklist shares (PROTOCOL.md §6.9, §11): a share that publishes an item named exactly "blocklist" whose
 * bytes are BlocklistRules. Ours: every subscribed share carrying such an item is an enabled blocklist (the
 * reference keeps a separate enabled set; there is no API for it yet, so subscribing is the opt-in). Rules
 * are kept in `index/blocklists` (share id → hex id lists) and applied by search to subscribed shares only.
 */
import type { Database } from 'lmdb';
import { toHex } from '../../protocol/bytes.js';
import { BLOCKLIST_ITEM_NAME, decodeBlocklistRules } from '../../protocol/blocklist.js';
import type { ManifestV1 } from '../../protocol/manifest.js';
import type { Blocklist } from './search/search-index.js';

/** Rules larger than this are not fetched (a blocklist of 1 MiB already lists ~16,000 ids). */
export const MAX_BLOCKLIST_BYTES = 1n << 20n;

export interface StoredRules {
  contentId: string;
  shareIds: string[];
  contentIds: string[];
}

export class BlocklistBook {
  constructor(private readonly db: Database<StoredRules, string>) {}

  /** After a manifest of a subscribed share was accepted: fetch its rules when it carries a new blocklist item. */
  noteManifest(shareId: string, m: ManifestV1, fetch: (contentId: string, size: bigint) => Promise<Uint8Array>): void {
    const item = m.items.find((i) => i.name === BLOCKLIST_ITEM_NAME);
    if (!item) {
      this.forget(shareId);
      return;
    }
    const contentId = toHex(item.contentId);
    if (this.db.get(shareId)?.contentId === contentId || item.size > MAX_BLOCKLIST_BYTES) return;
    void fetch(contentId, item.size)
      .then((bytes) => this.setRules(shareId, contentId, bytes))
      .catch(() => undefined); // tried again at the next accepted manifest
  }

  setRules(shareId: string, contentId: string, bytes: Uint8Array): void {
    const r = decodeBlocklistRules(bytes);
    this.db.putSync(shareId, { contentId, shareIds: r.blockedShareIds.map(toHex), contentIds: r.blockedContentIds.map(toHex) });
  }

  forget(shareId: string): void {
    if (this.db.doesExist(shareId)) this.db.removeSync(shareId);
  }

  /** The union of the rules of the given (subscribed) shares. */
  blocked(subscribed: readonly string[]): Blocklist {
    const shareIds = new Set<string>();
    const contentIds = new Set<string>();
    for (const s of subscribed) {
      const r = this.db.get(s);
      if (!r) continue;
      for (const x of r.shareIds) shareIds.add(x);
      for (const x of r.contentIds) contentIds.add(x);
    }
    return { shareIds, contentIds };
  }
}
