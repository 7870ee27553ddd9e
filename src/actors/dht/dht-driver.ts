/**
 * Runs a DhtCore against a real session (quinn's `drive_transmit` shell): executes the core's effects,
 * feeds answers and failures back, keeps one timer armed at `nextDeadline()`, and turns op ids into promises.
 * Encoding and decoding go through protocol/dht-messages.ts; the driver makes no protocol decisions beyond
 * when to bootstrap (a self-lookup while the routing table is nearly empty).
 *
 * Components are injected (core, clock, session port) so tests run it with a fake session and a ManualClock.
 */
import { ScpError } from '../../errors.js';
import type { PeerRef, WireReply, WireRequest } from '../../messages/wire.js';
import { fromHex } from '../../protocol/bytes.js';
import {
  findNodeCodec,
  findNodeResultCodec,
  findValueCodec,
  findValueResultCodec,
  storeCodec,
} from '../../protocol/dht-messages.js';
import type { PeerAddr } from '../../protocol/peer-addr.js';
import { ErrorText, MessageType } from '../../protocol/registry.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { DhtCore, DhtEffect } from './dht-core.js';
import type { LookupKind, LookupResult } from './iterative-lookup.js';
import { QUERY_TIMEOUT_MS } from './iterative-lookup.js';
import { K } from './routing-table.js';
import type { DhtErrorReply, DhtReply, DhtRequest, DhtResponse } from './types.js';

/** The two session calls the DHT needs (src/messages/session-mailbox.ts `request` and `contacts`). */
export interface DhtSessionPort {
  request(to: PeerAddr, messageType: number, payload: Uint8Array, timeoutMs: number): Promise<{ payload: Uint8Array; from: PeerRef }>;
  /** Peers to seed lookups with: connected first, pubkey hints where known. */
  contacts(limit: number): Promise<PeerAddr[]>;
}

export interface DhtDriverComponents {
  core: DhtCore;
  clock: Clock;
  session: DhtSessionPort;
  /** Called after anything that may have changed the routing table or the values (persistence debounce). */
  onChange?: () => void;
  /** Each user lookup as it ends (metrics: DhtLookupCompleted); `ok` = it found what it looked for. */
  onLookup?: (kind: LookupKind, ms: number, ok: boolean) => void;
}

export interface DhtDriverInit {
  queryTimeoutMs?: number;
  pingTimeoutMs?: number;
  /** Bootstrap (self-lookup) when a contact arrives and the table holds fewer entries than this. */
  bootstrapBelow?: number;
  /** At most one bootstrap per this interval. */
  bootstrapCooldownMs?: number;
  /** How long a `session.contacts` answer is reused as lookup seeds. */
  seedCacheMs?: number;
}

export type StoreDone = Extract<DhtEffect, { kind: 'store-done' }>;
type Completion = Extract<DhtEffect, { kind: 'lookup-done' | 'store-done' }>;

interface Waiter {
  resolve(e: Completion): void;
  reject(err: unknown): void;
}

const TYPE_OF: Record<DhtRequest['type'], number> = {
  'find-node': MessageType.FIND_NODE,
  'find-value': MessageType.FIND_VALUE,
  store: MessageType.STORE,
};

export function encodeDhtRequest(r: DhtRequest): { messageType: number; payload: Uint8Array } {
  switch (r.type) {
    case 'find-node':
      return { messageType: TYPE_OF[r.type], payload: findNodeCodec.encode(r.msg) };
    case 'find-value':
      return { messageType: TYPE_OF[r.type], payload: findValueCodec.encode(r.msg) };
    case 'store':
      return { messageType: TYPE_OF[r.type], payload: storeCodec.encode(r.msg) };
  }
}

/** Decodes an inbound request; throws ProtocolError on bad bytes, returns undefined for a type we do not own. */
export function decodeDhtRequest(messageType: number, payload: Uint8Array): DhtRequest | undefined {
  switch (messageType) {
    case MessageType.FIND_NODE:
      return { type: 'find-node', msg: findNodeCodec.decode(payload) };
    case MessageType.FIND_VALUE:
      return { type: 'find-value', msg: findValueCodec.decode(payload) };
    case MessageType.STORE:
      return { type: 'store', msg: storeCodec.decode(payload) };
    default:
      return undefined;
  }
}

