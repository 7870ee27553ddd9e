/**
 * DHT messages (PROTOCOL.md §3.3): FIND_NODE, FIND_VALUE and STORE plus their answers. These are among the
 * nine hand-written "integer-keyed" messages: maps keyed 0, 1, 2 in ascending order whose byte fields are real
 * CBOR byte strings of exact length (the reference rejects an int array there), while nested PeerAddrs are
 * ordinary string-keyed maps. The answers reuse the request's type number with the RESPONSE flag.
 */
import type { CborWriter, CborValue } from './cbor.js';
import { asMap, byteString, isAbsent, list, req, u64 } from './cbor-fields.js';
import { decodePeerAddr, encodePeerAddr, type PeerAddr } from './peer-addr.js';
import { bytesIn, defineMessageCodec, listIn, u64In, type U64Input } from './message-codec.js';
import { ScpError } from '../errors.js';
import { MAX_DHT_PEERS, MAX_ENVELOPE_PAYLOAD_BYTES, MAX_WIRE_TTL_SECS } from './limits.js';

const NODE_ID_LEN = 20;
const KEY_LEN = 32;

export interface FindNode {
  /** 20-byte node id to look up. */
  targetNodeId: Uint8Array;
}

export interface FindNodeResult {
  peers: PeerAddr[];
}

export interface FindValue {
  /** 32-byte DHT key. */
  key: Uint8Array;
}

/** STORE request, and the value carried inside a FIND_VALUE hit. */
export interface Store {
  key: Uint8Array;
  value: Uint8Array;
  ttlSecs: bigint;
}

export interface FindValueResult {
  /** The stored value on a hit, null otherwise (written as CBOR null, key present). */
  value: Store | null;
  closerPeers: PeerAddr[];
}

// ---------- shared pieces

export function writePeerList(w: CborWriter, peers: readonly U64Input<PeerAddr>[], what: string, max: number): void {
  listIn(peers, what, max);
  w.array(peers.length);
  for (const p of peers) encodePeerAddr(w, p as PeerAddr);
}

export function readPeerList(v: CborValue | undefined, where: string, max: number): PeerAddr[] {
  return list(v, where, max, (x, at) => decodePeerAddr(x, at));
}

function writeStore(w: CborWriter, s: U64Input<Store>): void {
  const ttl = u64In(s.ttlSecs, 'Store.ttlSecs');
  // The reference casts the ttl to i64 before writing; above 2^63−1 it would go negative on the wire.
  if (ttl > MAX_WIRE_TTL_SECS) throw ScpError.badInput('Store.ttlSecs must be below 2^63');
  w.map(3)
    .uint(0).bytes(bytesIn(s.key, 'Store.key', KEY_LEN))
    .uint(1).bytes(bytesIn(s.value, 'Store.value', undefined, MAX_ENVELOPE_PAYLOAD_BYTES))
    .uint(2).uint(ttl);
}

function readStore(v: CborValue, where: string): Store {
  const m = asMap(v, where);
  return {
    key: byteString(req(m, 0, where), `${where}.0`, KEY_LEN, KEY_LEN),
    value: byteString(req(m, 1, where), `${where}.1`, MAX_ENVELOPE_PAYLOAD_BYTES),
    ttlSecs: u64(req(m, 2, where), `${where}.2`),
  };
}

// ---------- codecs

export const findNodeCodec = defineMessageCodec<FindNode>(
  'FindNode',
  (w, v) => {
    w.map(1).uint(0).bytes(bytesIn(v.targetNodeId, 'FindNode.targetNodeId', NODE_ID_LEN));
  },
  (v, where) => {
    const m = asMap(v, where);
    return { targetNodeId: byteString(req(m, 0, where), `${where}.0`, NODE_ID_LEN, NODE_ID_LEN) };
  },
  32,
);

export const findNodeResultCodec = defineMessageCodec<FindNodeResult>(
  'FindNodeResult',
  (w, v) => {
    w.map(1).uint(0);
    writePeerList(w, v.peers, 'FindNodeResult.peers', MAX_DHT_PEERS);
  },
  (v, where) => {
    const m = asMap(v, where);
    return { peers: readPeerList(req(m, 0, where), `${where}.0`, MAX_DHT_PEERS) };
  },
  1024,
);

export const findValueCodec = defineMessageCodec<FindValue>(
  'FindValue',
  (w, v) => {
    w.map(1).uint(0).bytes(bytesIn(v.key, 'FindValue.key', KEY_LEN));
  },
  (v, where) => {
    const m = asMap(v, where);
    return { key: byteString(req(m, 0, where), `${where}.0`, KEY_LEN, KEY_LEN) };
  },
  48,
);

export const storeCodec = defineMessageCodec<Store>('Store', writeStore, readStore, 256);

export const findValueResultCodec = defineMessageCodec<FindValueResult>(
  'FindValueResult',
  (w, v) => {
    w.map(2).uint(0);
    if (v.value === null || v.value === undefined) w.null();
    else writeStore(w, v.value);
    w.uint(1);
    writePeerList(w, v.closerPeers, 'FindValueResult.closerPeers', MAX_DHT_PEERS);
  },
  (v, where) => {
    const m = asMap(v, where);
    const value = m.get(0);
    return {
      // Key 0 is written as null on a miss; a missing key or CBOR undefined mean the same to the reference.
      value: isAbsent(value) ? null : readStore(value!, `${where}.0`),
      closerPeers: readPeerList(req(m, 1, where), `${where}.1`, MAX_DHT_PEERS),
    };
  },
  1024,
);
