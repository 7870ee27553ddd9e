/**
 * The thin shell around one ConnectionCore (quinn's `drive_transmit` shape): it feeds transport bytes, eof and
 * errors into the core, writes every `pollTransmit()` chunk while the transport takes them, runs the core's
 * effects, and keeps one timer armed at `nextDeadline()`. It makes no protocol decisions; the session manager
 * gets established / inbound / requests-enabled / closed through hooks and sends requests with `request()`.
 * Times fed to the core are unix milliseconds.
 */
import { ProtocolError, ScpError } from '../../errors.js';
import { toHex } from '../../protocol/bytes.js';
import { nodeIdFromPubkey } from '../../protocol/ids.js';
import type { Capabilities, PeerAddr } from '../../protocol/peer-addr.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import {
  ConnectionCore,
  type CloseReason,
  type ConnectionComponents,
  type FrameLoan,
  type ConnectionEffect,
  type ConnectionInit,
  type ConnectionInput,
  type Reply,
} from './connection-core.js';
import type { Connection, ReadControl } from './transport/transport.js';

export type InboundRequest = Extract<ConnectionEffect, { kind: 'inbound-request' }>;

export interface PeerConnectionHooks {
  /** Unix milliseconds. */
  now(): number;
  clock: Clock;
  onEstablished(pc: PeerConnection): void;
  onInbound(pc: PeerConnection, req: InboundRequest): void;
  onRequestsEnabled(pc: PeerConnection): void;
  onClosed(pc: PeerConnection, reason: CloseReason): void;
  /** For bytes about to be written: what to run once the transport is done with them (buffer recycling), if any. */
  afterWrite?(bytes: Uint8Array): (() => void) | undefined;
}

interface Call {
  type: number;
  payload: Uint8Array;
  timeoutMs: number | undefined;
  sentAt: number;
  resolve(payload: Uint8Array): void;
  reject(err: Error): void;
}

/** Requests a connection holds back when the core refuses for capacity (they wait for a slot, not forever). */
const MAX_WAITING = 1024;

export class PeerConnection {
  readonly id: number;
  readonly core: ConnectionCore;
  readonly conn: Connection;
  /** The address we dialed (outbound), with the pubkey it proved once established. */
  dialedAddr: PeerAddr | null;
  pubkey: Uint8Array | undefined;
  pubkeyHex = '';
  nodeId = '';
  capabilities: Capabilities | undefined;
  establishedAt = 0;
  /** Set when the peer told us its own dialable addresses (PEX_OFFER with its key as hint). */
  offeredAddrs: PeerAddr[] = [];
  readonly established: Promise<void>;

  readonly #hooks: PeerConnectionHooks;
  readonly #calls = new Map<number, Call>();
  readonly #waiting: Call[] = [];
  #pumping = false;
  #again = false;
  #writeBlocked = false;
  #paused = false;
  #resume: (() => void) | undefined;
  /** Push-mode reading (transports that offer it); else #readLoop pulls. */
  #readCtl: ReadControl | undefined;
  #timer: TimerHandle | undefined;
  #armedAt = Infinity;
  #closed = false;
  #closeReason: CloseReason | undefined;
  readonly #frameLoan: FrameLoan | null;
  #settleEstablished!: (err?: Error) => void;

  constructor(id: number, conn: Connection, components: ConnectionComponents, init: ConnectionInit, hooks: PeerConnectionHooks, dialedAddr: PeerAddr | null) {
    this.id = id;
    this.conn = conn;
    this.dialedAddr = dialedAddr;
    this.#hooks = hooks;
    this.#frameLoan = components.frameLoan ?? null;
    this.core = new ConnectionCore(components, init);
    this.established = new Promise<void>((resolve, reject) => {
      this.#settleEstablished = (err) => (err ? reject(err) : resolve());
    });
    this.established.catch(() => {});
  }

  get role(): 'initiator' | 'responder' {
    return this.core.role;
  }
  get isOpen(): boolean {
    return !this.#closed && this.core.state === 'open';
  }
  get closed(): boolean {
    return this.#closed;
  }
  get closeReason(): CloseReason | undefined {
    return this.#closeReason;
  }
  /** Outbound requests in flight plus those waiting for a slot: the load the pool balances on. */
  get load(): number {
    return this.#calls.size + this.#waiting.length;
  }
  get remote(): string {
    const h = this.conn.remoteAddress.host;
    return `${h.includes(':') ? `[${h}]` : h}:${this.conn.remoteAddress.port}`;
  }