export function encodeDhtReply(r: DhtReply): WireReply {
  switch (r.type) {
    case 'find-node':
      return { payload: findNodeResultCodec.encode(r.msg) };
    case 'find-value':
      return { payload: findValueResultCodec.encode(r.msg) };
    case 'store':
      return { payload: new Uint8Array(0) };
    case 'error':
      return { error: r.wireText };
  }
}

export function decodeDhtResponse(kind: DhtRequest['type'], payload: Uint8Array): DhtResponse {
  switch (kind) {
    case 'find-node':
      return { type: 'find-node', msg: findNodeResultCodec.decode(payload) };
    case 'find-value':
      return { type: 'find-value', msg: findValueResultCodec.decode(payload) };
    case 'store':
      return { type: 'store' };
  }
}

/** A peer's error text as the core's typed error reply (the code is only for metrics; the text is what counts). */
export function errorReplyOf(text: string): DhtErrorReply {
  const t = text.toLowerCase();
  const code: DhtErrorReply['code'] = t.includes('rate limit')
    ? 'RATE_LIMITED'
    : t.includes('quota')
      ? 'QUOTA'
      : t.includes('64kib')
        ? 'TOO_LARGE'
        : t.includes('full')
          ? 'STORE_FULL'
          : t.includes('rollback')
            ? 'ROLLBACK'
            : 'INVALID_VALUE';
  return { type: 'error', code, wireText: text };
}

/**
 * Who sent an inbound request, as the core wants it: the dialable address with the handshake key as hint
 * when the session knows one, otherwise the socket address (not dialable: an ephemeral port).
 */
export function senderOf(from: PeerRef): { addr: PeerAddr; dialable: boolean } {
  const pubkeyHint = fromHex(from.pubkey, 32);
  if (from.addr) return { addr: { ...from.addr, pubkeyHint }, dialable: true };
  const i = from.remote.lastIndexOf(':');
  const ip = i > 0 ? from.remote.slice(0, i).replace(/^\[|\]$/g, '') : '0.0.0.0';
  const port = i > 0 ? Number(from.remote.slice(i + 1)) : 0;
  return { addr: { ip, port: Number.isInteger(port) ? port : 0, transport: from.transport, pubkeyHint }, dialable: false };
}

export class DhtDriver {
  readonly core: DhtCore;
  private readonly clock: Clock;
  private readonly session: DhtSessionPort;
  private readonly onChange: () => void;
  private readonly onLookup: DhtDriverComponents['onLookup'];
  private readonly queryTimeoutMs: number;
  private readonly pingTimeoutMs: number;
  private readonly bootstrapBelow: number;
  private readonly bootstrapCooldownMs: number;
  private readonly seedCacheMs: number;
  private readonly waiters = new Map<number, Waiter>();
  private readonly inboundWaiters = new Map<number, (r: DhtReply) => void>();
  private nextInbound = 1;
  private timer: TimerHandle | undefined;
  private timerAt: number | undefined;
  private bootstrapping: Promise<LookupResult> | undefined;
  private lastBootstrapAt = -Infinity;
  private contactDuringBootstrap = false;
  private seedsAt = -Infinity;
  private seedsLoading: Promise<void> | undefined;
  private stopped = false;
  /** User lookups started (stats). */
  lookups = 0;

  constructor(components: DhtDriverComponents, init: DhtDriverInit = {}) {
    this.core = components.core;
    this.clock = components.clock;
    this.session = components.session;
    this.onChange = components.onChange ?? (() => {});
    this.onLookup = components.onLookup;
    this.queryTimeoutMs = init.queryTimeoutMs ?? QUERY_TIMEOUT_MS;
    this.pingTimeoutMs = init.pingTimeoutMs ?? 1_500;
    this.bootstrapBelow = init.bootstrapBelow ?? K;
    this.bootstrapCooldownMs = init.bootstrapCooldownMs ?? 2_000;
    this.seedCacheMs = init.seedCacheMs ?? 2_000;
  }

  // ------------------------------------------------------------------------------------------ operations

  /** Runs a lookup command (`start` returns its op id) and resolves with its result. */
  async lookup(start: (now: number) => number): Promise<LookupResult> {
    await this.loadSeeds();
    this.lookups++;
    const t0 = this.clock.now();
    const done = await this.run(start);
    if (done.kind !== 'lookup-done') throw ScpError.internal('dht: a lookup completed as a store');
    const r = done.result;
    this.onLookup?.(r.kind, this.clock.now() - t0, r.kind === 'node' ? r.closest.length > 0 : r.value !== undefined);
    return r;
  }

