/**
 * Subscriptions and the sync decision (PROTOCOL.md §6.6, §6.10), pure: no I/O, time as an argument.
 *
 * The worker runs sync as: for each subscription (isolated from the others), look up the ShareHead →
 * `decideHead` → when it says fetch, get the manifest (cache, DHT, GET_MANIFEST) → `decideManifest` →
 * on accept, store + index the manifest and keep the returned record. A refused head or manifest changes
 * nothing: the record (and so the cached good manifest it points at) stays as it was.
 *
 * Stricter than the reference, on purpose:
 * - the manifest's seq must equal the head's seq and exceed the recorded one, so a forged head (possible when
 *   the share pubkey is unknown) cannot pin an old genuine manifest under a huge seq and freeze the share;
 * - once a manifest verifies, its share pubkey is pinned on the record, so later heads are verified too;
 * - one bad head or manifest fails only its own subscription (the reference aborts the whole pass, §18).
 */
import { ScpError } from '../../errors.js';
import type { Subscription, Trust } from '../../messages/index-mailbox.js';
import { bytesEqual, fromHex, toHex } from '../../protocol/bytes.js';
import { shareIdFromPubkey } from '../../protocol/ids.js';
import { checkManifest, checkManifestLimits, manifestId, type ManifestV1, type ManifestVerifyReason } from '../../protocol/manifest.js';
import { checkShareHead, type ShareHead, type ShareHeadVerifyReason } from '../../protocol/share-head.js';

export const MAX_SUBSCRIPTIONS = 200;
/** Share-head lookups run at most this many at a time (the reference's batch size). */
export const SYNC_CONCURRENCY = 20;
export const TRUST_LEVELS: readonly Trust[] = ['trusted', 'normal', 'untrusted'];

export interface SubscriptionRecord {
  shareId: string;
  /** Known share pubkey (hex): given at subscribe time (share link) or learnt from the first verified manifest. */
  sharePubkey: string | null;
  trust: Trust;
  /** Search weight of the share (default 1, ≥ 0). */
  weight: number;
  /** 0n until a manifest was accepted. */
  latestSeq: bigint;
  latestManifestId: string | null;
  /** Unix milliseconds. */
  subscribedAt: bigint;
}

export interface SubscribeRequest {
  shareId: string;
  sharePubkey?: string | null;
  trust?: Trust;
  weight?: number;
}

function hexId(v: unknown, what: string): string {
  if (typeof v !== 'string') throw ScpError.badInput(`${what} must be a 64-digit hex string`);
  return toHex(fromHex(v.trim(), 32, what));
}

function checkTrust(t: unknown): Trust {
  if (typeof t === 'string' && (TRUST_LEVELS as readonly string[]).includes(t)) return t as Trust;
  throw ScpError.badInput(`trust must be one of ${TRUST_LEVELS.join(', ')}`);
}

function checkWeight(w: unknown): number {
  if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) throw ScpError.badInput('share weight must be a finite number ≥ 0');
  return w;
}

/**
 * Adds a subscription or updates an existing one (trust, weight, pubkey). Throws BAD_INPUT for a malformed
 * id, a pubkey that does not derive the share id, or one that contradicts the known pubkey; LIMIT past 200.
 */
export function subscribe(
  records: readonly SubscriptionRecord[],
  req: SubscribeRequest,
  nowMs: number | bigint,
): { records: SubscriptionRecord[]; record: SubscriptionRecord; created: boolean } {
  const shareId = hexId(req.shareId, 'share id');
  let pubkey: string | null = null;
  if (req.sharePubkey !== undefined && req.sharePubkey !== null) {
    pubkey = hexId(req.sharePubkey, 'share pubkey');
    if (toHex(shareIdFromPubkey(fromHex(pubkey))) !== shareId) {
      throw ScpError.badInput('the share pubkey does not belong to this share id (SHA-256(pubkey) ≠ share id); check the share link');
    }
  }
  const existing = records.find((r) => r.shareId === shareId);
  if (existing) {
    if (pubkey !== null && existing.sharePubkey !== null && existing.sharePubkey !== pubkey) {
      throw ScpError.badInput('this share is already subscribed with a different pubkey; unsubscribe first');
    }
    const record: SubscriptionRecord = {
      ...existing,
      sharePubkey: existing.sharePubkey ?? pubkey,
      trust: req.trust === undefined ? existing.trust : checkTrust(req.trust),
      weight: req.weight === undefined ? existing.weight : checkWeight(req.weight),
    };
    return { records: records.map((r) => (r.shareId === shareId ? record : r)), record, created: false };
  }
  if (records.length >= MAX_SUBSCRIPTIONS) {
    throw ScpError.limit(`a node follows at most ${MAX_SUBSCRIPTIONS} shares; unsubscribe from one first`, { max: MAX_SUBSCRIPTIONS });
  }
  const record: SubscriptionRecord = {
    shareId,
    sharePubkey: pubkey,
    trust: req.trust === undefined ? 'normal' : checkTrust(req.trust),
    weight: req.weight === undefined ? 1 : checkWeight(req.weight),
    latestSeq: 0n,
    latestManifestId: null,
    subscribedAt: BigInt(nowMs),
  };
  return { records: [...records, record], record, created: true };
}

/** Lowercase hex of a 32-byte share id; BAD_INPUT otherwise. (Used by the worker shell.) */
export function normalizeShareId(v: unknown, field = 'shareId'): string {
  return hexId(v, field);
}

