/**
 * How SCP2P requests cross between the session actor (which owns every socket) and the actors that own
 * message types (PROTOCOL.md §3.1; routes in src/actors/session/dispatch.ts).
 *
 * Inbound: the session decodes the envelope, checks rate limits, and asks the owning actor with `wire`;
 * the owner decodes the payload with src/protocol and answers with payload bytes or the reference's error text.
 * Outbound: any actor asks the session with `request` to send one request to a peer and gets the response
 * payload (or a typed ScpError: REMOTE with the peer's error text, TIMEOUT, UNREACHABLE).
 */
import type { Capabilities, PeerAddr } from '../protocol/peer-addr.js';

/** Who a request came from (or a response was answered by), as the session knows it. */
export interface PeerRef {
  /** Hex NodeId (first 20 bytes of SHA-256 of the node key), from the authenticated handshake. */
  nodeId: string;
  /** Hex Ed25519 node key proven by the handshake. */
  pubkey: string;
  /** The socket's remote address "ip:port" (ephemeral for inbound connections). */
  remote: string;
  transport: 'tcp' | 'quic';
  /** True when the request travelled through a relay tunnel. */
  relayed: boolean;
  /** A dialable address of the peer when known (outbound dial, or learned by PEX), with its pubkey hint. */
  addr: PeerAddr | null;
  capabilities: Capabilities;
  /** The session's id of the connection the request came in on (a relay turns it into a tunnel, §9.3). */
  connId?: number | undefined;
}

export interface WireRequest {
  from: PeerRef;
  /** The SCP2P message type number (named so it cannot clash with the mailbox's own `type: 'wire'`). */
  messageType: number;
  reqId: number;
  /** The envelope payload (CBOR of the message body). */
  payload: Uint8Array;
}

/** The owner's answer: a response payload (the session picks the response type from the registry), or error text. */
export type WireReply = { payload: Uint8Array } | { error: string };

/** Every actor that owns inbound message types answers this. */
export interface WireMailboxEntry {
  wire: { req: WireRequest; reply: WireReply };
}