  /** Runs a put/store command and resolves once the STOREs are acknowledged or failed. */
  async store(start: (now: number) => number): Promise<StoreDone> {
    await this.loadSeeds();
    const done = await this.run(start);
    if (done.kind !== 'store-done') throw ScpError.internal('dht: a store completed as a lookup');
    return done;
  }

  /** Self-lookup seeded from the session's contacts (joins or re-joins the network). One at a time. */
  bootstrap(): Promise<LookupResult> {
    if (this.bootstrapping) return this.bootstrapping;
    this.lastBootstrapAt = this.clock.now();
    this.contactDuringBootstrap = false;
    const p = (async () => {
      const seeds = await this.session.contacts(2 * K).catch(() => [] as PeerAddr[]);
      this.seedsAt = this.clock.now();
      // Nothing to join yet: do not let the cooldown hold back the bootstrap the first contact triggers.
      if (seeds.length === 0 && this.core.table.size === 0) this.lastBootstrapAt = -Infinity;
      const done = await this.run((now) => this.core.bootstrap(seeds, now));
      this.onChange();
      return (done as Extract<Completion, { kind: 'lookup-done' }>).result;
    })();
    this.bootstrapping = p;
    const clear = (): void => {
      if (this.bootstrapping !== p) return;
      this.bootstrapping = undefined;
      // A contact that arrived while we were joining may know more than the seeds we had.
      if (this.contactDuringBootstrap && this.core.table.size < this.bootstrapBelow) {
        this.lastBootstrapAt = -Infinity;
        this.bootstrapIfSparse();
      }
    };
    p.then(clear, clear);
    return p;
  }

  /** The table is nearly empty and no bootstrap ran lately: join again. */
  bootstrapIfSparse(): void {
    if (this.stopped) return;
    if (this.bootstrapping) {
      this.contactDuringBootstrap = true;
      return;
    }
    if (this.core.table.size >= this.bootstrapBelow) return;
    if (this.clock.now() - this.lastBootstrapAt < this.bootstrapCooldownMs) return;
    this.bootstrap().catch(() => undefined);
  }

  /** An authenticated peer with a dialable address (a handshake completed). */
  contact(addr: PeerAddr): void {
    if (this.stopped) return;
    this.core.handle({ type: 'contact', addr }, this.clock.now());
    this.pump();
    this.onChange();
    this.bootstrapIfSparse();
  }

  /** An inbound FIND_NODE / FIND_VALUE / STORE routed here by the session. */
  inbound(req: WireRequest): Promise<WireReply> {
    let request: DhtRequest | undefined;
    try {
      request = decodeDhtRequest(req.messageType, req.payload);
    } catch (e) {
      return Promise.resolve({ error: e instanceof Error ? e.message : String(e) });
    }
    if (!request) return Promise.resolve({ error: ErrorText.UNSUPPORTED_MESSAGE_TYPE });
    if (this.stopped) return Promise.reject(ScpError.actorUnavailable('dht', 'stopping'));
    const { addr, dialable } = senderOf(req.from);
    const inboundId = this.nextInbound++;
    const reply = new Promise<DhtReply>((resolve) => this.inboundWaiters.set(inboundId, resolve));
    this.core.handle({ type: 'inbound', inboundId, from: addr, dialable, request }, this.clock.now());
    this.pump();
    if (request.type === 'store' || dialable) this.onChange();
    return reply.then(encodeDhtReply);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const err = ScpError.actorUnavailable('dht', 'stopping');
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
  }

  // ------------------------------------------------------------------------------------------ seeds

  /** Seeds for lookups: the session's contacts (connected first), refreshed at most every seedCacheMs. */
  private loadSeeds(): Promise<void> {
    if (this.clock.now() - this.seedsAt < this.seedCacheMs) return Promise.resolve();
    this.seedsLoading ??= (async () => {
      try {
        const seeds = await this.session.contacts(2 * K);
        this.seedsAt = this.clock.now();
        this.core.setSeeds(seeds);
        const now = this.clock.now();
        for (const s of seeds) if (s.pubkeyHint) this.core.handle({ type: 'contact', addr: s }, now);
        this.pump();
      } catch {
        /* no session yet: the routing table alone seeds the lookup */
      } finally {
        this.seedsLoading = undefined;
      }
    })();
    return this.seedsLoading;
  }