  start(): void {
    this.core.start(this.#hooks.now());
    void this.conn.closed.then((info) => {
      if (!this.#closed) this.#input({ kind: 'transport-error', message: info.error?.message ?? `transport closed (${info.reason})` });
    });
    if (this.conn.readInto) {
      this.#readCtl = this.conn.readInto({
        target: () => this.core.readTarget(),
        filled: (n) => {
          if (!this.#closed && this.core.filled(n, this.#hooks.now())) this.#pump();
        },
        end: () => this.#input({ kind: 'eof' }),
        error: (err) => this.#input({ kind: 'transport-error', message: err.message }),
      });
    } else if (this.conn.readPush) {
      this.#readCtl = this.conn.readPush({
        data: (data) => this.#input({ kind: 'bytes', data }),
        end: () => this.#input({ kind: 'eof' }),
        error: (err) => this.#input({ kind: 'transport-error', message: err.message }),
      });
    } else void this.#readLoop();
    this.#pump();
  }

  /** Sends one request; resolves with the response payload, rejects REMOTE / TIMEOUT / IO / PROTOCOL. */
  request(type: number, payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      const call: Call = { type, payload, timeoutMs, sentAt: 0, resolve, reject };
      if (this.#waiting.length > 0) return this.#wait(call);
      this.#trySend(call);
    });
  }

  respond(id: number, reply: Reply): void {
    if (this.#closed) return;
    this.core.respond(id, reply, this.#hooks.now());
    this.#pump();
  }

  /** Graceful close: in-flight work drains (bounded by the core's close drain timeout). */
  close(): void {
    if (this.#closed) return;
    this.core.close(this.#hooks.now());
    this.#pump();
  }

  destroy(err?: Error): void {
    if (this.#closed) return;
    this.#input({ kind: 'transport-error', message: err?.message ?? 'destroyed locally' });
    this.conn.destroy(err);
  }

  // ------------------------------------------------------------------ internals

  #trySend(call: Call): void {
    const r = this.core.request({ type: call.type, payload: call.payload, timeoutMs: call.timeoutMs }, this.#hooks.now());
    if (r.ok) {
      call.sentAt = this.#hooks.now();
      this.#calls.set(r.id, call);
      this.#pump();
      return;
    }
    if (r.reason === 'too-many-in-flight' || r.reason === 'backpressure') return this.#wait(call);
    call.reject(
      r.reason === 'not-permitted'
        ? ScpError.io('this connection may not carry our requests (the peer accepted no PEX yet)')
        : ScpError.io('connection closed'),
    );
  }

  #wait(call: Call): void {
    if (this.#waiting.length >= MAX_WAITING) return call.reject(ScpError.limit('too many requests waiting for this peer'));
    this.#waiting.push(call);
  }

  #drainWaiting(): void {
    while (this.#waiting.length > 0 && !this.#closed) {
      const r = this.core.request({ type: this.#waiting[0]!.type, payload: this.#waiting[0]!.payload, timeoutMs: this.#waiting[0]!.timeoutMs }, this.#hooks.now());
      if (!r.ok) {
        if (r.reason === 'too-many-in-flight' || r.reason === 'backpressure') return;
        const err = ScpError.io('connection closed');
        for (const c of this.#waiting.splice(0)) c.reject(err);
        return;
      }
      const call = this.#waiting.shift()!;
      call.sentAt = this.#hooks.now();
      this.#calls.set(r.id, call);
    }
  }

  async #readLoop(): Promise<void> {
    const it = this.conn[Symbol.asyncIterator]();
    try {
      for (;;) {
        if (this.#paused) await new Promise<void>((r) => (this.#resume = r));
        if (this.#closed) return;
        const r = await it.next();
        if (this.#closed) return;
        if (r.done) {
          this.#input({ kind: 'eof' });
          return;
        }
        this.#input({ kind: 'bytes', data: r.value });
      }
    } catch (err) {
      if (!this.#closed) this.#input({ kind: 'transport-error', message: (err as Error)?.message ?? String(err) });
    }
  }

  #input(input: ConnectionInput): void {
    if (this.#closed) return;
    this.core.handle(input, this.#hooks.now());
    this.#pump();
  }

  #pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        this.#transmit();
        for (let e = this.core.pollEffect(); e !== undefined; e = this.core.pollEffect()) this.#effect(e);
        this.#transmit();
      } while (this.#again);
    } finally {
      this.#pumping = false;
    }
    this.#arm();
  }

  #transmit(): void {
    if (this.#writeBlocked || this.#closed) return;
    for (let b = this.core.pollTransmit(); b !== undefined; b = this.core.pollTransmit()) {
      let r: true | Promise<void>;
      try {
        const done = this.#hooks.afterWrite?.(b);
        r = done ? this.conn.write(b, done) : this.conn.write(b);
      } catch (err) {
        this.core.handle({ kind: 'transport-error', message: (err as Error).message }, this.#hooks.now());
        this.#again = true;
        return;
      }
      if (r !== true) {
        this.#writeBlocked = true;
        this.core.handle({ kind: 'write-blocked' }, this.#hooks.now());
        r.then(
          () => {
            this.#writeBlocked = false;
            if (this.#closed && this.core.state !== 'closed') return;
            this.core.handle({ kind: 'write-drained' }, this.#hooks.now());
            this.#pump();
          },
          () => {},
        );
        return;
      }
    }
  }

  #effect(e: ConnectionEffect): void {
    switch (e.kind) {
      case 'established': {
        const pk = e.session.remoteNodePubkey;
        this.pubkey = pk;
        this.pubkeyHex = toHex(pk);
        this.nodeId = toHex(nodeIdFromPubkey(pk));
        this.capabilities = e.session.remoteCapabilities;
        this.establishedAt = this.#hooks.now();
        if (this.dialedAddr) this.dialedAddr = { ...this.dialedAddr, pubkeyHint: pk };
        this.#settleEstablished();
        this.#hooks.onEstablished(this);
        return;
      }
      case 'inbound-request':
        this.#hooks.onInbound(this, e);
        return;
      case 'response': {
        const call = this.#calls.get(e.id);
        this.#calls.delete(e.id);
        if (call) {
          if (e.error !== undefined) call.reject(ScpError.remote(e.error, { type: call.type }));
          else call.resolve(e.envelope.payload);
        } else if (e.error === undefined) this.#frameLoan?.giveBack(e.envelope.payload); // the caller gave up (an error answer's frame went back in the core)
        this.#drainWaiting();
        return;
      }
      case 'request-failed': {
        const call = this.#calls.get(e.id);
        this.#calls.delete(e.id);
        call?.reject(e.error);
        this.#drainWaiting();
        return;
      }
      case 'backpressure':
        if (!e.blocked) this.#drainWaiting();
        return;
      case 'read-paused':
        this.#paused = e.paused;
        if (this.#readCtl) {
          if (e.paused) this.#readCtl.pause();
          else this.#readCtl.resume();
        } else if (!e.paused && this.#resume) {
          const r = this.#resume;
          this.#resume = undefined;
          r();
        }
        return;
      case 'requests-enabled':
        this.#hooks.onRequestsEnabled(this);
        return;
      case 'close':
        return this.#onClose(e.reason);
    }
  }

  #onClose(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    if (this.#timer !== undefined) this.#hooks.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const err = reason.error ?? ScpError.io(`connection closed (${reason.code})`);
    for (const c of this.#calls.values()) c.reject(err);
    this.#calls.clear();
    for (const c of this.#waiting.splice(0)) c.reject(err);
    this.#settleEstablished(closeError(reason));
    if (reason.graceful) void this.conn.close().catch(() => {});
    else this.conn.destroy();
    const r = this.#resume;
    this.#resume = undefined;
    r?.();
    this.#hooks.onClosed(this, reason);
  }

  #arm(): void {
    if (this.#closed) return;
    const d = this.core.nextDeadline();
    if (d === undefined) return;
    if (this.#timer !== undefined && this.#armedAt <= d) return;
    if (this.#timer !== undefined) this.#hooks.clock.clearTimeout(this.#timer);
    this.#armedAt = d;
    this.#timer = this.#hooks.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#armedAt = Infinity;
      this.core.handleTimeout(this.#hooks.now());
      this.#pump();
    }, Math.max(0, d - this.#hooks.now()) + 1);
  }
}

/** The error a dial or connect caller sees when the connection ended before (or during) the handshake. */
export function closeError(reason: CloseReason): ScpError {
  if (reason.code === 'handshake-failed') {
    const why = reason.error?.message ?? reason.handshakeFailure ?? 'handshake failed';
    return new ProtocolError(`SCP2P handshake refused (${reason.handshakeFailure ?? 'failed'}): ${why}`, 'handshake');
  }
  if (reason.code === 'handshake-timeout') return ScpError.timeout('SCP2P handshake', 10_000);
  return reason.error instanceof ScpError ? reason.error : ScpError.io(`connection closed during the handshake (${reason.code})`);
}
