/**
 * Subscriptions as persisted (`index/subscriptions`, share id → StoredSubscription): the pure core's
 * SubscriptionRecord plus what the worker needs beside it (title of the latest manifest, bootstrap hints of
 * a share link). Records written by the earlier shell (no seq, no weight) load with defaults.
 */
import type { Subscription, Trust } from '../../messages/index-mailbox.js';
import type { SubscriptionRecord } from './subscriptions.js';

export interface StoredSubscription extends SubscriptionRecord {
  title?: string | null;
  /** Peer addresses from a share link ("tcp://ip:port[@pubkey]"), tried first for GET_MANIFEST. */
  hints?: string[];
}

export function loadSubscription(v: Partial<StoredSubscription> & { shareId: string }): StoredSubscription {
  return {
    shareId: v.shareId,
    sharePubkey: v.sharePubkey ?? null,
    trust: (v.trust ?? 'normal') as Trust,
    weight: typeof v.weight === 'number' ? v.weight : 1,
    latestSeq: v.latestSeq === undefined || v.latestSeq === null ? 0n : BigInt(v.latestSeq),
    latestManifestId: v.latestManifestId ?? null,
    subscribedAt: BigInt(v.subscribedAt ?? 0),
    title: v.title ?? null,
    hints: v.hints ?? [],
  };
}

export function subscriptionView(r: StoredSubscription): Subscription {
  return {
    shareId: r.shareId,
    sharePubkey: r.sharePubkey,
    trust: r.trust,
    subscribedAt: r.subscribedAt,
    latestSeq: r.latestSeq,
    latestManifestId: r.latestManifestId,
    title: r.title ?? null,
  };
}