  // ------------------------------------------------------------------------------------------ effect loop

  private run(start: (now: number) => number): Promise<Completion> {
    if (this.stopped) return Promise.reject(ScpError.actorUnavailable('dht', 'stopping'));
    const opId = start(this.clock.now());
    const p = new Promise<Completion>((resolve, reject) => this.waiters.set(opId, { resolve, reject }));
    this.pump();
    return p;
  }

  private pump(): void {
    for (let e = this.core.pollEffect(); e; e = this.core.pollEffect()) this.execute(e);
    this.arm();
  }

  private execute(e: DhtEffect): void {
    switch (e.kind) {
      case 'request':
        return this.sendRequest(e.requestId, e.peer, e.request);
      case 'reply': {
        const w = this.inboundWaiters.get(e.inboundId);
        this.inboundWaiters.delete(e.inboundId);
        w?.(e.reply);
        return;
      }
      case 'ping':
        return this.ping(e.pingId, e.peer);
      case 'lookup-done':
      case 'store-done': {
        const w = this.waiters.get(e.opId);
        this.waiters.delete(e.opId);
        w?.resolve(e);
        return;
      }
    }
  }

  private sendRequest(requestId: number, peer: PeerAddr, request: DhtRequest): void {
    let wire: { messageType: number; payload: Uint8Array };
    try {
      wire = encodeDhtRequest(request);
    } catch (err) {
      this.feedLater({ type: 'request-failed', requestId, reason: String(err) });
      return;
    }
    this.session.request(peer, wire.messageType, wire.payload, this.queryTimeoutMs).then(
      ({ payload, from }) => {
        let response: DhtResponse;
        try {
          response = decodeDhtResponse(request.type, payload);
        } catch (err) {
          this.feed({ type: 'request-failed', requestId, reason: `bad answer: ${String(err)}` });
          return;
        }
        this.feed({ type: 'response', requestId, responderPubkey: fromHex(from.pubkey, 32), response });
      },
      (err: unknown) => {
        const text = remoteText(err);
        if (text !== undefined) this.feed({ type: 'response', requestId, responderPubkey: null, response: errorReplyOf(text) });
        else this.feed({ type: 'request-failed', requestId, reason: err instanceof Error ? err.message : String(err) });
      },
    );
  }

  /** Liveness probe: a FIND_NODE for our own id with a short timeout; any answer (even an error) is alive. */
  private ping(pingId: number, peer: PeerAddr): void {
    const payload = findNodeCodec.encode({ targetNodeId: this.core.localId });
    this.session.request(peer, MessageType.FIND_NODE, payload, this.pingTimeoutMs).then(
      () => this.feed({ type: 'ping-result', pingId, alive: true }),
      (err: unknown) => this.feed({ type: 'ping-result', pingId, alive: remoteText(err) !== undefined }),
    );
  }

  private feed(input: Parameters<DhtCore['handle']>[0]): void {
    if (this.stopped) return;
    this.core.handle(input, this.clock.now());
    this.pump();
    if (input.type === 'response' && input.responderPubkey) this.onChange();
  }

  private feedLater(input: Parameters<DhtCore['handle']>[0]): void {
    queueMicrotask(() => this.feed(input));
  }

  /** One real timer, at the core's next deadline. */
  private arm(): void {
    if (this.stopped) return;
    const at = this.core.nextDeadline();
    if (at === this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      if (this.stopped) return;
      this.core.handleTimeout(this.clock.now());
      this.pump();
    }, Math.max(0, at - this.clock.now()));
  }
}

/** The peer's error text when the session reports an error envelope (ScpError REMOTE), else undefined. */
function remoteText(err: unknown): string | undefined {
  if (err instanceof ScpError && err.code === 'REMOTE') {
    const t = err.details?.text;
    return typeof t === 'string' ? t : err.message;
  }
  // Errors that crossed a thread boundary may arrive as plain { code, details } objects.
  const e = err as { code?: unknown; details?: { text?: unknown } } | null;
  if (e && e.code === 'REMOTE') return typeof e.details?.text === 'string' ? e.details.text : '';
  return undefined;
}
