/**
 * Tunnel mode, relay side (PROTOCOL.md §9.3), sans-I/O. A firewalled node's registered connection is turned
 * around: the relay writes inner request envelopes to it and reads one response per request, strictly in
 * order. Downloaders reach it with RELAY_STREAM whose payload is a complete inner request envelope; the answer
 * is a RELAY_STREAM response (outer req_id, type 453) carrying the inner response envelope unchanged — an
 * inner error envelope (flags 3) travels inside a successful outer response. Failures at the relay itself
 * (bad inner envelope, no tunnel, queue full, timeout, tunnel gone) are outer error envelopes.
 *
 * Per tunnel: up to `queueDepth` requests wait (default 32), up to `maxInFlight` are written ahead of their
 * answers (the far side answers in order, so pipelining is safe), and each request fails `timeoutMs` (30 s)
 * after it was accepted. A request that timed out after being written keeps its place in the in-order match,
 * so its late answer is dropped instead of being handed to the next request. Optional throughput caps pause a
 * tunnel's writes after a large answer.
 *
 * API in quinn's shape: open/forward/handleTunnelResponse/closed (inputs, all with `now` in ms),
 * handleTimeout(now), pollEffect(), nextDeadline().
 */
import { ProtocolError } from '../../errors.js';
import { decodeEnvelope, errorEnvelope, isError, isResponse, responseEnvelope, type Envelope } from '../../protocol/envelope.js';
import { MessageType } from '../../protocol/registry.js';
import { relayStreamCodec, type RelayPayloadKind, type RelayStream } from '../../protocol/relay-messages.js';
import { ThroughputCaps, type ThroughputCapInit } from './quotas.js';

/** RELAY_REGISTER (450) … RELAY_LIST_RESPONSE (461): the relay's own messages. */
export function isRelayMessageType(type: number): boolean {
  return type >= MessageType.RELAY_REGISTER && type <= MessageType.RELAY_LIST_RESPONSE;
}

/** The session's id for one connection. */
export type ConnId = number;

export const TUNNEL_QUEUE_DEPTH = 32;
export const TUNNEL_TIMEOUT_MS = 30_000;
export const TUNNEL_MAX_IN_FLIGHT = 8;
export const RELAY_DEFAULT_MAX_TUNNELS = 64;

/** Outer error texts; the first three are the reference's (relay.rs RelayTunnelRegistry::forward). */
export const TunnelText = {
  notFound: (slot: bigint) => `relay tunnel not found for slot ${slot}`,
  closed: (slot: bigint) => `relay bridge loop closed for slot ${slot}`,
  timedOut: (slot: bigint) => `relay tunnel response timed out for slot ${slot}`,
  queueFull: (slot: bigint) => `relay tunnel queue full for slot ${slot}`,
  badInner: (why: string) => `relay tunnel: bad inner envelope: ${why}`,
  tooLarge: (slot: bigint) => `relay tunnel response too large for slot ${slot}`,
} as const;

export type TunnelEffect =
  /** Write these bytes (an inner request envelope, unchanged) as one frame on the tunnel connection. */
  | { kind: 'tunnel-send'; conn: ConnId; slotId: bigint; bytes: Uint8Array }
  /** Answer the inbound request on `conn` (req_id inside the envelope). */
  | { kind: 'reply'; conn: ConnId; envelope: Envelope }
  /** The tunnel is unusable (protocol violation or stuck); close the connection. */
  | { kind: 'tunnel-close'; conn: ConnId; slotId: bigint; reason: string };

export interface TunnelCoreInit {
  queueDepth?: number;
  timeoutMs?: number;
  maxInFlight?: number;
  maxTunnels?: number;
  caps?: ThroughputCapInit;
}

interface Pending {
  outerConn: ConnId;
  outerReqId: number;
  streamId: number;
  kind: RelayPayloadKind;
  innerReqId: number;
  bytes: Uint8Array;
  deadline: number;
  /** Answered with an error already (timed out, or its downloader went away); a late response is dropped. */
  done: boolean;
}

interface Tunnel {
  conn: ConnId;
  slotId: bigint;
  queue: Pending[];
  inFlight: Pending[];
  pausedUntil: number;
}

