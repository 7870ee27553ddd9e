/**
 * The DHT actor's core (PROTOCOL.md §5), sans-I/O in quinn's shape:
 *   handle(input, now)   network answers, inbound requests, ping results, authenticated contacts;
 *   commands             bootstrap, findNode, findValue, findShareHead, put (store + replicate + republish);
 *   handleTimeout(now)   query/ping timeouts and maintenance (bucket refresh, republish, replication, expiry);
 *   pollEffect()         effects as values: 'request' to send, 'reply' to an inbound request, 'ping' to probe,
 *                        'lookup-done' / 'store-done' completions;
 *   nextDeadline()       when handleTimeout wants to run next.
 * Built with (components, init): components are { random, keyspace? }, init holds identity and limits.
 * The worker (or the simulator) executes the effects; nothing here reads a clock or touches I/O.
 */
import type { Random } from '../runtime/random.js';
import { toHex } from '../../protocol/bytes.js';
import { peerAddrKey, type PeerAddr } from '../../protocol/peer-addr.js';
import { betterShareHead, decodeShareHead } from '../../protocol/share-head.js';
import { shareHeadKey } from '../../protocol/dht-keys.js';
import { mergeCommunityInfo } from './community-merge.js';
import { DeadlineHeap } from './deadline-heap.js';
import { handleFindNode } from './handlers/find-node.js';
import { handleFindValue, type FindValueView } from './handlers/find-value.js';
import { handleStore, type StoreView } from './handlers/store.js';
import { ALPHA, IterativeLookup, QUERY_TIMEOUT_MS, type LookupKind, type LookupResult } from './iterative-lookup.js';
import { validateDhtValue, type KeyspaceComponents, type Validation } from './keyspace-validation.js';
import { contactOf, nodeIdOf, pubkeyKey, randomIdInBucket, targetOfKey } from './node-distance.js';
import { DhtRateLimiter, DHT_RATE_LIMIT, RATE_LIMIT_TEXT } from './rate-limit.js';
import { K, RoutingTable } from './routing-table.js';
import { restoreSnapshot, takeSnapshot, type DhtSnapshot } from './snapshot.js';
import { DEFAULT_TTL_SECS, MAX_VALUE_BYTES, ValueStore } from './value-store.js';
import type { Contact, DhtReply, DhtRequest, DhtResponse, Millis, NodeId, Store } from './types.js';

export type { DhtSnapshot };

export const PING_TIMEOUT_MS = 1_500;
export const REFRESH_INTERVAL_MS = 3_600_000;
export const REPUBLISH_INTERVAL_MS = 3_600_000;
export const REPLICATE_INTERVAL_MS = 3_600_000;
export const MAINTENANCE_TICK_MS = 60_000;

export type DhtInput =
  /** A DHT request from an authenticated peer; `from.pubkeyHint` is its handshake key. */
  | { type: 'inbound'; inboundId: number; from: PeerAddr; dialable: boolean; request: DhtRequest }
  /** The answer to our request `requestId`; `responderPubkey` is the key the session authenticated. */
  | { type: 'response'; requestId: number; responderPubkey: Uint8Array | null; response: DhtReply }
  /** Our request could not be completed (connect failure, decode error, closed). */
  | { type: 'request-failed'; requestId: number; reason: string }
  | { type: 'ping-result'; pingId: number; alive: boolean }
  /** An authenticated peer reachable at `addr` (a session handshake completed): routing-table candidate. */
  | { type: 'contact'; addr: PeerAddr };

export type DhtEffect =
  | { kind: 'request'; requestId: number; peer: PeerAddr; request: DhtRequest }
  | { kind: 'reply'; inboundId: number; reply: DhtReply }
  /** Probe liveness of `peer` (the reference does a TCP connect, 1.5 s) and report a 'ping-result'. */
  | { kind: 'ping'; pingId: number; peer: PeerAddr }
  | { kind: 'lookup-done'; opId: number; result: LookupResult }
  | { kind: 'store-done'; opId: number; key: Uint8Array; stored: number; attempted: number; lookup: LookupResult };

export interface DhtCoreComponents {
  random: Random;
  keyspace?: KeyspaceComponents;
}

