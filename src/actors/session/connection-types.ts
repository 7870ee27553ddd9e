/**
 * The vocabulary of ConnectionCore: its limits and init, the inputs a shell feeds it, the effects it asks the
 * shell to carry out, and the typed reasons a connection ends.
 */
import type { ScpError } from '../../errors.js';
import type { Envelope } from '../../protocol/envelope.js';
import type { AuthenticatedSession, HandshakeFailureReason, HandshakeRole, NonceTracker } from '../../protocol/handshake.js';
import type { RandomBytes } from '../../protocol/keys.js';
import { MAX_ENVELOPE_FRAME_BYTES } from '../../protocol/limits.js';
import type { Capabilities } from '../../protocol/peer-addr.js';
import type { DecodedRequest } from '../../protocol/registry.js';
import type { RequestOwner } from './dispatch.js';
import type { AbuseGuard } from './abuse-guard.js';
import type { RateLimiter } from './rate-limiter.js';

// ---------------------------------------------------------------------------------------------------------
// Configuration

export interface ConnectionLimits {
  /** The whole 3-message handshake must finish within this. */
  handshakeTimeoutMs: number;
  /** Default per-request timeout (a request may pass its own). */
  requestTimeoutMs: number;
  /** After the oldest request timed out, how long its late answer is awaited before the stream counts as stalled. */
  stallGraceMs: number;
  /** Close when nothing is in flight and nothing moved for this long. */
  idleTimeoutMs: number;
  /** Outbound requests awaiting answers (sent or queued). */
  maxOutboundInFlight: number;
  /** Bytes handed to the core but not yet taken by the transport; above this new requests are refused. */
  maxQueuedOutboundBytes: number;
  /** Inbound requests surfaced to handlers and not yet answered; reading pauses at this count. */
  maxInboundInFlight: number;
  /** Bytes a peer may push past a pause before the connection is closed as overloaded. */
  maxBufferedInboundBytes: number;
  /** An inbound request whose handler has not answered by then is answered with an error. */
  inboundHandlerTimeoutMs: number;
  /** A graceful close gives in-flight work this long to finish. */
  closeDrainTimeoutMs: number;
  /**
   * A frame whose first byte arrived must be complete within this (while we read): a peer that sends a length
   * prefix and then trickles bytes (slowloris) would otherwise hold the connection, and the body buffer sized by
   * its prefix, forever, since every byte counts as activity and a partial frame is never idle.
   */
  frameTimeoutMs: number;
  /**
   * Inbound connections one remote IP may open at once (a token bucket per IP, checked at accept before the TLS
   * handshake; abuse-guard.ts). 0 = no per-IP budget. Read by the session and the serve threads, not the core.
   */
  acceptBurstPerIp: number;
  /** The per-IP bucket's refill: connections per second, sustained. */
  acceptPerIpPerSec: number;
  /**
   * Refusals (rate limits, unknown types, undecodable payloads, error answers such as unknown content) answered
   * per identity and 60 s window; the next one closes the connection (`abuse`) and the identity is refused at
   * handshake (`banned`) for `abuseCooldownMs`. 0 = never cut.
   */
  abuseRefusals: number;
  abuseCooldownMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  handshakeTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  stallGraceMs: 5_000,
  idleTimeoutMs: 120_000,
  maxOutboundInFlight: 64,
  maxQueuedOutboundBytes: 8 * 1024 * 1024,
  maxInboundInFlight: 32,
  maxBufferedInboundBytes: 2 * MAX_ENVELOPE_FRAME_BYTES + 1024 * 1024,
  inboundHandlerTimeoutMs: 35_000,
  closeDrainTimeoutMs: 5_000,
  frameTimeoutMs: 30_000,
  // 32 at once covers a NAT or one host running many nodes connecting together (and every slowloris slot an
  // honest host could want); 4/s (240 a minute) sustained is far above an honest peer's reconnect rate, while a
  // reconnecting attacker gets no more than 4 handshakes a second out of us.
  acceptBurstPerIp: 32,
  acceptPerIpPerSec: 4,
  abuseRefusals: 64,
  abuseCooldownMs: 60_000,
});

/**
 * When a responder may send requests of its own. Reference clients read exactly one answer per request on
 * their stream, so an unsolicited request would be taken for their answer; a peer that sends PEX is one of
 * ours (no reference binary does), and a relay tunnel (§9.3) is opened explicitly with `allowRequests()`.
 */
export type ResponderRequests = 'always' | 'after-peer-pex' | 'explicit' | 'never';

