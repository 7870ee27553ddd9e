import type { Capabilities, PeerAddr } from '../protocol/peer-addr.js';
import type { ShareHead } from '../protocol/share-head.js';
import type { CommonMailbox } from './mailbox.js';
import type { WireMailboxEntry } from './wire.js';

export interface DhtStats {
  routingTableSize: number;
  storedValues: number;
  lookups: number;
}

/** The DHT actor: Kademlia over the session actor (PROTOCOL.md §5). Keys and ids are raw bytes here. */
export interface DhtMailbox extends CommonMailbox, WireMailboxEntry {
  /** The session reports every authenticated peer with a dialable address (fills the routing table). */
  contact: { req: { peer: PeerAddr; capabilities: Capabilities | null }; reply: void };
  /** Stores locally and, with `replicate`, on the K closest nodes. `stored` = how many remote nodes accepted. */
  put: { req: { key: Uint8Array; value: Uint8Array; ttlSecs?: number; replicate?: boolean }; reply: { stored: number } };
  /** Local value or an iterative FIND_VALUE; only values that pass keyspace validation (§5.5) are returned. */
  get: { req: { key: Uint8Array }; reply: { value: Uint8Array | null } };
  /** The best ShareHead found (highest seq, then newest), verified against `sharePubkey` when given. */
  getShareHead: { req: { shareId: Uint8Array; sharePubkey?: Uint8Array | null }; reply: { head: ShareHead | null } };
  /** Provider addresses for a content id (content:prov:), merged from the network. */
  findProviders: { req: { contentId: Uint8Array }; reply: { providers: PeerAddr[] } };
  /** Adds our addresses to the content's provider record and replicates it. */
  addProvider: { req: { contentId: Uint8Array; addrs: PeerAddr[] }; reply: void };
  /** Removes our addresses from the local provider record (stop seeding). */
  removeProvider: { req: { contentId: Uint8Array; addrs: PeerAddr[] }; reply: void };
  /** Iterative FIND_NODE toward a 20-byte target. */
  findNodes: { req: { target: Uint8Array }; reply: { peers: PeerAddr[] } };
  stats: { req: object; reply: DhtStats };
}
