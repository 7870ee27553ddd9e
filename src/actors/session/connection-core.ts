/**
 * One connection's SCP2P state once the transport (TLS stream or QUIC bi-stream) is up, sans-I/O in the quinn
 * style. It runs the 3-message handshake (protocol/handshake.ts), then the envelope phase:
 *
 * - outbound requests get req_ids and are pipelined; responses must come back strictly in request order
 *   (PROTOCOL.md §2.3, relay tunnels §9.3), so a response that does not match the oldest request is a fault;
 * - inbound requests are rate limited, routed (dispatch.ts), decoded and surfaced as events; answers are
 *   written strictly in arrival order, whatever order the handlers finish in;
 * - silent close vs error envelope (§2.3, §18): an oversize frame, oversize payload or undecodable envelope
 *   (and any handshake failure) closes without a word; an unknown or response-only type, a payload that does
 *   not decode inside a valid envelope, or a rate-limit refusal gets a flags=3 envelope with the reference text;
 * - everything is bounded: outbound in-flight count and queued bytes (backpressure), inbound requests held
 *   for handlers (reading pauses), bytes buffered from a peer that ignores the pause (close).
 *
 * The shell feeds `handle(input, now)`, calls `handleTimeout(now)` at `nextDeadline()`, writes every
 * `pollTransmit()` chunk to the transport while it accepts them, and executes `pollEffect()` events.
 * `now` is unix milliseconds (the handshake needs wall-clock seconds); it never throws on peer bytes.
 */
import { ProtocolError, ScpError } from '../../errors.js';
import {
  decodeEnvelope,
  encodeEnvelopeFrame,
  encodeEnvelopeFrameHead,
  errorEnvelope,
  errorText,
  FLAG_RESPONSE,
  isError,
  type Envelope,
} from '../../protocol/envelope.js';
import { FrameReader } from '../../protocol/frame.js';
import {
  HandshakeMachine,
  type AuthenticatedSession,
  type HandshakeEvent,
  type HandshakeRole,
} from '../../protocol/handshake.js';
import { CHUNK_SIZE } from '../../protocol/content.js';
import { HANDSHAKE_MAX_BYTES, MAX_ENVELOPE_FRAME_BYTES } from '../../protocol/limits.js';
import { toHex } from '../../protocol/bytes.js';
import {
  decodeRequestPayload,
  isRequestType,
  MessageType,
  messageTypeName,
  rateClassOf,
  responseTypeFor,
  type RateClass,
  type DecodedRequest,
  type RequestType,
} from '../../protocol/registry.js';
import { relayStreamCodec } from '../../protocol/relay-messages.js';
import { routeRequest } from './dispatch.js';
import type { AbuseGuard } from './abuse-guard.js';
import { RATE_LIMIT_TEXT, type RateLimiter } from './rate-limiter.js';
import {
  DEFAULT_CONNECTION_LIMITS,
  type CloseCode,
  type CloseReason,
  type ConnectionComponents,
  type ConnectionEffect,
  type ConnectionInit,
  type ConnectionInput,
  type ConnectionLimits,
  type FrameLoan,
  type ConnectionState,
  type Reply,
  type RequestResult,
  type ResponderRequests,
} from './connection-types.js';

export * from './connection-types.js';

interface Outbound {
  id: number;
  reqId: number;
  type: number;
  responseType: number;
  timeoutMs: number;
  frame: Uint8Array | undefined;
  deadline: number;
  abandonedAt: number | undefined;
}

interface Inbound {
  id: number;
  type: number;
  reqId: number;
  deadline: number;
  answer: Envelope | undefined;
}

const HANDLER_TIMEOUT_TEXT = 'request handler timed out';
/** A frame up to this size answering a chunk request gets its body at once (direct reads put the chunk in place). */
const BULK_ANSWER_BYTES = CHUNK_SIZE + 1024;
const INTERNAL_TEXT = 'internal error';
/** Error answers that are our failure or back-pressure, not the peer's misbehaviour (see `respond`). */
const NOT_ABUSE_TEXTS: ReadonlySet<string> = new Set([HANDLER_TIMEOUT_TEXT, INTERNAL_TEXT, ...Object.values(RATE_LIMIT_TEXT)]);
/** Answers with at least this much payload are queued as frame head + payload, not copied into one frame. */
const SPLIT_PAYLOAD_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------------------

export class ConnectionCore {
  readonly role: HandshakeRole;
  readonly limits: Readonly<ConnectionLimits>;
  readonly #rateLimiter: RateLimiter | null;
  readonly #abuse: AbuseGuard | null;
  #rateLimit: boolean;
  readonly #hs: HandshakeMachine;

  #state: ConnectionState = 'handshaking';
  #session: AuthenticatedSession | undefined;
  #identity: string | undefined;
  #closeReason: CloseReason | undefined;
  #requestsAllowed: boolean;
  readonly #responderRequests: ResponderRequests;