export class TunnelCore {
  readonly #queueDepth: number;
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  #maxTunnels: number;
  readonly #caps: ThroughputCaps;
  readonly #bySlot = new Map<bigint, Tunnel>();
  readonly #byConn = new Map<ConnId, Tunnel>();
  readonly #effects: TunnelEffect[] = [];

  constructor(init: TunnelCoreInit = {}, now = 0) {
    this.#queueDepth = init.queueDepth ?? TUNNEL_QUEUE_DEPTH;
    this.#timeoutMs = init.timeoutMs ?? TUNNEL_TIMEOUT_MS;
    this.#maxInFlight = Math.max(1, init.maxInFlight ?? TUNNEL_MAX_IN_FLIGHT);
    this.#maxTunnels = init.maxTunnels ?? RELAY_DEFAULT_MAX_TUNNELS;
    this.#caps = new ThroughputCaps(init.caps ?? {}, now);
  }

  get size(): number {
    return this.#bySlot.size;
  }

  hasTunnel(slotId: bigint): boolean {
    return this.#bySlot.has(slotId);
  }

  isTunnelConn(conn: ConnId): boolean {
    return this.#byConn.has(conn);
  }

  /** Live `maxRelayTunnels` (relay-limits.ts): tunnels already open stay; new ones wait for room. */
  setMaxTunnels(n: number): void {
    this.#maxTunnels = Math.max(0, Math.floor(n));
  }

  /** Whether a new tunnel (not replacing one for the same slot) would fit. */
  canOpen(slotId: bigint): boolean {
    return this.#bySlot.has(slotId) || this.#bySlot.size < this.#maxTunnels;
  }

  /**
   * `conn` becomes the tunnel for `slotId` (after RELAY_REGISTERED was written on it). A previous tunnel for
   * the slot is closed and its requests failed. Returns false when the tunnel table is full.
   */
  open(conn: ConnId, slotId: bigint, now: number): boolean {
    if (!this.canOpen(slotId)) return false;
    const old = this.#bySlot.get(slotId);
    if (old) this.#drop(old, 'replaced by a newer tunnel', now, true);
    const prior = this.#byConn.get(conn);
    if (prior) this.#drop(prior, 'connection reused for another slot', now, false);
    const t: Tunnel = { conn, slotId, queue: [], inFlight: [], pausedUntil: now };
    this.#bySlot.set(slotId, t);
    this.#byConn.set(conn, t);
    return true;
  }

