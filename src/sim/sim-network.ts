/**
 * Deterministic in-process network for the DHT (quinn's test `Pair`, extended to N nodes): a virtual clock,
 * per-link latency, message loss, churn, adversarial behaviours and one seeded PRNG. Every node runs the real
 * `DhtCore`; the simulator only executes its effects (requests, replies, pings) by moving typed messages
 * between cores with a delay. `step()` jumps to the next delivery or the earliest node deadline;
 * `runUntilIdle(maxSteps)` is bounded. Same seed, same run: failures print the seed so they replay.
 *
 * It lives in src/sim/ (not test/) so the bench can import it from dist/; test/sim/sim-network.ts re-exports it.
 * Messages stay decoded (the wire codecs are tested by their own vectors); adversaries rewrite them at this level.
 */
import { DhtCore, type DhtCoreInit, type DhtEffect } from '../actors/dht/dht-core.js';
import type { LookupResult } from '../actors/dht/iterative-lookup.js';
import type { DhtReply, DhtRequest } from '../actors/dht/types.js';
import { createRandom, type Random } from '../actors/runtime/random.js';
import { peerAddrKey, type PeerAddr } from '../protocol/peer-addr.js';
import { EventQueue } from './event-queue.js';

/**
 * honest: plain core. stalling: answers pings, never answers requests. lying: names fabricated peers (random
 * hints at live addresses), hides values, acks STOREs without storing. garbage: answers with random values,
 * wrong keys and malformed peers. sybil: one of a colluding group: names only fellow sybils, hides values,
 * acks STOREs without storing, and pushes itself into honest tables by querying them.
 */
export type Behavior = 'honest' | 'stalling' | 'lying' | 'garbage' | 'sybil';

export interface SimNode {
  index: number;
  pubkey: Uint8Array;
  addr: PeerAddr;
  core: DhtCore;
  behavior: Behavior;
  online: boolean;
  timerAt: number | undefined;
  done: Map<number, Extract<DhtEffect, { kind: 'lookup-done' | 'store-done' }>>;
}

export interface SimInit {
  seed: number;
  /** One-way latency range per link (ms); each link gets a fixed value in the range. */
  latencyMs?: [number, number];
  /** Probability that any one message is lost. */
  loss?: number;
  dht?: Omit<DhtCoreInit, 'localPubkey'>;
}

type Event =
  | { kind: 'request'; to: number; from: number; requestId: number; request: DhtRequest }
  | { kind: 'response'; to: number; from: number; requestId: number; reply: DhtReply }
  | { kind: 'ping-result'; to: number; pingId: number; alive: boolean }
  | { kind: 'timer'; to: number };

export interface SimStats {
  messages: number;
  lost: number;
  steps: number;
}

export class SimNetwork {
  readonly seed: number;
  readonly random: Random;
  readonly nodes: SimNode[] = [];
  readonly stats: SimStats = { messages: 0, lost: 0, steps: 0 };
  time = 0;
  private readonly queue = new EventQueue<Event>();
  private readonly byAddr = new Map<string, number>();
  private readonly latency: [number, number];
  private readonly loss: number;
  private readonly dhtInit: Omit<DhtCoreInit, 'localPubkey'>;
  private inflight = 0;
  private nextInbound = 1;
  private readonly inbound = new Map<number, { from: number; requestId: number; to: number; request: DhtRequest }>();

  constructor(init: SimInit) {
    this.seed = init.seed;
    this.random = createRandom(init.seed);
    this.latency = init.latencyMs ?? [10, 80];
    this.loss = init.loss ?? 0;
    this.dhtInit = init.dht ?? {};
  }

  /** Adds a node (offline until bootstrapped). IPs are public-looking and mostly in distinct /24s. */
  addNode(behavior: Behavior = 'honest', ip?: string): SimNode {
    const index = this.nodes.length;
    const pubkey = this.bytes(32);
    // Sybils are one operator's machines: a handful of /24s (what the per-subnet limits are there for).
    const sybilIp = (): string => `${200 + this.random.int(4)}.1.1.${1 + this.random.int(254)}`;
    const addr: PeerAddr = { ip: ip ?? (behavior === 'sybil' ? sybilIp() : this.randomPublicIp()), port: 7001 + this.random.int(1000), transport: 'tcp', pubkeyHint: pubkey };
    const core = new DhtCore({ random: this.random.fork(`node-${index}`) }, { ...this.dhtInit, localPubkey: pubkey });
    const node: SimNode = { index, pubkey, addr, core, behavior, online: true, timerAt: undefined, done: new Map() };
    this.nodes.push(node);
    this.byAddr.set(peerAddrKey(addr), index);
    return node;
  }