export interface DhtCoreInit {
  /** Our node public key (32 bytes); NodeId = SHA-256(pubkey)[0..20]. */
  localPubkey: Uint8Array;
  k?: number;
  alpha?: number;
  queryTimeoutMs?: number;
  pingTimeoutMs?: number;
  refreshIntervalMs?: number;
  republishIntervalMs?: number;
  replicateIntervalMs?: number;
  maintenanceTickMs?: number;
  rateLimit?: number;
  perPeerQuota?: number;
  maxValues?: number;
  maxRounds?: number;
  /** After the bootstrap self-lookup, refresh every bucket farther than the closest neighbour (default true). */
  joinRefresh?: boolean;
}

type OpPurpose = 'user' | 'internal';

interface LookupOp {
  id: number;
  purpose: OpPurpose;
  lookup: IterativeLookup;
  /** Set for store operations: after the FIND_NODE phase, STORE to the first `fanout` peers. */
  store?: { key: Uint8Array; value: Uint8Array; ttlSecs: number; fanout: number; pending: number; ok: number; attempted: number };
  storeLookup?: LookupResult;
}

interface PendingRequest {
  opId: number;
  candKey: string;
  phase: 'lookup' | 'store';
}

interface Published {
  key: Uint8Array;
  value: Uint8Array;
  ttlSecs: number;
  nextAt: Millis;
}

export class DhtCore {
  readonly localPubkey: Uint8Array;
  readonly localId: NodeId;
  readonly localKey: string;
  readonly table: RoutingTable;
  readonly store: ValueStore;
  private readonly random: Random;
  private readonly keyspace: KeyspaceComponents;
  private readonly k: number;
  private readonly alpha: number;
  private readonly queryTimeoutMs: number;
  private readonly pingTimeoutMs: number;
  private readonly refreshIntervalMs: number;
  private readonly republishIntervalMs: number;
  private readonly replicateIntervalMs: number;
  private readonly tickMs: number;
  private readonly maxRounds: number | undefined;
  private readonly joinRefresh: boolean;
  private readonly limiter: DhtRateLimiter;
  private readonly effects: DhtEffect[] = [];
  private effectHead = 0;
  private readonly deadlines = new DeadlineHeap();
  private readonly requests = new Map<number, PendingRequest>();
  private readonly pings = new Map<number, string>();
  private readonly ops = new Map<number, LookupOp>();
  private readonly published = new Map<string, Published>();
  /** Self-lookups of a bootstrap: when one ends, the buckets farther out are refreshed (Kademlia join). */
  private readonly joining = new Set<number>();
  private seeds: PeerAddr[] = [];
  private nextId = 1;
  private maintenanceAt: Millis | undefined;
  private readonly findValueView: FindValueView;
  private readonly storeView: StoreView;

  constructor(components: DhtCoreComponents, init: DhtCoreInit) {
    this.random = components.random;
    this.keyspace = components.keyspace ?? {};
    this.localPubkey = init.localPubkey;
    this.localId = nodeIdOf(init.localPubkey);
    this.localKey = pubkeyKey(init.localPubkey);
    this.k = init.k ?? K;
    this.alpha = init.alpha ?? ALPHA;
    this.queryTimeoutMs = init.queryTimeoutMs ?? QUERY_TIMEOUT_MS;
    this.pingTimeoutMs = init.pingTimeoutMs ?? PING_TIMEOUT_MS;
    this.refreshIntervalMs = init.refreshIntervalMs ?? REFRESH_INTERVAL_MS;
    this.republishIntervalMs = init.republishIntervalMs ?? REPUBLISH_INTERVAL_MS;
    this.replicateIntervalMs = init.replicateIntervalMs ?? REPLICATE_INTERVAL_MS;
    this.tickMs = init.maintenanceTickMs ?? MAINTENANCE_TICK_MS;
    this.maxRounds = init.maxRounds;
    this.joinRefresh = init.joinRefresh ?? true;
    this.table = new RoutingTable({ localId: this.localId }, { k: this.k });
    this.store = new ValueStore(
      {},
      { perPeerQuota: init.perPeerQuota, maxValues: init.maxValues, merge: mergeCommunityInfo },
    );
    this.limiter = new DhtRateLimiter(init.rateLimit ?? DHT_RATE_LIMIT);
    const validate = (key: Uint8Array, value: Uint8Array): Validation => this.validate(key, value);
    this.findValueView = { table: this.table, store: this.store, isValid: (key, value) => validate(key, value).ok };
    this.storeView = { store: this.store, validate };
  }