export interface ConnectionInit {
  role: HandshakeRole;
  nodeSeed: Uint8Array;
  capabilities: Capabilities;
  /** The key the remote must prove (a peer's pubkey_hint, or a pinned key). */
  expectedRemotePubkey?: Uint8Array | null;
  limits?: Partial<ConnectionLimits>;
  /** Responders only; default 'after-peer-pex'. */
  responderRequests?: ResponderRequests;
  /** Count inbound requests against the shared limiter (off for relay-tunnel streams, as the reference does). */
  rateLimit?: boolean;
  /** First req_id handed out (default 1); ids then increment and wrap within u32. */
  firstReqId?: number;
}

/**
 * Frames assembled in lent memory go back to the lender when the connection passes them on to nobody: an
 * envelope that fails to decode, an answer nobody waits for (or an error answer), a request (copied out first),
 * frames still held when the connection closes. A successful answer passes on with its frame: its taker returns it.
 */
export interface FrameLoan {
  lent(frame: Uint8Array): boolean;
  giveBack(frame: Uint8Array): void;
}

export interface ConnectionComponents {
  /** CSPRNG for the handshake nonce and ephemeral key. */
  randomBytes: RandomBytes;
  /** The listener-wide replay guard (responders). */
  nonceTracker?: NonceTracker | null;
  /** Shared per-identity limiter (PROTOCOL.md §14). */
  rateLimiter?: RateLimiter | null;
  /**
   * Where large envelope frames are assembled (a recycling pool, see runtime/chunk-buffer-pool.ts); default: fresh
   * buffers. `chunkAnswer`: the frame is most likely the CHUNK_DATA answer to our oldest request.
   */
  allocFrame?: (len: number, chunkAnswer: boolean) => Uint8Array;
  /** Memory allocFrame lends and wants back (runtime/shared-chunk-slab.ts); none = nothing is lent. */
  frameLoan?: FrameLoan | null;
  /** Shared refusal counter and cool-down list (abuse-guard.ts); none = refusals are only answered. */
  abuse?: AbuseGuard | null;
}

// ---------------------------------------------------------------------------------------------------------
// Inputs, effects, close reasons

export type ConnectionInput =
  /** `transient`: `data` is reused once handle() returns (a direct-read scratch), so nothing may keep a view of it. */
  | { kind: 'bytes'; data: Uint8Array; transient?: boolean }
  /** The peer finished its side of the stream. */
  | { kind: 'eof' }
  | { kind: 'transport-error'; message: string }
  /** The transport refused more (socket.write returned false): stop taking transmits. */
  | { kind: 'write-blocked' }
  | { kind: 'write-drained' };

export type CloseCode =
  | 'local'
  | 'remote-closed'
  | 'transport-error'
  | 'idle'
  | 'handshake-timeout'
  | 'handshake-failed'
  | 'oversize-frame'
  | 'bad-envelope'
  | 'truncated-frame'
  | 'unexpected-response'
  | 'request-stalled'
  | 'frame-timeout'
  | 'overload'
  /** The identity kept getting refused (abuse-guard.ts): cut off. */
  | 'abuse'
  /** The identity is in its cool-down after an `abuse` cut: refused at handshake. */
  | 'banned';

export interface CloseReason {
  code: CloseCode;
  /** True when the peer broke the protocol (worth a reputation hit). */
  peerFault: boolean;
  /** Whether the transport should be ended after flushing (true) or dropped at once (false). */
  graceful: boolean;
  handshakeFailure?: HandshakeFailureReason;
  error?: ScpError;
}

export type ConnectionEffect =
  | { kind: 'established'; session: AuthenticatedSession; identity: string }
  | {
      kind: 'inbound-request';
      /** Pass back to respond(). */
      id: number;
      owner: RequestOwner;
      reqId: number;
      request: DecodedRequest;
      /** The raw payload (a view of the received frame) for owners that forward it unchanged. */
      payload: Uint8Array;
    }
  /** A response (success or a flags=3 error envelope) to an outbound request. */
  | { kind: 'response'; id: number; envelope: Envelope; error: string | undefined }
  | { kind: 'request-failed'; id: number; error: ScpError }
  /** Outbound capacity crossed the high (blocked) or low (unblocked) mark. */
  | { kind: 'backpressure'; blocked: boolean }
  /** Pause or resume reading from the transport. */
  | { kind: 'read-paused'; paused: boolean }
  /** A responder may now send requests on this connection (the peer spoke PEX, or allowRequests()). */
  | { kind: 'requests-enabled' }
  /** Close the transport: after writing every chunk already polled when graceful, at once otherwise. Final. */
  | { kind: 'close'; reason: CloseReason };

export type RequestRefusal = 'closed' | 'not-permitted' | 'too-many-in-flight' | 'backpressure';

export type RequestResult = { ok: true; id: number; reqId: number } | { ok: false; reason: RequestRefusal };

export type Reply =
  | { payload: Uint8Array; type?: number }
  | { error: string };

export type ConnectionState = 'handshaking' | 'open' | 'closing' | 'closed';
