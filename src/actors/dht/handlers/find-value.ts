/**
 * FIND_VALUE (201): the stored value when present and still valid for its keyspace, else null; closer peers are
 * always included (as the reference does). ttl_secs = max(1, expires_at − now) (PROTOCOL.md §5.7).
 * A hit counts as a lookup (popular values get wider replication).
 */
import { targetOfKey } from '../node-distance.js';
import type { RoutingTable } from '../routing-table.js';
import { remainingTtlSecs, type ValueStore } from '../value-store.js';
import type { FindValue, FindValueResult, Millis } from '../types.js';

export interface FindValueView {
  table: RoutingTable;
  store: ValueStore;
  /** Keyspace check before serving (§5.5); an invalid value is answered as "no value". */
  isValid: (key: Uint8Array, value: Uint8Array) => boolean;
}

export function handleFindValue(view: FindValueView, req: FindValue, now: Millis, requesterKey?: string): FindValueResult {
  const exclude = requesterKey === undefined ? undefined : (k: string): boolean => k === requesterKey;
  const closerPeers = view.table.closest(targetOfKey(req.key), view.table.k, exclude).map((c) => c.addr);
  const v = view.store.get(req.key, now);
  if (!v || !view.isValid(v.key, v.value)) return { value: null, closerPeers };
  return { value: { key: v.key, value: v.value, ttlSecs: BigInt(remainingTtlSecs(v, now)) }, closerPeers };
}