  // ------------------------------------------------------------------------------------------ getters

  /** No request, ping or operation in flight (periodic maintenance aside). */
  get idle(): boolean {
    return this.requests.size === 0 && this.pings.size === 0 && this.ops.size === 0;
  }

  validate(key: Uint8Array, value: Uint8Array, sharePubkey?: Uint8Array): Validation {
    if (!sharePubkey) return validateDhtValue(key, value, this.keyspace);
    return validateDhtValue(key, value, { ...this.keyspace, shareKeyFor: () => sharePubkey });
  }

  // ------------------------------------------------------------------------------------------ inputs

  handle(input: DhtInput, now: Millis): void {
    this.arm(now);
    switch (input.type) {
      case 'inbound':
        return this.onInbound(input.inboundId, input.from, input.dialable, input.request, now);
      case 'response':
        return this.onResponse(input.requestId, input.responderPubkey, input.response, now);
      case 'request-failed':
        return this.onRequestFailed(input.requestId, now);
      case 'ping-result':
        return this.onPingResult(input.pingId, input.alive, now);
      case 'contact': {
        const c = contactOf(input.addr);
        if (c) this.learn(c, now);
        return;
      }
    }
  }

  handleTimeout(now: Millis): void {
    this.arm(now);
    for (let id = this.deadlines.popDue(now); id !== undefined; id = this.deadlines.popDue(now)) {
      if (this.requests.has(id)) this.onRequestFailed(id, now);
      else if (this.pings.has(id)) this.onPingResult(id, false, now);
    }
    if (this.maintenanceAt !== undefined && now >= this.maintenanceAt) {
      this.maintenanceAt = now + this.tickMs;
      this.maintain(now);
    }
  }

  nextDeadline(): Millis | undefined {
    const d = this.deadlines.peek();
    if (d === undefined) return this.maintenanceAt;
    return this.maintenanceAt === undefined ? d : Math.min(d, this.maintenanceAt);
  }

  pollEffect(): DhtEffect | undefined {
    if (this.effectHead >= this.effects.length) {
      if (this.effects.length > 0) {
        this.effects.length = 0;
        this.effectHead = 0;
      }
      return undefined;
    }
    return this.effects[this.effectHead++];
  }

  // ------------------------------------------------------------------------------------------ commands

  /** Remembers bootstrap peers and looks up our own id (fills the buckets near us). Returns the op id. */
  bootstrap(seeds: readonly PeerAddr[], now: Millis): number {
    this.seeds = [...seeds];
    const id = this.startLookup('node', this.localId, undefined, 'user', now);
    this.joining.add(id);
    return id;
  }

  /** Replaces the seed peers used when the routing table holds fewer than K contacts (the session's contacts). */
  setSeeds(seeds: readonly PeerAddr[]): void {
    this.seeds = [...seeds];
  }

  findNode(target: NodeId, now: Millis): number {
    return this.startLookup('node', target, undefined, 'user', now);
  }

  /**
   * Iterative FIND_VALUE; a valid local hit completes at once unless `network` asks for the network's copy
   * (provider records, whose local copy may be our own or a stale cache).
   */
  findValue(key: Uint8Array, now: Millis, opts: { network?: boolean } = {}): number {
    const local = opts.network ? undefined : this.localHit(key, now);
    if (local) return this.completeLocal('value', key, local);
    return this.startLookup('value', targetOfKey(key), key, 'user', now);
  }

  /** Share-head lookup (§5.7): asks all K closest, keeps the best head; verifies it when `sharePubkey` is given. */
  findShareHead(shareId: Uint8Array, now: Millis, sharePubkey?: Uint8Array): number {
    const key = shareHeadKey(shareId);
    return this.startLookup('share-head', targetOfKey(key), key, 'user', now, undefined, sharePubkey);
  }

  /**
   * Stores locally, then replicates to the K closest (2K when popular). With `republish`, the value is ours:
   * it is re-stored every republish interval until `unpublish`.
   */
  put(key: Uint8Array, value: Uint8Array, now: Millis, opts: { ttlSecs?: number; republish?: boolean } = {}): number {
    const ttlSecs = opts.ttlSecs ?? DEFAULT_TTL_SECS;
    const r = this.store.put(key, value, ttlSecs, now);
    if (opts.republish) this.published.set(toHex(key), { key, value, ttlSecs, nextAt: now + this.republishIntervalMs });
    const fanout = r.ok && this.store.isPopular(r.value) ? 2 * this.k : this.k;
    return this.startStore(key, value, ttlSecs, fanout, 'user', now);
  }

