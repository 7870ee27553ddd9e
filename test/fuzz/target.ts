/**
 * The session's decode and dispatch path without sockets: a responder ConnectionCore (handshake, framing,
 * envelope decode, rate limiter, routing, payload decode, answer ordering, bounds) wired to the real owners
 * (owners.ts), exactly as session-manager wires it to actor ports. An attacker initiator core completes a
 * genuine handshake; after that the campaign writes raw bytes into the responder as a hostile peer would.
 *
 * A "crash" is any exception escaping the core or an owner, or a broken bound (bytes queued or buffered past
 * the limits, more requests held than allowed): those are what would take a session actor down or let a peer
 * grow our memory.
 */
import { randomBytes } from 'node:crypto';
import { ConnectionCore, type CloseCode, type ConnectionLimits } from '../../src/actors/session/connection-core.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/actors/session/connection-types.js';
import { NODE_RATE_LIMITS, RateLimiter, type RateLimits } from '../../src/actors/session/rate-limiter.js';
import type { PeerRef } from '../../src/messages/wire.js';
import { toHex } from '../../src/protocol/bytes.js';
import { NonceTracker } from '../../src/protocol/handshake.js';
import { nodeIdFromPubkey } from '../../src/protocol/ids.js';
import { publicKeyFromSeed } from '../../src/protocol/keys.js';
import { NO_CAPABILITIES } from '../../src/protocol/peer-addr.js';
import type { InProcessOwners } from './owners.js';

export const T0 = 1_700_000_000_000;
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** The campaign raises the per-identity limits (as the live run does by config) so floods reach the owners. */
export const RAISED_RATE_LIMITS: Partial<RateLimits> = { total: 10_000_000, dht: 10_000_000, fetch: 10_000_000, relay: 10_000_000, chunk: 10_000_000, other: 10_000_000 };

export class FuzzFinding extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

export interface TargetStats {
  frames: number;
  answers: number;
  errorAnswers: number;
  closes: Map<CloseCode, number>;
}

export function newStats(): TargetStats {
  return { frames: 0, answers: 0, errorAnswers: 0, closes: new Map() };
}

/** One hostile connection into our responder, after a genuine handshake. */
export class InProcessConnection {
  readonly core: ConnectionCore;
  closed: CloseCode | undefined;
  now: number;
  readonly #owners: InProcessOwners;
  readonly #stats: TargetStats;
  readonly #from: PeerRef;
  readonly #connId: number;
  readonly #limits: ConnectionLimits;

  constructor(opts: {
    owners: InProcessOwners;
    stats: TargetStats;
    limiter: RateLimiter;
    nonces: NonceTracker;
    selfSeed: Uint8Array;
    attackerSeed: Uint8Array;
    connId: number;
    now: number;
    limits?: Partial<ConnectionLimits>;
  }) {
    this.#owners = opts.owners;
    this.#stats = opts.stats;
    this.#connId = opts.connId;
    this.now = opts.now;
    this.#limits = { ...DEFAULT_CONNECTION_LIMITS, ...opts.limits };
    const attacker = new ConnectionCore({ randomBytes: rnd }, { role: 'initiator', nodeSeed: opts.attackerSeed, capabilities: NO_CAPABILITIES });
    this.core = new ConnectionCore(
      { randomBytes: rnd, nonceTracker: opts.nonces, rateLimiter: opts.limiter },
      { role: 'responder', nodeSeed: opts.selfSeed, capabilities: { ...NO_CAPABILITIES, dht: true, contentSeed: true }, limits: this.#limits, responderRequests: 'explicit' },
    );
    const pub = publicKeyFromSeed(opts.attackerSeed);
    this.#from = {
      nodeId: toHex(nodeIdFromPubkey(pub)),
      pubkey: toHex(pub),
      remote: `203.0.113.7:${40_000 + (opts.connId % 20_000)}`,
      transport: 'tcp',
      relayed: false,
      addr: null,
      capabilities: NO_CAPABILITIES,
      connId: opts.connId,
    };
    // The genuine handshake, shuttled by hand.
    this.core.start(this.now);
    attacker.start(this.now);
    for (let moved = true; moved; ) {
      moved = false;
      for (let t = attacker.pollTransmit(); t; t = attacker.pollTransmit()) {
        this.core.handle({ kind: 'bytes', data: t }, this.now);
        moved = true;
      }
      for (let t = this.core.pollTransmit(); t; t = this.core.pollTransmit()) {
        attacker.handle({ kind: 'bytes', data: t }, this.now);
        moved = true;
      }
    }
    while (attacker.pollEffect());
    for (let e = this.core.pollEffect(); e; e = this.core.pollEffect()) if (e.kind === 'close') this.closed = e.reason.code;
    if (this.core.state !== 'open') throw new Error(`fuzz handshake did not complete: ${this.core.state} ${this.closed ?? ''}`);
  }

