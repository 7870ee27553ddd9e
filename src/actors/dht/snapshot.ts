/**
 * Plain, serialisable state of the DHT core (routing table, stored values, our published values) so the worker
 * can keep it in lmdb and recover after a restart. Bytes are hex strings, addresses their CBOR PeerAddr bytes
 * in hex (bigint slot ids survive), times are relative to the snapshot ("expires in", "seen ago") because the
 * core's clock is monotonic per process, not wall time.
 */
import { fromHex, toHex } from '../../protocol/bytes.js';
import { decodeCbor } from '../../protocol/cbor.js';
import { decodePeerAddr, peerAddrBytes } from '../../protocol/peer-addr.js';
import { contactOf } from './node-distance.js';
import type { RoutingTable } from './routing-table.js';
import type { ValueStore } from './value-store.js';
import type { Millis } from './types.js';

export const SNAPSHOT_VERSION = 1;

export interface DhtSnapshot {
  version: 1;
  contacts: { addr: string; seenAgoMs: number }[];
  values: { key: string; value: string; expiresInMs: number; lookups: number; writer: string | null }[];
  published: { key: string; value: string; ttlSecs: number }[];
}

export function takeSnapshot(
  table: RoutingTable,
  store: ValueStore,
  published: Iterable<{ key: Uint8Array; value: Uint8Array; ttlSecs: number }>,
  now: Millis,
): DhtSnapshot {
  return {
    version: SNAPSHOT_VERSION,
    contacts: table.entries().map((e) => ({ addr: toHex(peerAddrBytes(e.contact.addr)), seenAgoMs: Math.max(0, now - e.lastSeen) })),
    values: store.live(now).map((v) => ({
      key: toHex(v.key),
      value: toHex(v.value),
      expiresInMs: v.expiresAt - now,
      lookups: v.lookups,
      writer: v.writer ?? null,
    })),
    published: [...published].map((p) => ({ key: toHex(p.key), value: toHex(p.value), ttlSecs: p.ttlSecs })),
  };
}

/** Loads a snapshot into an empty table and store; returns our published values. Malformed entries are skipped. */
export function restoreSnapshot(
  s: DhtSnapshot,
  table: RoutingTable,
  store: ValueStore,
  now: Millis,
  downtimeMs: number,
): { key: Uint8Array; value: Uint8Array; ttlSecs: number }[] {
  if (s.version !== SNAPSHOT_VERSION) return [];
  // Oldest first, so the least-recently-seen order of each bucket comes back as it was.
  for (const c of [...s.contacts].sort((a, b) => b.seenAgoMs - a.seenAgoMs)) {
    try {
      const contact = contactOf(decodePeerAddr(decodeCbor(fromHex(c.addr), 'snapshot'), 'snapshot'));
      if (contact) table.observe(contact, now - c.seenAgoMs - downtimeMs);
    } catch {
      /* a corrupt entry costs only itself */
    }
  }
  for (const v of s.values) {
    const left = v.expiresInMs - downtimeMs;
    if (left <= 0) continue;
    try {
      store.restore({
        key: fromHex(v.key, 32),
        value: fromHex(v.value),
        expiresAt: now + left,
        lookups: v.lookups,
        writer: v.writer ?? undefined,
        storedAt: now,
      });
    } catch {
      /* skip */
    }
  }
  const out: { key: Uint8Array; value: Uint8Array; ttlSecs: number }[] = [];
  for (const p of s.published) {
    try {
      out.push({ key: fromHex(p.key, 32), value: fromHex(p.value), ttlSecs: p.ttlSecs });
    } catch {
      /* skip */
    }
  }
  return out;
}