  unpublish(key: Uint8Array): void {
    this.published.delete(toHex(key));
  }

  snapshot(now: Millis): DhtSnapshot {
    return takeSnapshot(this.table, this.store, this.published.values(), now);
  }

  /** Restores a snapshot taken `downtimeMs` ago (values lose that much TTL; expired ones are dropped). */
  restore(s: DhtSnapshot, now: Millis, downtimeMs = 0): void {
    const pubs = restoreSnapshot(s, this.table, this.store, now, downtimeMs);
    for (const p of pubs) this.published.set(toHex(p.key), { ...p, nextAt: now + this.republishIntervalMs });
    this.arm(now);
  }

  // ------------------------------------------------------------------------------------------ inbound

  private onInbound(inboundId: number, from: PeerAddr, dialable: boolean, req: DhtRequest, now: Millis): void {
    const identity = from.pubkeyHint ? pubkeyKey(from.pubkeyHint) : peerAddrKey(from);
    if (!this.limiter.allow(identity, now)) {
      this.emit({ kind: 'reply', inboundId, reply: { type: 'error', code: 'RATE_LIMITED', wireText: RATE_LIMIT_TEXT } });
      return;
    }
    if (dialable) {
      const c = contactOf(from);
      if (c) this.learn(c, now);
    }
    let reply: DhtReply;
    switch (req.type) {
      case 'find-node':
        reply = { type: 'find-node', msg: handleFindNode(this, req.msg, identity) };
        break;
      case 'find-value':
        reply = { type: 'find-value', msg: handleFindValue(this.findValueView, req.msg, now, identity) };
        break;
      case 'store':
        reply = handleStore(this.storeView, req.msg, now, identity);
        break;
    }
    this.emit({ kind: 'reply', inboundId, reply });
  }

  // ------------------------------------------------------------------------------------------ contacts

  private learn(c: Contact, now: Millis): void {
    if (c.key === this.localKey) return;
    const r = this.table.observe(c, now);
    if (r.kind === 'ping') {
      const pingId = this.nextId++;
      this.pings.set(pingId, r.lru.key);
      this.deadlines.push(pingId, now + this.pingTimeoutMs);
      this.emit({ kind: 'ping', pingId, peer: r.lru.addr });
    }
  }

  private onPingResult(pingId: number, alive: boolean, now: Millis): void {
    const key = this.pings.get(pingId);
    if (key === undefined) return;
    this.pings.delete(pingId);
    this.deadlines.cancel(pingId);
    this.table.pingResult(key, alive, now);
  }

  // ------------------------------------------------------------------------------------------ lookups

  private startLookup(
    kind: LookupKind,
    target: NodeId,
    key: Uint8Array | undefined,
    purpose: OpPurpose,
    now: Millis,
    store?: LookupOp['store'],
    sharePubkey?: Uint8Array,
  ): number {
    const id = this.nextId++;
    this.table.touch(target, now);
    const seeds = this.table.closest(target, this.k).map((c) => c.addr);
    if (seeds.length < this.k) seeds.push(...this.seeds);
    const lookup = new IterativeLookup(
      {
        kind,
        target,
        key,
        k: this.k,
        alpha: this.alpha,
        maxRounds: this.maxRounds,
        selfKey: this.localKey,
        accept: (v) => this.acceptRemote(kind, v, sharePubkey),
        better: (a, b) => {
          const ha = decodeShareHead(a.value);
          const hb = decodeShareHead(b.value);
          return betterShareHead(ha, hb) === hb && (hb.latestSeq !== ha.latestSeq || hb.updatedAt !== ha.updatedAt);
        },
      },
      seeds,
    );
    const op: LookupOp = { id, purpose, lookup, store };
    this.ops.set(id, op);
    this.pump(op, now);
    return id;
  }

  private acceptRemote(kind: LookupKind, v: Store, sharePubkey?: Uint8Array): boolean {
    if (v.value.length > MAX_VALUE_BYTES) return false;
    const r = this.validate(v.key, v.value, sharePubkey);
    if (!r.ok) return false;
    return kind !== 'share-head' || r.value.kind === 'share-head';
  }

