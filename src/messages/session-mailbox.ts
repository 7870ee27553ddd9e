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

export interface SessionMailbox extends CommonMailbox {
  peers: { req: object; reply: PeerRecord[] };
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
  /** Peers to seed lookups and downloads: connected first, then recently seen; pubkey hints where known. */
  contacts: { req: { limit?: number; connectedOnly?: boolean }; reply: Array<{ addr: PeerAddr; capabilities: Capabilities | null }> };
}

export type { WireRequest, WireReply };