  /** Bootstraps `node` through `via` (FIND_NODE on its own id) and returns the op id. */
  bootstrap(node: SimNode, via: SimNode[]): number {
    node.online = true;
    const op = node.core.bootstrap(via.map((v) => v.addr), this.time);
    this.drain(node);
    return op;
  }

  /** Runs a command on a node and drives the network until its completion effect appears. */
  run<T extends 'lookup-done' | 'store-done'>(node: SimNode, start: (core: DhtCore, now: number) => number, maxSteps = 1_000_000): Extract<DhtEffect, { kind: T }> | undefined {
    const op = start(node.core, this.time);
    this.drain(node);
    for (let i = 0; i < maxSteps && !node.done.has(op); i++) if (!this.step()) break;
    const r = node.done.get(op);
    node.done.delete(op);
    return r as Extract<DhtEffect, { kind: T }> | undefined;
  }

  lookup(node: SimNode, start: (core: DhtCore, now: number) => number): LookupResult | undefined {
    return this.run<'lookup-done'>(node, start)?.result;
  }

  setOnline(node: SimNode, online: boolean): void {
    node.online = online;
    if (online) this.drain(node);
  }

  online(): SimNode[] {
    return this.nodes.filter((n) => n.online);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.random.int(xs.length)]!;
  }

  /** Processes the earliest event. False when nothing is scheduled. */
  step(): boolean {
    const ev = this.queue.pop();
    if (!ev) return false;
    this.time = Math.max(this.time, ev.at);
    this.stats.steps++;
    const e = ev.value;
    if (e.kind !== 'timer') this.inflight--;
    const node = this.nodes[e.to]!;
    if (e.kind === 'timer') {
      if (node.timerAt !== ev.at) return true;
      node.timerAt = undefined;
    }
    if (!node.online) return true;
    switch (e.kind) {
      case 'timer':
        node.core.handleTimeout(this.time);
        break;
      case 'request':
        this.onRequest(node, e);
        break;
      case 'response':
        node.core.handle({ type: 'response', requestId: e.requestId, responderPubkey: this.nodes[e.from]!.pubkey, response: e.reply }, this.time);
        break;
      case 'ping-result':
        node.core.handle({ type: 'ping-result', pingId: e.pingId, alive: e.alive }, this.time);
        break;
    }
    this.drain(node);
    return true;
  }

  /** Steps until no message is in flight and no online node has a request or operation pending. */
  runUntilIdle(maxSteps = 10_000_000): number {
    let n = 0;
    for (; n < maxSteps; n++) {
      if (this.inflight === 0 && this.nodes.every((x) => !x.online || x.core.idle)) return n;
      if (!this.step()) return n;
    }
    throw new Error(`sim did not go idle within ${maxSteps} steps (seed ${this.seed})`);
  }

  /** Advances virtual time by `ms`, processing everything due. */
  runFor(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const at = this.queue.peekAt();
      if (at === undefined || at > until) break;
      this.step();
    }
    this.time = until;
  }

  // ---------------------------------------------------------------------------------------------- effects

  private drain(node: SimNode): void {
    for (let e = node.core.pollEffect(); e; e = node.core.pollEffect()) this.execute(node, e);
    const d = node.core.nextDeadline();
    if (d !== undefined && (node.timerAt === undefined || d < node.timerAt)) {
      node.timerAt = Math.max(d, this.time);
      this.queue.push(node.timerAt, { kind: 'timer', to: node.index });
    }
  }

  private execute(node: SimNode, e: DhtEffect): void {
    switch (e.kind) {
      case 'request': {
        const to = this.byAddr.get(peerAddrKey(e.peer));
        this.send(node.index, to, { kind: 'request', to: to ?? -1, from: node.index, requestId: e.requestId, request: e.request });
        return;
      }
      case 'reply': {
        const inb = this.inbound.get(e.inboundId);
        if (!inb) return;
        this.inbound.delete(e.inboundId);
        const reply = this.adversarialReply(node, inb.request, e.reply);
        if (reply) this.send(node.index, inb.from, { kind: 'response', to: inb.from, from: node.index, requestId: inb.requestId, reply });
        return;
      }
      case 'ping': {
        const to = this.byAddr.get(peerAddrKey(e.peer));
        const target = to === undefined ? undefined : this.nodes[to];
        // A ping is a connect probe: any process at the address answers (stalling nodes too); dead ones time out.
        if (target?.online) {
          this.inflight++;
          this.queue.push(this.time + 2 * this.linkLatency(node.index, target.index), { kind: 'ping-result', to: node.index, pingId: e.pingId, alive: true });
        }
        return;
      }
      case 'lookup-done':
      case 'store-done':
        node.done.set(e.opId, e);
        return;
    }
  }

  private send(from: number, to: number | undefined, ev: Event): void {
    this.stats.messages++;
    if (to === undefined || to < 0 || !this.nodes[to]!.online) return; // nobody there: the sender times out
    if (this.loss > 0 && this.random.next() < this.loss) {
      this.stats.lost++;
      return;
    }
    this.inflight++;
    this.queue.push(this.time + this.linkLatency(from, to), ev);
  }

  private onRequest(node: SimNode, e: Extract<Event, { kind: 'request' }>): void {
    if (node.behavior === 'stalling') return;
    const from = this.nodes[e.from]!;
    const inboundId = this.nextInbound++;
    this.inbound.set(inboundId, { from: e.from, requestId: e.requestId, to: node.index, request: e.request });
    if ((node.behavior === 'lying' || node.behavior === 'sybil') && e.request.type === 'store') {
      // Ack without storing.
      this.inbound.delete(inboundId);
      this.send(node.index, e.from, { kind: 'response', to: e.from, from: node.index, requestId: e.requestId, reply: { type: 'store' } });
      return;
    }
    node.core.handle({ type: 'inbound', inboundId, from: from.addr, dialable: true, request: e.request }, this.time);
  }

  private adversarialReply(node: SimNode, req: DhtRequest, reply: DhtReply): DhtReply | undefined {
    switch (node.behavior) {
      case 'honest':
        return reply;
      case 'stalling':
        return undefined;
      case 'lying': {
        // Real addresses of live nodes under fabricated identities: the responder check must catch them.
        const peers = Array.from({ length: 20 }, () => ({ ...this.pick(this.nodes).addr, pubkeyHint: this.bytes(32) }));
        if (req.type === 'find-node') return { type: 'find-node', msg: { peers } };
        if (req.type === 'find-value') return { type: 'find-value', msg: { value: null, closerPeers: peers } };
        return reply;
      }
      case 'garbage': {
        const peers: PeerAddr[] = Array.from({ length: 40 }, () => ({
          ip: this.randomPublicIp(),
          port: this.random.int(65536),
          transport: 'quic',
          pubkeyHint: this.random.next() < 0.5 ? this.bytes(32) : null,
        }));
        if (req.type === 'find-node') return { type: 'find-node', msg: { peers } };
        if (req.type === 'find-value') {
          const key = this.random.next() < 0.5 ? req.msg.key : this.bytes(32);
          return { type: 'find-value', msg: { value: { key, value: this.bytes(1 + this.random.int(200)), ttlSecs: 86_400n }, closerPeers: peers } };
        }
        return reply;
      }
      case 'sybil': {
        const sybils = this.nodes.filter((n) => n.behavior === 'sybil' && n.online);
        const peers = Array.from({ length: 20 }, () => this.pick(sybils).addr);
        if (req.type === 'find-node') return { type: 'find-node', msg: { peers } };
        if (req.type === 'find-value') return { type: 'find-value', msg: { value: null, closerPeers: peers } };
        return reply;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- helpers

  /** Fixed per-link one-way latency in the configured range (a hash of the pair, so links are symmetric). */
  linkLatency(a: number, b: number): number {
    const [lo, hi] = this.latency;
    let h = (Math.min(a, b) * 0x9e3779b1) ^ (Math.max(a, b) * 0x85ebca6b) ^ this.seed;
    h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
    h = (h ^ (h >>> 16)) >>> 0;
    return lo + (h % (hi - lo + 1));
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.random.int(256);
    return out;
  }

  private randomPublicIp(): string {
    // 11.0.0.0 – 99.255.255.255: clear of loopback, private and CGNAT ranges, so the /24 limit applies.
    return `${11 + this.random.int(89)}.${this.random.int(256)}.${this.random.int(256)}.${1 + this.random.int(254)}`;
  }
}