  private pump(op: LookupOp, now: Millis): void {
    for (const q of op.lookup.poll()) this.sendRequest(op.id, q.key, q.addr, q.request, 'lookup', now);
    if (op.lookup.done && !op.storeLookup) this.finishLookup(op, now);
  }

  private sendRequest(opId: number, candKey: string, peer: PeerAddr, request: DhtRequest, phase: PendingRequest['phase'], now: Millis): void {
    const requestId = this.nextId++;
    this.requests.set(requestId, { opId, candKey, phase });
    this.deadlines.push(requestId, now + this.queryTimeoutMs);
    this.emit({ kind: 'request', requestId, peer, request });
  }

  private finishLookup(op: LookupOp, now: Millis): void {
    const result = op.lookup.result();
    if (op.store) {
      op.storeLookup = result;
      const s = op.store;
      const targets = result.closest.slice(0, s.fanout);
      s.attempted = targets.length;
      s.pending = targets.length;
      for (const c of targets) {
        this.sendRequest(op.id, c.key, c.addr, { type: 'store', msg: { key: s.key, value: s.value, ttlSecs: BigInt(s.ttlSecs) } }, 'store', now);
      }
      if (s.pending === 0) this.finishStore(op);
      return;
    }
    this.ops.delete(op.id);
    if (result.value && op.lookup.kind !== 'node') {
      // Cache the winner locally with the STORE floor (§5.7); a share head only if it does not roll ours back.
      const v = result.value;
      const existing = this.store.peek(v.key, now);
      const keep = existing && op.lookup.kind === 'share-head' && this.isNewerHead(existing.value, v.value);
      // Our own published value (a provider record naming us) is never replaced by a network copy.
      if (!keep && !this.published.has(toHex(v.key))) this.store.put(v.key, v.value, Number(v.ttlSecs > 604_800n ? 604_800n : v.ttlSecs), now, { remote: true });
    }
    if (this.joining.delete(op.id) && this.joinRefresh) this.refreshFarBuckets(now);
    if (op.purpose === 'user') this.emit({ kind: 'lookup-done', opId: op.id, result });
  }

  /** After the self-lookup of a join: one lookup into every bucket farther than our closest neighbour. */
  private refreshFarBuckets(now: Millis): void {
    const closest = this.table.closest(this.localId, 1)[0];
    if (!closest) return;
    const depth = this.table.bucketIndexOf(closest.id);
    for (let b = 0; b < depth; b++) {
      const target = randomIdInBucket(this.localId, b, (n) => this.randomBytes(n));
      this.startLookup('node', target, undefined, 'internal', now);
    }
  }

  private isNewerHead(a: Uint8Array, b: Uint8Array): boolean {
    try {
      const ha = decodeShareHead(a);
      const hb = decodeShareHead(b);
      return betterShareHead(hb, ha) === ha && (ha.latestSeq !== hb.latestSeq || ha.updatedAt !== hb.updatedAt);
    } catch {
      return false;
    }
  }

  private startStore(key: Uint8Array, value: Uint8Array, ttlSecs: number, fanout: number, purpose: OpPurpose, now: Millis): number {
    const store = { key, value, ttlSecs, fanout, pending: 0, ok: 0, attempted: 0 };
    return this.startLookup('node', targetOfKey(key), undefined, purpose, now, store);
  }

  private finishStore(op: LookupOp): void {
    this.ops.delete(op.id);
    const s = op.store!;
    if (op.purpose === 'user') {
      this.emit({ kind: 'store-done', opId: op.id, key: s.key, stored: s.ok, attempted: s.attempted, lookup: op.storeLookup! });
    }
  }

  private completeLocal(kind: LookupKind, key: Uint8Array, value: Store): number {
    const id = this.nextId++;
    const result: LookupResult = { kind, target: targetOfKey(key), closest: [], value, rounds: 0, messages: 0, failures: 0 };
    this.emit({ kind: 'lookup-done', opId: id, result });
    return id;
  }

  private localHit(key: Uint8Array, now: Millis): Store | undefined {
    const v = this.store.get(key, now);
    if (!v || !this.validate(v.key, v.value).ok) return undefined;
    return { key: v.key, value: v.value, ttlSecs: BigInt(Math.max(1, Math.floor((v.expiresAt - now) / 1000))) };
  }