  /** A downloader's RELAY_STREAM for a slot (the caller checked that a tunnel exists, or gets "not found"). */
  forward(outerConn: ConnId, outerReqId: number, stream: RelayStream, now: number): void {
    const t = this.#bySlot.get(stream.relaySlotId);
    if (!t) return this.#fail(outerConn, outerReqId, TunnelText.notFound(stream.relaySlotId));
    let inner: Envelope;
    try {
      inner = decodeEnvelope(stream.payload);
    } catch (e) {
      return this.#fail(outerConn, outerReqId, TunnelText.badInner(e instanceof Error ? e.message : String(e)));
    }
    if (isResponse(inner) || isError(inner)) return this.#fail(outerConn, outerReqId, TunnelText.badInner('not a request'));
    // No relay chains: the far node refuses relay requests on its tunnel anyway (§9.3 step 2); refuse them here.
    if (isRelayMessageType(inner.type)) return this.#fail(outerConn, outerReqId, TunnelText.badInner(`relay message ${inner.type} through a tunnel`));
    if (t.queue.length >= this.#queueDepth) return this.#fail(outerConn, outerReqId, TunnelText.queueFull(t.slotId));
    t.queue.push({
      outerConn,
      outerReqId,
      streamId: stream.streamId,
      kind: stream.kind,
      innerReqId: inner.reqId,
      bytes: stream.payload,
      deadline: now + this.#timeoutMs,
      done: false,
    });
    this.#pump(t, now);
  }

  /** One response envelope (frame body) read from tunnel connection `conn`. */
  handleTunnelResponse(conn: ConnId, bytes: Uint8Array, now: number): void {
    const t = this.#byConn.get(conn);
    if (!t) return;
    let env: Envelope;
    try {
      env = decodeEnvelope(bytes);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return this.#drop(t, `undecodable tunnel response: ${e.message}`, now, true);
    }
    const head = t.inFlight[0];
    if (!isResponse(env) || !head || env.reqId !== head.innerReqId) {
      return this.#drop(t, head ? 'tunnel response out of order' : 'unsolicited tunnel response', now, true);
    }
    t.inFlight.shift();
    if (!head.done) {
      let payload: Uint8Array;
      try {
        payload = relayStreamCodec.encode({ relaySlotId: t.slotId, streamId: head.streamId, kind: head.kind, payload: bytes });
      } catch {
        payload = new Uint8Array(0);
      }
      if (payload.length === 0) this.#fail(head.outerConn, head.outerReqId, TunnelText.tooLarge(t.slotId));
      else this.#effects.push({ kind: 'reply', conn: head.outerConn, envelope: responseEnvelope(MessageType.RELAY_STREAM, head.outerReqId, payload) });
    }
    if (this.#caps.limited) {
      const wait = this.#caps.reserve(String(t.slotId), bytes.length + head.bytes.length, now);
      t.pausedUntil = Math.max(t.pausedUntil, now + wait);
    }
    this.#pump(t, now);
  }

  /** The tunnel connection (or any connection) closed. */
  closed(conn: ConnId, now: number): void {
    const t = this.#byConn.get(conn);
    if (t) this.#drop(t, 'connection closed', now, false);
    // A downloader that went away: forget its queued requests; written ones keep their place in the match.
    for (const tun of this.#bySlot.values()) {
      tun.queue = tun.queue.filter((p) => p.outerConn !== conn);
      for (const p of tun.inFlight) if (p.outerConn === conn) p.done = true;
    }
  }

  handleTimeout(now: number): void {
    for (const t of [...this.#bySlot.values()]) {
      const head = t.inFlight[0];
      // A tunnel whose oldest written request has gone unanswered for two timeouts is dead.
      if (head && now >= head.deadline + this.#timeoutMs) {
        this.#drop(t, 'tunnel unresponsive', now, true);
        continue;
      }
      for (const p of t.inFlight) {
        if (!p.done && now >= p.deadline) {
          p.done = true;
          this.#fail(p.outerConn, p.outerReqId, TunnelText.timedOut(t.slotId));
        }
      }
      const keep: Pending[] = [];
      for (const p of t.queue) {
        if (now >= p.deadline) this.#fail(p.outerConn, p.outerReqId, TunnelText.timedOut(t.slotId));
        else keep.push(p);
      }
      t.queue = keep;
      this.#pump(t, now);
    }
  }

  nextDeadline(): number | undefined {
    let min: number | undefined;
    const at = (x: number): void => {
      if (min === undefined || x < min) min = x;
    };
    for (const t of this.#bySlot.values()) {
      const head = t.inFlight[0];
      if (head) at(head.done ? head.deadline + this.#timeoutMs : head.deadline);
      for (const p of t.inFlight) if (!p.done) at(p.deadline);
      if (t.queue.length > 0) {
        at(t.queue[0]!.deadline);
        if (t.inFlight.length < this.#maxInFlight) at(t.pausedUntil);
      }
    }
    return min;
  }

  pollEffect(): TunnelEffect | undefined {
    return this.#effects.shift();
  }

  #pump(t: Tunnel, now: number): void {
    if (now < t.pausedUntil) return;
    while (t.queue.length > 0 && t.inFlight.length < this.#maxInFlight) {
      const p = t.queue.shift()!;
      t.inFlight.push(p);
      this.#effects.push({ kind: 'tunnel-send', conn: t.conn, slotId: t.slotId, bytes: p.bytes });
    }
  }

  #drop(t: Tunnel, reason: string, _now: number, close: boolean): void {
    this.#bySlot.delete(t.slotId);
    this.#byConn.delete(t.conn);
    this.#caps.forget(String(t.slotId));
    for (const p of [...t.inFlight, ...t.queue]) if (!p.done) this.#fail(p.outerConn, p.outerReqId, TunnelText.closed(t.slotId));
    t.inFlight = [];
    t.queue = [];
    if (close) this.#effects.push({ kind: 'tunnel-close', conn: t.conn, slotId: t.slotId, reason });
  }

  #fail(conn: ConnId, reqId: number, text: string): void {
    this.#effects.push({ kind: 'reply', conn, envelope: errorEnvelope(MessageType.RELAY_STREAM, reqId, text) });
  }
}
