/**
 * Types shared by the DHT core and its concern modules. The core speaks decoded DHT messages (PROTOCOL.md §3.3);
 * the worker encodes and decodes them through protocol/dht-messages.ts, so nothing here touches bytes on the wire.
 */
import type { PeerAddr } from '../../protocol/peer-addr.js';
import type { FindNode, FindNodeResult, FindValue, FindValueResult, Store } from '../../protocol/dht-messages.js';

/** 20-byte NodeId: first 20 bytes of SHA-256(node pubkey). */
export type NodeId = Uint8Array;

/** A peer we can route to: its NodeId is known because its PeerAddr carries a pubkey hint. */
export interface Contact {
  id: NodeId;
  addr: PeerAddr;
  /** Stable identity string: "pubkey:<hex>" (what the reference uses for rate limiting and de-duplication). */
  key: string;
}

export type { FindNode, FindNodeResult, FindValue, FindValueResult, Store } from '../../protocol/dht-messages.js';

/** An inbound or outbound DHT request: the decoded payload of a FIND_NODE (200), FIND_VALUE (201) or STORE (202). */
export type DhtRequest =
  | { type: 'find-node'; msg: FindNode }
  | { type: 'find-value'; msg: FindValue }
  | { type: 'store'; msg: Store };

/** A successful answer (same type number with the RESPONSE flag; STORE answers with an empty payload). */
export type DhtResponse =
  | { type: 'find-node'; msg: FindNodeResult }
  | { type: 'find-value'; msg: FindValueResult }
  | { type: 'store' };

/** An error answer: flags=3 envelope with the reference's UTF-8 text (PROTOCOL.md §2.3). */
export interface DhtErrorReply {
  type: 'error';
  /** Stable local code for metrics and tests. */
  code: 'RATE_LIMITED' | 'QUOTA' | 'INVALID_VALUE' | 'TOO_LARGE' | 'STORE_FULL' | 'ROLLBACK';
  wireText: string;
}

export type DhtReply = DhtResponse | DhtErrorReply;

export type Millis = number;