/**
 * The worker shell's one-record form of `subscribe` (mailbox `Subscription`): a new record, or `existing`
 * with trust and pubkey updated. Same validation as `subscribe`, without the list-level limit.
 */
export function newSubscription(
  req: { shareId: string; sharePubkey?: string | null; trust?: Trust },
  nowMs: number | bigint,
  existing?: Subscription,
): Subscription {
  const prior: SubscriptionRecord[] = existing
    ? [{ ...existing, weight: 1, latestSeq: 0n, latestManifestId: null }]
    : [];
  const { record } = subscribe(prior, req, nowMs);
  return { shareId: record.shareId, sharePubkey: record.sharePubkey, trust: record.trust, subscribedAt: record.subscribedAt };
}

export function unsubscribe(records: readonly SubscriptionRecord[], shareId: string): { records: SubscriptionRecord[]; removed: boolean } {
  const id = hexId(shareId, 'share id');
  const out = records.filter((r) => r.shareId !== id);
  return { records: out, removed: out.length !== records.length };
}

// ---------------------------------------------------------------------------------------------------------
// Sync decisions

export type HeadRefusal = ShareHeadVerifyReason | 'wrong_share';

export type HeadDecision =
  | { action: 'skip'; reason: 'no_head' | 'not_newer' }
  | { action: 'refuse'; reason: HeadRefusal }
  | { action: 'fetch'; manifestId: string; seq: bigint };

/** Step 1 of §6.10 for one subscription: is the head found for it worth fetching? */
export function decideHead(record: SubscriptionRecord, head: ShareHead | null | undefined): HeadDecision {
  if (!head) return { action: 'skip', reason: 'no_head' };
  if (toHex(head.shareId) !== record.shareId) return { action: 'refuse', reason: 'wrong_share' };
  if (record.sharePubkey !== null) {
    const why = checkShareHead(head, fromHex(record.sharePubkey));
    if (why !== null) return { action: 'refuse', reason: why };
  }
  if (head.latestSeq <= record.latestSeq) return { action: 'skip', reason: 'not_newer' };
  return { action: 'fetch', manifestId: toHex(head.latestManifestId), seq: head.latestSeq };
}

export type ManifestRefusal =
  | ManifestVerifyReason
  | 'manifest_id_mismatch'
  | 'wrong_share'
  | 'pubkey_mismatch'
  | 'seq_mismatch'
  | 'rolled_back'
  | 'too_many_items'
  | 'too_many_chunks'
  | 'malformed';

export type ManifestDecision =
  | { action: 'accept'; record: SubscriptionRecord; manifestId: string }
  | { action: 'refuse'; reason: ManifestRefusal };

export interface ManifestCheckInput {
  record: SubscriptionRecord;
  /** The fetch decision that asked for this manifest. */
  expected: { manifestId: string; seq: bigint };
  manifest: ManifestV1;
  nowUnix: number | bigint;
  /** The reference applies the item/chunk limits to GET_MANIFEST answers and publishes, not to DHT values. */
  source: 'cache' | 'dht' | 'peer';
}

/** Steps 2–3 of §6.10: verify a fetched manifest against the subscription and the head that pointed at it. */
export function decideManifest(input: ManifestCheckInput): ManifestDecision {
  const { record, expected, manifest: m } = input;
  try {
    const id = toHex(manifestId(m));
    if (id !== expected.manifestId) return refuse('manifest_id_mismatch');
    if (input.source === 'peer') {
      try {
        checkManifestLimits(m);
      } catch (e) {
        const reason = e instanceof ScpError ? e.details?.['reason'] : undefined;
        return refuse(reason === 'too_many_chunks' ? 'too_many_chunks' : 'too_many_items');
      }
    }
    const why = checkManifest(m, input.nowUnix);
    if (why !== null) return refuse(why);
    if (toHex(m.shareId) !== record.shareId) return refuse('wrong_share');
    if (record.sharePubkey !== null && !bytesEqual(fromHex(record.sharePubkey), m.sharePubkey)) return refuse('pubkey_mismatch');
    if (m.seq !== expected.seq) return refuse('seq_mismatch');
    if (m.seq <= record.latestSeq) return refuse('rolled_back');
    return {
      action: 'accept',
      manifestId: id,
      record: { ...record, sharePubkey: record.sharePubkey ?? toHex(m.sharePubkey), latestSeq: m.seq, latestManifestId: id },
    };
  } catch {
    return refuse('malformed'); // fields that cannot even be encoded: never let one manifest break the pass
  }
}

function refuse(reason: ManifestRefusal): ManifestDecision {
  return { action: 'refuse', reason };
}

/** Applies an accepted decision to the list (other records untouched). */
export function applyAccepted(records: readonly SubscriptionRecord[], accepted: SubscriptionRecord): SubscriptionRecord[] {
  return records.map((r) => (r.shareId === accepted.shareId ? accepted : r));
}

/** The scope `SearchIndex.search` takes, from the subscriptions. */
export function searchScope(records: readonly SubscriptionRecord[]): Map<string, { trust: Trust; weight: number }> {
  return new Map(records.map((r) => [r.shareId, { trust: r.trust, weight: r.weight }]));
}

/** Splits the subscriptions into batches of SYNC_CONCURRENCY for the lookup pass. */
export function syncBatches<T>(records: readonly T[], size = SYNC_CONCURRENCY): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < records.length; i += size) out.push(records.slice(i, i + size));
  return out;
}