  // ------------------------------------------------------------------------------------------ answers

  private onResponse(requestId: number, responderPubkey: Uint8Array | null, reply: DhtReply, now: Millis): void {
    const p = this.requests.get(requestId);
    if (!p) return;
    this.requests.delete(requestId);
    this.deadlines.cancel(requestId);
    const op = this.ops.get(p.opId);
    if (responderPubkey && reply.type !== 'error') {
      // Every answer is an authenticated contact: the responder goes into the routing table.
      const lookupAddr = this.addrOf(op, p.candKey);
      if (lookupAddr) {
        const c = contactOf({ ...lookupAddr, pubkeyHint: responderPubkey });
        if (c) this.learn(c, now);
      }
    }
    if (!op) return;
    if (p.phase === 'store') {
      const s = op.store!;
      s.pending--;
      if (reply.type === 'store') s.ok++;
      if (s.pending === 0) this.finishStore(op);
      return;
    }
    const { peers, value } = this.peersOf(reply);
    if (reply.type === 'error' || !this.matches(reply, op.lookup.kind)) op.lookup.onFailure(p.candKey);
    else op.lookup.onAnswer(p.candKey, responderPubkey, peers, value);
    this.pump(op, now);
  }

  private matches(reply: DhtResponse, kind: LookupKind): boolean {
    return kind === 'node' ? reply.type === 'find-node' : reply.type === 'find-value';
  }

  private peersOf(reply: DhtReply): { peers: PeerAddr[]; value: Store | null } {
    if (reply.type === 'find-node') return { peers: reply.msg.peers, value: null };
    if (reply.type === 'find-value') return { peers: reply.msg.closerPeers, value: reply.msg.value };
    return { peers: [], value: null };
  }

  private addrOf(op: LookupOp | undefined, candKey: string): PeerAddr | undefined {
    if (!op) return undefined;
    return op.lookup.addressOf(candKey) ?? op.storeLookup?.closest.find((c) => c.key === candKey)?.addr;
  }

  private onRequestFailed(requestId: number, now: Millis): void {
    const p = this.requests.get(requestId);
    if (!p) return;
    this.requests.delete(requestId);
    this.deadlines.cancel(requestId);
    this.table.recordFailure(p.candKey, now);
    const op = this.ops.get(p.opId);
    if (!op) return;
    if (p.phase === 'store') {
      const s = op.store!;
      s.pending--;
      if (s.pending === 0) this.finishStore(op);
      return;
    }
    op.lookup.onFailure(p.candKey);
    this.pump(op, now);
  }

  // ------------------------------------------------------------------------------------------ maintenance

  /** Starts the maintenance timer on first use, with jitter so that nodes do not tick in lockstep. */
  private arm(now: Millis): void {
    if (this.maintenanceAt === undefined) this.maintenanceAt = now + 1 + this.random.int(this.tickMs);
  }

  private maintain(now: Millis): void {
    this.store.purgeExpired(now);
    for (const b of this.table.bucketsDue(now, this.refreshIntervalMs)) {
      const target = randomIdInBucket(this.localId, b, (n) => this.randomBytes(n));
      this.startLookup('node', target, undefined, 'internal', now);
    }
    for (const p of this.published.values()) {
      if (p.nextAt > now) continue;
      p.nextAt = now + this.republishIntervalMs;
      this.store.put(p.key, p.value, p.ttlSecs, now);
      this.startStore(p.key, p.value, p.ttlSecs, this.fanoutFor(p.key, now), 'internal', now);
    }
    // Kademlia replication: a value nobody re-stored to us for an interval is pushed to the K closest we know.
    for (const v of this.store.live(now)) {
      if (this.published.has(toHex(v.key)) || now - v.storedAt < this.replicateIntervalMs) continue;
      v.storedAt = now;
      const ttl = Math.max(1, Math.floor((v.expiresAt - now) / 1000));
      this.startStore(v.key, v.value, ttl, this.store.isPopular(v) ? 2 * this.k : this.k, 'internal', now);
    }
  }

  private fanoutFor(key: Uint8Array, now: Millis): number {
    const v = this.store.peek(key, now);
    return v && this.store.isPopular(v) ? 2 * this.k : this.k;
  }

  private randomBytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.random.int(256);
    return out;
  }

  private emit(e: DhtEffect): void {
    this.effects.push(e);
  }
}