  // handshake-phase reading: a tiny frame splitter, so bytes after the last handshake frame reach the envelope reader
  #hsPrefix = new Uint8Array(4);
  #hsPrefixHave = 0;
  #hsBody: Uint8Array | undefined;
  #hsBodyFill = 0;
  #hsDeadline: number | undefined;
  #hsPendingEarly: Uint8Array[] = [];

  readonly #reader: FrameReader;
  readonly #frameLoan: FrameLoan | null;
  #bufferedInbound = 0;
  #readPaused = false;
  /** When the envelope frame now partly received began (undefined: none pending); see `frameTimeoutMs`. */
  #frameStartedAt: number | undefined;
  /** Never closed for idleness (a relay tunnel, see pinOpen). */
  #pinned = false;

  #nextId = 1;
  #nextReqId: number;
  readonly #outbound: Outbound[] = [];
  readonly #inbound: Inbound[] = [];
  readonly #outQueue: Uint8Array[] = [];
  #outQueueHead = 0;
  #outQueuedBytes = 0;
  #writeBlocked = false;
  #backpressured = false;

  readonly #effects: ConnectionEffect[] = [];
  #effectsHead = 0;
  #lastActivity = 0;
  #drainDeadline: number | undefined;
  #closingCode: CloseCode = 'local';
  #flushDeadline: number | undefined;
  /** The latest time seen by any entry point (for work started from pollTransmit). */
  #now = 0;
  #closeWhenFlushed: CloseReason | undefined;

