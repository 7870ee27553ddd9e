import type { LimitsMailboxEntry } from '../limits.js';
import type { Capabilities, PeerAddr } from '../protocol/peer-addr.js';
import type { CommonMailbox } from './mailbox.js';
import type { PeerRef, WireRequest, WireReply } from './wire.js';

/** A peer as the embedding API shows it (API.md §1). */
export interface PeerRecord {
  nodeId: string;
  pubkey: string;
  /** Dialable addresses, e.g. "tcp://10.0.0.2:7001"; relayed ones read "relay:tcp://relay-ip:port/slot/<id>". */
  addresses: string[];
  /** Transport of the live session (or of the best known address when not connected). */
  transport: 'tcp' | 'quic';
  connected: boolean;
  /** True when the live session runs through a relay tunnel. */
  relayed: boolean;
  /** Unix seconds. */
  lastSeen: bigint;
  capabilities: Record<string, boolean>;
}

export interface ServeStats {
  threads: number;
  connections: number;
  requests: number;
  /** GET_CHUNK answered by the session from disk since it started (the rest went to the fetcher: chunk-server.ts). */
  chunksServedBySession: number;
  /** Slots of the shared receive slab held by chunk answers (runtime/shared-chunk-slab.ts): 0 while no download runs. */
  slabSlotsInUse: number;
}

/** A file the fetcher seeds, as the session needs it to serve its chunks (actors/session/chunk-server.ts). */
export interface ServableFile {
  /** Hex content id. */
  contentId: string;
  /** Absolute path. */
  path: string;
  size: number;
}

/**
 * The fetcher's serve table, copied to the session, which then answers GET_CHUNK itself: whole (when the fetcher
 * starts, or when a restarted session asks) or as changes. `direct: false` while an upload cap is set: the session
 * then passes every GET_CHUNK to the fetcher, where caps are counted.
 */
export type ServeTableUpdate =
  | { kind: 'reset'; files: ServableFile[]; direct: boolean; maxPerPeer: number }
  | { kind: 'change'; set?: ServableFile[]; remove?: string[]; direct?: boolean };

export interface SessionMailbox extends CommonMailbox {
  peers: { req: object; reply: PeerRecord[] };
  /**
   * Chunk buffers a caller of `request` is done with, moved back for reuse (no reply needed; see
   * runtime/chunk-buffer-pool.ts), and shared-slab slots by the byte offset of a view it held (shared-chunk-slab.ts).
   */
  recycleBuffers: { req: { buffers: ArrayBuffer[]; slabOffsets?: number[] }; reply: void };
  /** The fetcher's serve table, whole or changed (see ServeTableUpdate); resolves once applied. */
  serveTable: { req: { update: ServeTableUpdate }; reply: void };
  /** Serve threads (NodeConfig.serveThreads): how many run, their open connections, requests they passed on. */
  serveStats: { req: object; reply: ServeStats };
  /** The URLs peers can dial, e.g. ['tcp://127.0.0.1:7001', 'quic://127.0.0.1:7000']. */
  addresses: { req: object; reply: string[] };
  /** Our own dialable PeerAddrs with our pubkey hint (for provider records, member lists, PEX); relay_via when firewalled. */
  selfAddrs: { req: object; reply: PeerAddr[] };
  /** Dials (or reuses a live session to) "tcp://ip:port[@hex]" / "quic://…" and returns the authenticated peer. */
  connect: { req: { addr: string; timeoutMs?: number }; reply: PeerRecord };
  /**
   * Sends one request to a peer (reusing or opening a session; relay_via addresses go through the relay) and
   * waits for the response payload. Errors: REMOTE (peer's error text), TIMEOUT, UNREACHABLE, PROTOCOL.
   */
  request: {
    req: { to: PeerAddr; messageType: number; payload: Uint8Array; timeoutMs?: number };
    reply: { payload: Uint8Array; from: PeerRef };
  };
  /**
   * Relay side (PROTOCOL.md §9.3): sends one request over the connection `connId` (a firewalled peer's registered
   * tunnel) and returns its answer: the response payload, or the far node's error text. IO / TIMEOUT otherwise.
   */
  tunnelRequest: {
    req: { connId: number; messageType: number; payload: Uint8Array; timeoutMs?: number };
    reply: { payload: Uint8Array } | { error: string };
  };
  /**
   * Firewalled side (PROTOCOL.md §9.3), driven by the relay actor: dials `relay`, sends RELAY_REGISTER
   * {relay_slot_id: null, tunnel: true} and, on RELAY_REGISTERED, keeps that connection as our tunnel: it is
   * pinned open, the relay's requests on it are served as relayed (RELAY_* refused), and selfAddrs advertises
   * the relay_via address. When it closes the relay actor gets `connectionClosed`. Errors: UNREACHABLE, TIMEOUT,
   * REMOTE (the relay's refusal), PROTOCOL.
   */
  registerTunnel: {
    req: { relay: PeerAddr; timeoutMs?: number };
    reply: { connId: number; slotId: bigint; expiresAt: bigint; relay: PeerAddr; relayNodeId: string };
  };
  /** Closes our tunnel connection `connId` (if it still is ours) and withdraws its relay_via address. */
  closeTunnel: { req: { connId: number }; reply: void };
  /** Closes every relay tunnel connection, carried or our own: a restarted relay actor has forgotten them. */
  closeAllTunnels: { req: {}; reply: { closed: number } };
  /** Dial-back check: asks up to `maxPeers` connected peers to dial our direct addresses; one verdict per peer. */
  probeReachability: { req: { maxPeers?: number; timeoutMs?: number }; reply: Array<'reachable' | 'unreachable' | 'unsupported' | 'failed'> };
  /** The relay actor's dial-back verdict: when firewalled, selfAddrs advertises only the relayed address. */
  setReachability: { req: { firewalled: boolean }; reply: void };
  /** Whether connection `connId` is still open. */
  connectionOpen: { req: { connId: number }; reply: boolean };
  /** Peer DB entries whose capabilities (handshake or LAN announcement) say `relay`, with when that was learned. */
  relayPeers: { req: object; reply: RelayPeer[] };
  /** Peers to seed lookups and downloads: connected first, then recently seen; pubkey hints where known. */
  contacts: { req: { limit?: number; connectedOnly?: boolean }; reply: Array<{ addr: PeerAddr; capabilities: Capabilities | null }> };
  /** Live `maxConnections` (src/limits.ts; session-limits.ts). */
  setLimits: LimitsMailboxEntry;
}

/** A peer known to offer the relay role (session-mailbox `relayPeers`). */
export interface RelayPeer {
  addr: PeerAddr;
  /** 'lan' when learned from a LAN announcement only, 'peer' when from a handshake or another source. */
  source: 'lan' | 'peer';
  /** Unix ms the capabilities were learned. */
  capabilitiesSeenAt: number;
  /** Unix ms the peer was last seen. */
  lastSeen: number;
  connected: boolean;
}

export type { WireRequest, WireReply };
