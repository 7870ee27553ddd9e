/**
 * STORE (202): a remote write. Order: size (the reference's "dht value exceeds 64KiB"), keyspace validation
 * (§5.5, plus share-head signature when the key is known), no share-head seq rollback, then the value store's
 * quota and capacity. TTL is raised to the 24 h floor (§5.4). Success answers with an empty payload.
 */
import { checkReplacement, type Validation } from '../keyspace-validation.js';
import { MAX_VALUE_BYTES, type ValueStore } from '../value-store.js';
import type { DhtErrorReply, Millis, Store } from '../types.js';

export interface StoreView {
  store: ValueStore;
  validate: (key: Uint8Array, value: Uint8Array) => Validation;
}

const MAX_TTL_NUMBER = BigInt(Number.MAX_SAFE_INTEGER);

export function handleStore(view: StoreView, req: Store, now: Millis, writer: string): { type: 'store' } | DhtErrorReply {
  if (req.value.length > MAX_VALUE_BYTES) return { type: 'error', code: 'TOO_LARGE', wireText: 'dht value exceeds 64KiB' };
  const incoming = view.validate(req.key, req.value);
  if (!incoming.ok) return { type: 'error', code: 'INVALID_VALUE', wireText: incoming.reason };
  const existing = view.store.peek(req.key, now);
  if (existing) {
    const old = view.validate(existing.key, existing.value);
    const why = old.ok ? checkReplacement(old.value, incoming.value) : null;
    if (why) return { type: 'error', code: 'ROLLBACK', wireText: why };
  }
  const ttl = Number(req.ttlSecs > MAX_TTL_NUMBER ? MAX_TTL_NUMBER : req.ttlSecs);
  const r = view.store.put(req.key, req.value, ttl, now, { remote: true, writer });
  return r.ok ? { type: 'store' } : r.error;
}