  /** Writes `bytes` as the hostile peer and runs every effect to completion (owners answer, answers go out). */
  async feed(bytes: Uint8Array): Promise<void> {
    if (this.closed) return;
    this.now += 1;
    this.#stats.frames++;
    this.#guard(() => this.core.handle({ kind: 'bytes', data: bytes }, this.now), 'handle(bytes)');
    await this.#settle();
  }

  /** Lets virtual time pass (handler, frame, idle timeouts), then settles. */
  async advance(ms: number): Promise<void> {
    if (this.closed) return;
    this.now += ms;
    this.#guard(() => this.core.handleTimeout(this.now), 'handleTimeout');
    await this.#settle();
  }

  /** The peer closed its side. */
  async eof(): Promise<void> {
    if (this.closed) return;
    this.#guard(() => this.core.handle({ kind: 'eof' }, this.now), 'handle(eof)');
    await this.#settle();
    if (!this.closed) await this.advance(this.#limits.closeDrainTimeoutMs + this.#limits.inboundHandlerTimeoutMs + 1);
  }

  async #settle(): Promise<void> {
    for (let round = 0; round < 10_000; round++) {
      let moved = false;
      for (let t = this.core.pollTransmit(); t !== undefined; t = this.core.pollTransmit()) {
        moved = true;
        this.#stats.answers++;
      }
      for (let e = this.core.pollEffect(); e !== undefined; e = this.core.pollEffect()) {
        moved = true;
        if (e.kind === 'close') {
          this.closed = e.reason.code;
          this.#stats.closes.set(e.reason.code, (this.#stats.closes.get(e.reason.code) ?? 0) + 1);
        } else if (e.kind === 'inbound-request') {
          let reply;
          try {
            reply = await this.#owners.answer({ owner: e.owner, reqId: e.reqId, request: e.request, payload: e.payload, from: this.#from, connId: this.#connId }, this.now);
          } catch (err) {
            throw new FuzzFinding(`owner ${e.owner} threw on type ${e.request.type}: ${(err as Error).message}`, err);
          }
          if (reply) {
            if ('error' in reply) this.#stats.errorAnswers++;
            this.#guard(() => this.core.respond(e.id, reply, this.now), 'respond');
          }
        }
      }
      this.#checkBounds();
      if (!moved) return;
    }
    throw new FuzzFinding('the connection did not settle in 10,000 rounds', undefined);
  }

  #checkBounds(): void {
    const c = this.core;
    const l = this.#limits;
    // Answers can overshoot the queue cap by one maximal frame: the cap pauses reading, it does not cut an answer.
    if (c.queuedBytes > l.maxQueuedOutboundBytes + 2 * 1024 * 1024 + 64) throw new FuzzFinding(`queued ${c.queuedBytes} outbound bytes`, undefined);
    if (c.bufferedInboundBytes > l.maxBufferedInboundBytes + 2 * 1024 * 1024 + 64) throw new FuzzFinding(`buffered ${c.bufferedInboundBytes} inbound bytes`, undefined);
    if (c.inboundInFlight > l.maxInboundInFlight) throw new FuzzFinding(`${c.inboundInFlight} inbound requests held`, undefined);
  }

  #guard(f: () => unknown, where: string): void {
    try {
      f();
    } catch (err) {
      throw new FuzzFinding(`ConnectionCore.${where} threw: ${(err as Error).message}`, err);
    }
  }
}

/** Our node's side of many hostile connections: one identity, one listener-wide rate limiter and nonce tracker. */
export class InProcessNode {
  readonly selfSeed = rnd(32);
  readonly limiter: RateLimiter;
  readonly nonces = new NonceTracker();
  readonly stats = newStats();
  readonly limits: Partial<ConnectionLimits> | undefined;
  #connId = 1;
  now = T0;

  constructor(
    readonly owners: InProcessOwners,
    opts: { rateLimits?: Partial<RateLimits>; limits?: Partial<ConnectionLimits> } = {},
  ) {
    this.limiter = new RateLimiter({ limits: { ...NODE_RATE_LIMITS, ...opts.rateLimits } });
    this.limits = opts.limits;
  }

  connect(attackerSeed: Uint8Array = rnd(32)): InProcessConnection {
    this.now += 1_000;
    const c = new InProcessConnection({
      owners: this.owners,
      stats: this.stats,
      limiter: this.limiter,
      nonces: this.nonces,
      selfSeed: this.selfSeed,
      attackerSeed,
      connId: this.#connId++,
      now: this.now,
      ...(this.limits ? { limits: this.limits } : {}),
    });
    return c;
  }

  /** Carries the connection's clock back to the node's (connections run one after another). */
  release(c: InProcessConnection): void {
    this.now = Math.max(this.now, c.now);
  }
}