  constructor(components: ConnectionComponents, init: ConnectionInit) {
    this.role = init.role;
    this.limits = Object.freeze({ ...DEFAULT_CONNECTION_LIMITS, ...init.limits });
    this.#rateLimiter = components.rateLimiter ?? null;
    this.#abuse = components.abuse ?? null;
    const alloc = components.allocFrame;
    this.#frameLoan = components.frameLoan ?? null;
    this.#reader = new FrameReader(
      MAX_ENVELOPE_FRAME_BYTES,
      'envelope frame',
      alloc ? (len, bulk) => alloc(len, bulk && this.#outbound[0]?.responseType === MessageType.CHUNK_DATA) : undefined,
      (len) => this.#expectsBulk(len),
    );
    this.#rateLimit = init.rateLimit ?? true;
    this.#responderRequests = init.responderRequests ?? 'after-peer-pex';
    this.#requestsAllowed = init.role === 'initiator' || this.#responderRequests === 'always';
    this.#nextReqId = (init.firstReqId ?? 1) >>> 0;
    this.#hs = new HandshakeMachine({
      role: init.role,
      nodeSeed: init.nodeSeed,
      capabilities: init.capabilities,
      expectedRemotePubkey: init.expectedRemotePubkey ?? null,
      nonceTracker: components.nonceTracker ?? null,
      random: components.randomBytes,
    });
  }

  // ------------------------------------------------------------------ getters

  get state(): ConnectionState {
    return this.#state;
  }
  get session(): AuthenticatedSession | undefined {
    return this.#session;
  }
  /** "pubkey:<hex>" of the authenticated remote, as the reference keys rate limits. */
  get identity(): string | undefined {
    return this.#identity;
  }
  get closeReason(): CloseReason | undefined {
    return this.#closeReason;
  }
  get outboundInFlight(): number {
    return this.#outbound.length;
  }
  get inboundInFlight(): number {
    return this.#inbound.length;
  }
  get queuedBytes(): number {
    return this.#outQueuedBytes;
  }
  get bufferedInboundBytes(): number {
    return this.#bufferedInbound;
  }
  get canSendRequests(): boolean {
    return this.#requestsAllowed;
  }

  // ------------------------------------------------------------------ lifecycle

  /** The transport is up: the initiator sends its ClientHello; both start the handshake timer. */
  start(now: number): void {
    if (this.#hsDeadline !== undefined || this.#state !== 'handshaking') return;
    this.#now = now;
    this.#lastActivity = now;
    this.#hsDeadline = now + this.limits.handshakeTimeoutMs;
    if (this.role === 'initiator') this.#onHandshakeEvents(this.#hsCall(() => this.#hs.start(unixSecs(now))), now);
    for (const early of this.#hsPendingEarly.splice(0)) this.#onBytes(early, now);
  }

  /**
   * Graceful close: no new requests; in-flight work gets `closeDrainTimeoutMs` to finish, then the transport
   * is ended. During the handshake it closes at once.
   */
  close(now: number): void {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    if (this.#state === 'handshaking') return this.#abort({ code: 'local', peerFault: false, graceful: true }, now);
    this.#failUnsent(ScpError.io('connection closing'));
    this.#beginClosing('local', now);
  }

  /** Lets a responder send requests (a relay turning a tunnel around, §9.3). */
  allowRequests(): void {
    if (this.#requestsAllowed || this.#responderRequests === 'never') return;
    this.#requestsAllowed = true;
    this.#push({ kind: 'requests-enabled' });
  }

  // ------------------------------------------------------------------ inputs

  handle(input: ConnectionInput, now: number): void {
    if (this.#state === 'closed') return;
    this.#now = now;
    switch (input.kind) {
      case 'bytes':
        if (input.data.length === 0) return;
        if (this.#hsDeadline === undefined && this.#state === 'handshaking') {
          // bytes before start(): held until then (bounded by the transport's first read)
          this.#hsPendingEarly.push(input.transient ? new Uint8Array(input.data) : input.data);
          if (this.#hsPendingEarly.length > 64) this.#abort({ code: 'overload', peerFault: true, graceful: false }, now);
          return;
        }
        this.#lastActivity = now;
        this.#onBytes(input.data, now, input.transient === true);
        return;
      case 'eof':
        return this.#onEof(now);
      case 'transport-error':
        return this.#abort({ code: 'transport-error', peerFault: false, graceful: false, error: ScpError.io(input.message) }, now);
      case 'write-blocked':
        this.#writeBlocked = true;
        return;
      case 'write-drained':
        this.#writeBlocked = false;
        return;
    }
  }

  /**
   * Direct reads (FrameReader.writable): where the transport should put the next bytes — in place in the frame
   * body being received, or scratch memory. Report them with `filled`.
   */
  readTarget(): Uint8Array {
    return this.#reader.writable();
  }

  /**
   * `n` bytes landed at the last `readTarget()`. Returns false when that was all (bytes of a frame body taken in
   * place, no frame finished): the shell has nothing to transmit, no effect to run and no deadline to re-arm.
   */
  filled(n: number, now: number): boolean {
    if (this.#state === 'closed' || n <= 0) return false;
    const scratch = this.#reader.wrote(n);
    if (scratch !== undefined) {
      this.handle({ kind: 'bytes', data: scratch, transient: true }, now);
      return true;
    }
    this.#now = now;
    this.#lastActivity = now;
    this.#bufferedInbound += n;
    if (this.#reader.readyCount === 0) return this.#checkOverload(now);
    this.#afterRead(0, now);
    return true;
  }

  handleTimeout(now: number): void {
    if (this.#state === 'closed') {
      // A graceful close still waiting for the transport to take its last bytes: give up on them.
      if (this.#closeWhenFlushed && this.#flushDeadline !== undefined && now >= this.#flushDeadline) {
        const r = { ...this.#closeWhenFlushed, graceful: false };
        this.#closeWhenFlushed = undefined;
        this.#dropQueue();
        this.#emitClose(r);
      }
      return;
    }
    this.#now = now;
    if (this.#state === 'handshaking') {
      if (this.#hsDeadline !== undefined && now >= this.#hsDeadline) {
        this.#abort({ code: 'handshake-timeout', peerFault: true, graceful: false, error: ScpError.timeout('SCP2P handshake', this.limits.handshakeTimeoutMs) }, now);
      }
      return;
    }
    if (this.#frameStartedAt !== undefined && !this.#readPaused && now >= this.#frameStartedAt + this.limits.frameTimeoutMs) {
      const held = this.#reader.partialBytes;
      return this.#abort({ code: 'frame-timeout', peerFault: true, graceful: false, error: ScpError.timeout(`envelope frame (${held} bytes received)`, this.limits.frameTimeoutMs) }, now);
    }
    // Outbound timeouts: fail the caller now; keep the slot so a late answer still lines up.
    for (const o of this.#outbound) {
      if (o.abandonedAt === undefined && o.frame === undefined && now >= o.deadline) {
        o.abandonedAt = now;
        this.#push({ kind: 'request-failed', id: o.id, error: ScpError.timeout(`request ${messageTypeName(o.type)}`, o.timeoutMs) });
      }
    }
    const head = this.#outbound[0];
    if (head?.abandonedAt !== undefined && now >= head.abandonedAt + this.limits.stallGraceMs) {
      return this.#abort({ code: 'request-stalled', peerFault: true, graceful: false, error: ScpError.timeout('response from peer', head.timeoutMs) }, now);
    }
    // Inbound handlers that never answered: answer for them so the stream keeps moving.
    for (const i of this.#inbound) {
      if (i.answer === undefined && now >= i.deadline) i.answer = errorEnvelope(i.type, i.reqId, HANDLER_TIMEOUT_TEXT);
    }
    this.#flushInboundAnswers(now);
    if (this.#state === 'closing' && this.#drainDeadline !== undefined && now >= this.#drainDeadline) {
      return this.#finish(ScpError.io('connection closed before the response arrived'));
    }
    if (this.#state === 'open' && this.#isIdle() && now >= this.#lastActivity + this.limits.idleTimeoutMs) {
      this.#beginClosing('idle', now);
    }
  }

  nextDeadline(): number | undefined {
    if (this.#state === 'closed') return this.#closeWhenFlushed ? this.#flushDeadline : undefined;
    if (this.#state === 'handshaking') return this.#hsDeadline;
    let d: number | undefined;
    const at = (t: number | undefined): void => {
      if (t !== undefined && (d === undefined || t < d)) d = t;
    };
    for (const o of this.#outbound) if (o.abandonedAt === undefined && o.frame === undefined) at(o.deadline);
    const head = this.#outbound[0];
    if (head?.abandonedAt !== undefined) at(head.abandonedAt + this.limits.stallGraceMs);
    for (const i of this.#inbound) if (i.answer === undefined) at(i.deadline);
    if (this.#frameStartedAt !== undefined && !this.#readPaused) at(this.#frameStartedAt + this.limits.frameTimeoutMs);
    if (this.#state === 'closing') at(this.#drainDeadline);
    if (this.#state === 'open' && this.#isIdle()) at(this.#lastActivity + this.limits.idleTimeoutMs);
    return d;
  }

  // ------------------------------------------------------------------ app commands

  /**
   * Queues an outbound request. Its response (or failure) arrives later as an effect carrying `id`. While
   * handshaking the request waits and is sent right after the handshake. `reqId` defaults to the next id.
   */
  request(msg: { type: number; payload: Uint8Array; reqId?: number; timeoutMs?: number }, now: number): RequestResult {
    if (this.#state === 'closing' || this.#state === 'closed') return { ok: false, reason: 'closed' };
    if (!this.#requestsAllowed) return { ok: false, reason: 'not-permitted' };
    if (this.#outbound.length >= this.limits.maxOutboundInFlight) return { ok: false, reason: 'too-many-in-flight' };
    const reqId = msg.reqId ?? this.#takeReqId();
    const frame = encodeEnvelopeFrame({ type: msg.type, reqId, flags: 0, payload: msg.payload });
    if (this.#outQueuedBytes > 0 && this.#outQueuedBytes + frame.length > this.limits.maxQueuedOutboundBytes) {
      this.#setBackpressure(true);
      return { ok: false, reason: 'backpressure' };
    }
    const timeoutMs = msg.timeoutMs ?? this.limits.requestTimeoutMs;
    const o: Outbound = {
      id: this.#nextId++,
      reqId,
      type: msg.type,
      responseType: isRequestType(msg.type) ? responseTypeFor(msg.type) : msg.type,
      timeoutMs,
      frame,
      deadline: now + timeoutMs,
      abandonedAt: undefined,
    };
    this.#outbound.push(o);
    if (this.#state === 'open') this.#sendOutbound(o, now);
    if (this.#outQueuedBytes >= this.limits.maxQueuedOutboundBytes) this.#setBackpressure(true);
    return { ok: true, id: o.id, reqId };
  }

  /**
   * Answers inbound request `id`. Answers are written in arrival order, so this one may wait for earlier
   * ones. Returns false if `id` is unknown or already answered (e.g. the handler timed out).
   */
  respond(id: number, reply: Reply, now: number): boolean {
    const entry = this.#inbound.find((i) => i.id === id);
    if (!entry || entry.answer !== undefined) return false;
    if ('error' in reply) {
      entry.answer = errorEnvelope(entry.type, entry.reqId, reply.error);
      // An owner's refusal (unknown content, manifest, ...) counts toward the abuse allowance; our own failures
      // (internal error) and back-pressure texts (a seeder's read slots are full) do not.
      if (!NOT_ABUSE_TEXTS.has(reply.error) && this.#countRefusal(now)) return true;
    } else {
      const type = reply.type ?? (isRequestType(entry.type) ? responseTypeFor(entry.type) : entry.type);
      entry.answer = { type, reqId: entry.reqId, flags: FLAG_RESPONSE, payload: reply.payload };
    }
    this.#flushInboundAnswers(now);
    return true;
  }

  // ------------------------------------------------------------------ outputs

  /** The next chunk to write, or undefined (nothing queued, or the transport said it is full). */
  pollTransmit(): Uint8Array | undefined {
    if (this.#writeBlocked || this.#outQueueHead >= this.#outQueue.length) return undefined;
    const data = this.#outQueue[this.#outQueueHead]!;
    this.#outQueue[this.#outQueueHead++] = EMPTY;
    if (this.#outQueueHead === this.#outQueue.length) {
      this.#outQueue.length = 0;
      this.#outQueueHead = 0;
    }
    this.#outQueuedBytes -= data.length;
    if (this.#backpressured && this.#outQueuedBytes <= this.limits.maxQueuedOutboundBytes / 2) this.#setBackpressure(false);
    if (this.#outQueuedBytes === 0 && this.#closeWhenFlushed) {
      const r = this.#closeWhenFlushed;
      this.#closeWhenFlushed = undefined;
      this.#emitClose(r);
    } else if (this.#state === 'open' || this.#state === 'closing') {
      this.#pumpInbound(this.#now);
    }
    return data;
  }

  pollEffect(): ConnectionEffect | undefined {
    if (this.#effectsHead >= this.#effects.length) return undefined;
    const e = this.#effects[this.#effectsHead]!;
    this.#effects[this.#effectsHead++] = undefined as unknown as ConnectionEffect;
    if (this.#effectsHead === this.#effects.length) {
      this.#effects.length = 0;
      this.#effectsHead = 0;
    }
    return e;
  }

  // ------------------------------------------------------------------ handshake phase

  #hsCall(f: () => HandshakeEvent[]): HandshakeEvent[] {
    try {
      return f();
    } catch (e) {
      // The machine validates what it can; anything else thrown on peer input (a bad X25519 point, say) is malformed input.
      return [{ kind: 'failed', reason: 'malformed', message: e instanceof Error ? e.message : String(e) }];
    }
  }

  #onBytes(data: Uint8Array, now: number, transient = false): void {
    if (this.#state === 'handshaking') {
      let i = 0;
      while (i < data.length && this.#state === 'handshaking') {
        if (this.#hsBody === undefined) {
          this.#hsPrefix[this.#hsPrefixHave++] = data[i++]!;
          if (this.#hsPrefixHave < 4) continue;
          this.#hsPrefixHave = 0;
          const len = new DataView(this.#hsPrefix.buffer).getUint32(0);
          if (len > HANDSHAKE_MAX_BYTES) {
            return this.#abort(
              { code: 'handshake-failed', handshakeFailure: 'oversize', peerFault: true, graceful: false, error: new ProtocolError(`length prefix ${len} exceeds ${HANDSHAKE_MAX_BYTES}`, 'handshake frame') },
              now,
            );
          }
          this.#hsBody = new Uint8Array(len);
          this.#hsBodyFill = 0;
        }
        const body = this.#hsBody;
        const k = Math.min(body.length - this.#hsBodyFill, data.length - i);
        body.set(data.subarray(i, i + k), this.#hsBodyFill);
        this.#hsBodyFill += k;
        i += k;
        if (this.#hsBodyFill === body.length) {
          this.#hsBody = undefined;
          this.#onHandshakeEvents(this.#hsCall(() => this.#hs.handle(body, unixSecs(now))), now);
        }
      }
      if (this.state !== 'open' || i >= data.length) return;
      data = data.subarray(i);
    }
    if (this.state !== 'open' && this.state !== 'closing') return;
    this.#bufferedInbound += data.length;
    const readyBefore = this.#reader.readyCount;
    try {
      this.#reader.push(data, transient);
    } catch (e) {
      return this.#abort({ code: 'oversize-frame', peerFault: true, graceful: false, error: asProtocolError(e, 'envelope frame') }, now);
    }
    this.#afterRead(readyBefore, now);
  }

  /** After bytes reached the frame reader: the frame timer, frames pulled while there is room, the overload bound. */
  #afterRead(readyBefore: number, now: number): void {
    // A frame completed in this slice means the partial one (if any) began in it too.
    if (this.#reader.partialBytes === 0) this.#frameStartedAt = undefined;
    else if (this.#frameStartedAt === undefined || this.#reader.readyCount > readyBefore) this.#frameStartedAt = now;
    this.#pumpInbound(now);
    this.#checkOverload(now);
  }

  /** Aborts when the peer kept sending far past our read pause; true when it did. */
  #checkOverload(now: number): boolean {
    if (this.#state === 'closed' || this.#bufferedInbound <= this.limits.maxBufferedInboundBytes) return false;
    this.#abort({ code: 'overload', peerFault: true, graceful: false, error: new ProtocolError(`peer sent ${this.#bufferedInbound} bytes past the read pause`, 'connection') }, now);
    return true;
  }

  /** The frame about to arrive is most likely the answer to a chunk request of ours (responses come in order). */
  #expectsBulk(len: number): boolean {
    if (len > BULK_ANSWER_BYTES) return false;
    const head = this.#outbound[0];
    return head !== undefined && head.frame === undefined && (head.responseType === MessageType.CHUNK_DATA || head.responseType === MessageType.RELAY_STREAM);
  }

  #onHandshakeEvents(events: HandshakeEvent[], now: number): void {
    for (const ev of events) {
      if (this.#state !== 'handshaking') return;
      if (ev.kind === 'send') {
        this.#enqueue(ev.frame);
      } else if (ev.kind === 'failed') {
        return this.#abort(
          { code: 'handshake-failed', handshakeFailure: ev.reason, peerFault: true, graceful: false, error: new ProtocolError(ev.message, `handshake.${ev.reason}`) },
          now,
        );
      } else {
        const identity = `pubkey:${toHex(ev.session.remoteNodePubkey)}`;
        if (this.role === 'responder' && this.#abuse?.isBanned(identity, now)) {
          return this.#abort({ code: 'banned', peerFault: true, graceful: false, error: new ProtocolError(`${identity} is in its cool-down after an abuse cut-off`, 'handshake') }, now);
        }
        this.#session = ev.session;
        this.#identity = identity;
        this.#state = 'open';
        this.#hsDeadline = undefined;
        this.#lastActivity = now;
        this.#push({ kind: 'established', session: ev.session, identity: this.#identity });
        // Requests queued during the handshake go out now, their timeouts counted from here.
        for (const o of this.#outbound) this.#sendOutbound(o, now);
      }
    }
  }

  // ------------------------------------------------------------------ envelope phase

  /** Pulls frames while there is room for the work they bring; pauses reading otherwise. */
  #pumpInbound(now: number): void {
    while (this.#state === 'open' || this.#state === 'closing') {
      if (!this.#roomForInbound()) {
        this.#setReadPaused(true);
        return;
      }
      const frame = this.#reader.pull();
      if (frame === undefined) break;
      this.#bufferedInbound -= frame.length + 4;
      this.#onFrame(frame, now);
    }
    if (this.#state === 'open' || this.#state === 'closing') this.#setReadPaused(false);
  }

  #roomForInbound(): boolean {
    // While closing, frames are still read: answers to our requests, and requests, answered until the drain deadline.
    return this.#inbound.length < this.limits.maxInboundInFlight && this.#outQueuedBytes < this.limits.maxQueuedOutboundBytes;
  }

  #onFrame(frame: Uint8Array, now: number): void {
    let env: Envelope;
    try {
      env = decodeEnvelope(frame);
    } catch (e) {
      this.#frameLoan?.giveBack(frame);
      return this.#abort({ code: 'bad-envelope', peerFault: true, graceful: false, error: asProtocolError(e, 'Envelope') }, now);
    }
    if ((env.flags & FLAG_RESPONSE) !== 0) return this.#onResponse(env, frame, now);
    if (this.#frameLoan?.lent(frame)) {
      // A request where we expected a chunk: its handlers get memory of their own, the slot goes back now.
      const own = frame.slice();
      this.#frameLoan.giveBack(frame);
      env = decodeEnvelope(own);
    }
    this.#onRequest(env, now);
  }

  /** Only a successful answer to a live request passes its frame on; lent memory is handed back otherwise. */
  #onResponse(env: Envelope, frame: Uint8Array, now: number): void {
    const head = this.#outbound[0];
    if (head === undefined || head.frame !== undefined || head.reqId !== env.reqId) {
      this.#frameLoan?.giveBack(frame);
      const why = head === undefined || head.frame !== undefined ? 'a response with no request outstanding' : `response req_id ${env.reqId}, expected ${head.reqId}`;
      return this.#abort({ code: 'unexpected-response', peerFault: true, graceful: false, error: new ProtocolError(why, 'Envelope.req_id') }, now);
    }
    this.#outbound.shift();
    const errored = isError(env);
    const expectedType = errored ? head.type : head.responseType;
    const passed = head.abandonedAt === undefined && env.type === expectedType && !errored;
    if (head.abandonedAt === undefined) {
      if (env.type !== expectedType) {
        this.#push({
          kind: 'request-failed',
          id: head.id,
          error: new ProtocolError(`answered with type ${messageTypeName(env.type)}, expected ${messageTypeName(expectedType)}`, 'Envelope.type'),
        });
      } else {
        this.#push({ kind: 'response', id: head.id, envelope: env, error: errored ? errorText(env) : undefined });
      }
    }
    if (!passed) this.#frameLoan?.giveBack(frame);
    this.#maybeFinishClosing();
  }

  #onRequest(env: Envelope, now: number): void {
    const entry: Inbound = { id: this.#nextId++, type: env.type, reqId: env.reqId, deadline: now + this.limits.inboundHandlerTimeoutMs, answer: undefined };
    this.#inbound.push(entry);
    if (!this.#requestsAllowed && this.#responderRequests === 'after-peer-pex' && (env.type === MessageType.PEX_OFFER || env.type === MessageType.PEX_REQUEST)) {
      this.#requestsAllowed = true;
      this.#push({ kind: 'requests-enabled' });
    }
    // The reference counts every request first (unknown types included, as "other"), then routes, then decodes.
    if (this.#rateLimit && this.#rateLimiter && this.#identity) {
      if (this.#abuse?.isBanned(this.#identity, now)) return this.#cutForAbuse(now);
      const d = this.#rateLimiter.check(this.#identity, requestRateClass(env), now);
      // The chunk cap is a bandwidth ceiling a fast honest downloader may touch (it then rests): not abuse.
      if (!d.ok) return this.#refuse(entry, d.wireText, now, d.exceeded !== 'chunk');
    }
    const route = routeRequest(env.type);
    if (route.kind === 'refuse') return this.#refuse(entry, route.wireText, now);
    let request: DecodedRequest;
    try {
      request = decodeRequestPayload(env.type, env.payload);
    } catch (e) {
      const pe = asProtocolError(e, messageTypeName(env.type));
      return this.#refuse(entry, pe.wireText ?? pe.message, now);
    }
    this.#push({ kind: 'inbound-request', id: entry.id, owner: route.owner, reqId: env.reqId, request, payload: env.payload });
  }

  /** Answers a refused request with the reference's text, unless the identity's allowance is spent (then cuts). */
  #refuse(entry: Inbound, text: string, now: number, counts = true): void {
    if (counts && this.#countRefusal(now)) return;
    this.#answerNow(entry, text, now);
  }

  /** Counts one refusal against the identity (not on relay tunnels, which carry many peers); true = cut off. */
  #countRefusal(now: number): boolean {
    if (!this.#abuse || !this.#rateLimit || !this.#identity || this.#state === 'closed') return false;
    if (this.#abuse.refused(this.#identity, now) === 'answer') return false;
    this.#cutForAbuse(now);
    return true;
  }

  /**
   * Ends the connection of an identity past its refusal allowance: nothing more is read or dispatched, requests
   * not yet answered are dropped, but answers already written (the allowance's refusals) still go out first.
   */
  #cutForAbuse(now: number): void {
    if (this.#state === 'closed') return;
    const n = this.#abuse?.maxRefusals ?? 0;
    const reason: CloseReason = { code: 'abuse', peerFault: true, graceful: true, error: new ProtocolError(`more than ${n} refused requests in a window: cut off`, 'connection') };
    this.#failAllOutbound(reason.error as ScpError);
    this.#inbound.length = 0;
    this.#returnHeldFrames();
    this.#state = 'closed';
    this.#closeReason = reason;
    if (this.#outQueuedBytes > 0) {
      this.#closeWhenFlushed = reason;
      this.#flushDeadline = now + this.limits.closeDrainTimeoutMs;
    } else this.#emitClose(reason);
  }

  #answerNow(entry: Inbound, text: string, now: number): void {
    entry.answer = errorEnvelope(entry.type, entry.reqId, text);
    this.#flushInboundAnswers(now);
  }

  /** Writes answered requests from the front of the arrival queue, stopping at the first unanswered one. */
  #flushInboundAnswers(now: number): void {
    let moved = false;
    while (this.#inbound.length > 0 && this.#inbound[0]!.answer !== undefined) {
      const { answer, type, reqId } = this.#inbound.shift()!;
      try {
        if (answer!.payload.length >= SPLIT_PAYLOAD_BYTES) {
          // A large answer (CHUNK_DATA) goes out as head + the payload itself: no copy of the payload into a frame.
          this.#enqueue(encodeEnvelopeFrameHead(answer!));
          this.#enqueue(answer!.payload);
        } else {
          this.#enqueue(encodeEnvelopeFrame(answer!));
        }
      } catch {
        // A handler produced something the wire cannot carry (payload > 1 MiB): refuse rather than stall the stream.
        this.#enqueue(encodeEnvelopeFrame(errorEnvelope(type, reqId, INTERNAL_TEXT)));
      }
      this.#lastActivity = Math.max(this.#lastActivity, now);
      moved = true;
    }
    if (moved) {
      this.#maybeFinishClosing();
      this.#pumpInbound(now);
    }
  }

  #sendOutbound(o: Outbound, now: number): void {
    if (o.frame === undefined) return;
    this.#enqueue(o.frame);
    o.frame = undefined;
    o.deadline = now + o.timeoutMs;
    this.#lastActivity = Math.max(this.#lastActivity, now);
  }

  // ------------------------------------------------------------------ closing

  #onEof(now: number): void {
    if (this.#state === 'handshaking') return this.#abort({ code: 'remote-closed', peerFault: false, graceful: false }, now);
    try {
      this.#reader.end();
    } catch (e) {
      return this.#abort({ code: 'truncated-frame', peerFault: true, graceful: false, error: asProtocolError(e, 'envelope frame') }, now);
    }
    // The peer will send nothing more: outstanding requests cannot be answered; our answers may still go out.
    for (const o of this.#outbound.splice(0)) {
      if (o.abandonedAt === undefined) this.#push({ kind: 'request-failed', id: o.id, error: ScpError.io('connection closed by peer before the response arrived') });
    }
    this.#beginClosing('remote-closed', now);
  }

  /**
   * A relay tunnel (PROTOCOL.md §9.3) lives as long as its connection and has no keep-alive message, so neither
   * end may close it for being idle; the session pins both ends of one. On the firewalled end the relay's
   * requests carry many downloaders' traffic, so they are not rate limited (§9.3 step 2): `rateLimit: false`.
   */
  get pinned(): boolean {
    return this.#pinned;
  }

  pinOpen(opts: { rateLimit?: boolean } = {}): void {
    this.#pinned = true;
    if (opts.rateLimit === false) this.#rateLimit = false;
  }

  #isIdle(): boolean {
    if (this.#pinned) return false;
    return this.#outbound.length === 0 && this.#inbound.length === 0 && this.#reader.partialBytes === 0 && this.#reader.readyCount === 0;
  }

  #beginClosing(code: CloseCode, now: number): void {
    this.#state = 'closing';
    this.#closingCode = code;
    this.#drainDeadline = now + this.limits.closeDrainTimeoutMs;
    this.#maybeFinishClosing();
  }

  #maybeFinishClosing(): void {
    if (this.#state !== 'closing') return;
    if (this.#outbound.length > 0 || this.#inbound.length > 0) return;
    this.#finish(ScpError.io('connection closed'));
  }

  /** Ends the connection gracefully: fails what is left, lets queued bytes flush, then emits `close`. */
  #finish(err: ScpError): void {
    if (this.#state === 'closed') return;
    const reason: CloseReason = { code: this.#closingCode, peerFault: false, graceful: true };
    this.#failAllOutbound(err);
    this.#inbound.length = 0;
    this.#returnHeldFrames();
    this.#state = 'closed';
    this.#closeReason = reason;
    if (this.#outQueuedBytes > 0) {
      this.#closeWhenFlushed = reason;
      this.#flushDeadline = this.#now + this.limits.closeDrainTimeoutMs;
    } else this.#emitClose(reason);
  }

  /** Drops the connection at once (peer fault, transport error, handshake failure): nothing more is written. */
  #abort(reason: CloseReason, _now: number): void {
    if (this.#state === 'closed') return;
    this.#failAllOutbound(reason.error ?? ScpError.io(`connection closed (${reason.code})`));
    this.#inbound.length = 0;
    this.#dropQueue();
    this.#returnHeldFrames();
    this.#state = 'closed';
    this.#closeReason = reason;
    this.#emitClose(reason);
  }

  /** Frames the reader still holds will never be read: lent memory goes back. */
  #returnHeldFrames(): void {
    if (!this.#frameLoan) return;
    for (const f of this.#reader.discard()) this.#frameLoan.giveBack(f);
  }

  #dropQueue(): void {
    this.#outQueue.length = 0;
    this.#outQueueHead = 0;
    this.#outQueuedBytes = 0;
  }

  #emitClose(reason: CloseReason): void {
    this.#push({ kind: 'close', reason });
  }

  #failUnsent(err: ScpError): void {
    for (let k = this.#outbound.length - 1; k >= 0; k--) {
      const o = this.#outbound[k]!;
      if (o.frame !== undefined) {
        this.#outbound.splice(k, 1);
        this.#push({ kind: 'request-failed', id: o.id, error: err });
      }
    }
  }

  #failAllOutbound(err: ScpError): void {
    for (const o of this.#outbound.splice(0)) {
      if (o.abandonedAt === undefined) this.#push({ kind: 'request-failed', id: o.id, error: err });
    }
  }

  // ------------------------------------------------------------------ small helpers

  #enqueue(frame: Uint8Array): void {
    this.#outQueue.push(frame);
    this.#outQueuedBytes += frame.length;
  }

  #push(e: ConnectionEffect): void {
    this.#effects.push(e);
  }

  #setBackpressure(blocked: boolean): void {
    if (this.#backpressured === blocked) return;
    this.#backpressured = blocked;
    this.#push({ kind: 'backpressure', blocked });
  }

  #setReadPaused(paused: boolean): void {
    if (this.#readPaused === paused) return;
    this.#readPaused = paused;
    // Our pause held the peer back: its partial frame gets a fresh allowance once we read again.
    if (!paused && this.#frameStartedAt !== undefined) this.#frameStartedAt = this.#now;
    this.#push({ kind: 'read-paused', paused });
  }

  #takeReqId(): number {
    const id = this.#nextReqId;
    this.#nextReqId = (this.#nextReqId + 1) >>> 0;
    return id;
  }
}

const EMPTY = new Uint8Array(0);

function unixSecs(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}

function asProtocolError(e: unknown, where: string): ProtocolError {
  if (e instanceof ProtocolError) return e;
  return new ProtocolError(e instanceof Error ? e.message : String(e), where);
}

export type { RequestType };

/**
 * The limiter class a request counts against. A RELAY_STREAM in tunnel mode carries another node's request to the
 * firewalled node behind the relay: it counts as that inner request (a GET_CHUNK as `chunk`), not as `relay`, whose
 * 180-a-minute cap would hold a relayed download to about 3 chunks a second. The relay bounds tunnels itself
 * (queue depth, throughput caps, quotas). Control streams and anything undecodable stay `relay`.
 */
function requestRateClass(env: Envelope): RateClass {
  if (env.type !== MessageType.RELAY_STREAM) return rateClassOf(env.type);
  try {
    const stream = relayStreamCodec.decode(env.payload);
    if (stream.kind !== 'content') return 'relay';
    const inner = decodeEnvelope(stream.payload);
    return isRequestType(inner.type) && inner.type !== MessageType.RELAY_STREAM ? rateClassOf(inner.type) : 'relay';
  } catch {
    return 'relay';
  }
}
