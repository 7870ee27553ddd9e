/**
 * One iterative Kademlia lookup (PROTOCOL.md §5.7), sans-I/O. The core sends the queries it hands out and feeds
 * back answers and failures; the lookup never sees a clock (the core owns the 3 s per-query timeout).
 *
 * Rounds: each round queries up to ALPHA (3) not-yet-queried candidates among the K closest live ones, all in
 * parallel (the reference queries a round's peers one after another); the next round starts once every query
 * of the round has answered or failed. The lookup ends when the K closest live candidates have all answered
 * (or nothing is left to ask, or maxRounds is reached). Kinds:
 *  - 'node': FIND_NODE; the result is the K closest peers that answered;
 *  - 'value': FIND_VALUE; stops at the first value that passes `accept`;
 *  - 'share-head': FIND_VALUE that does not stop at a hit and keeps the best head (`better`).
 * Candidates without a pubkey hint (bootstrap seeds) have no NodeId and sort as maximally distant.
 * A peer that answers under another identity than its hint claimed counts as failed (the session authenticates
 * the responder's key; the hint comes from whoever named the peer and may be a lie).
 */
import { peerAddrKey, type PeerAddr } from '../../protocol/peer-addr.js';
import { bytesEqual } from '../../protocol/bytes.js';
import { compareDistance, contactOf, nodeIdOf, pubkeyKey } from './node-distance.js';
import { subnetKey } from './subnet.js';
import type { Contact, DhtRequest, NodeId, Store } from './types.js';

export const ALPHA = 3;
export const QUERY_TIMEOUT_MS = 3_000;
export const MAX_ROUNDS = 24;

export type LookupKind = 'node' | 'value' | 'share-head';

type CandState = 'new' | 'inflight' | 'answered' | 'failed';

interface Candidate {
  key: string;
  addr: PeerAddr;
  id: NodeId | null;
  state: CandState;
}

export interface LookupQuery {
  key: string;
  addr: PeerAddr;
  request: DhtRequest;
}

export interface LookupResult {
  kind: LookupKind;
  target: NodeId;
  /** K closest peers that answered, closest first. */
  closest: Contact[];
  /** 'value': the first accepted value; 'share-head': the best accepted one. */
  value: Store | undefined;
  rounds: number;
  /** Queries sent. */
  messages: number;
  failures: number;
}

export interface LookupInit {
  kind: LookupKind;
  target: NodeId;
  /** 32-byte key for FIND_VALUE kinds. */
  key?: Uint8Array;
  k?: number;
  alpha?: number;
  maxRounds?: number;
  /** Candidates one /24 (IPv4) or /48 (IPv6) may contribute; private and loopback ranges are exempt. */
  maxPerSubnet?: number;
  /** Our own identity key: never a candidate. */
  selfKey?: string;
  /** Decides whether a returned value is acceptable (key match, size, keyspace, signature). */
  accept?: (v: Store) => boolean;
  /** 'share-head': true when `b` should replace the current best `a`. */
  better?: (a: Store, b: Store) => boolean;
}

export class IterativeLookup {
  readonly kind: LookupKind;
  readonly target: NodeId;
  private readonly key: Uint8Array | undefined;
  private readonly k: number;
  private readonly alpha: number;
  private readonly maxRounds: number;
  private readonly selfKey: string | undefined;
  private readonly accept: (v: Store) => boolean;
  private readonly better: (a: Store, b: Store) => boolean;
  private readonly cands = new Map<string, Candidate>();
  /** Candidates per subnet: like the routing table, one /24 (/48) may place at most maxPerSubnet candidates. */
  private readonly perSubnet = new Map<string, number>();
  private readonly maxPerSubnet: number;
  private sorted: Candidate[] = [];
  private inflight = 0;
  private rounds = 0;
  private messages = 0;
  private failures = 0;
  private value: Store | undefined;
  private finished = false;

  constructor(init: LookupInit, seeds: readonly PeerAddr[]) {
    this.kind = init.kind;
    this.target = init.target;
    this.key = init.key;
    this.k = init.k ?? 20;
    this.alpha = init.alpha ?? ALPHA;
    this.maxRounds = init.maxRounds ?? MAX_ROUNDS;
    this.selfKey = init.selfKey;
    this.maxPerSubnet = init.maxPerSubnet ?? 2;
    this.accept = init.accept ?? (() => true);
    this.better = init.better ?? (() => false);
    if (init.kind !== 'node' && !init.key) throw new RangeError('value lookups need a key');
    for (const s of seeds) this.addCandidate(s);
  }

  get done(): boolean {
    return this.finished;
  }

  /** The address a candidate was queried at. */
  addressOf(key: string): PeerAddr | undefined {
    return this.cands.get(key)?.addr;
  }

  /** Queries to send now: a new round when the previous one has fully resolved. Empty when waiting or done. */
  poll(): LookupQuery[] {
    if (this.finished || this.inflight > 0) return [];
    if (this.rounds >= this.maxRounds) {
      this.finished = true;
      return [];
    }
    const picked: Candidate[] = [];
    let live = 0;
    for (const c of this.sorted) {
      if (c.state === 'failed') continue;
      if (live++ >= this.k) break;
      if (c.state === 'new') {
        picked.push(c);
        if (picked.length >= this.alpha) break;
      }
    }
    if (picked.length === 0) {
      this.finished = true;
      return [];
    }
    this.rounds++;
    return picked.map((c) => {
      c.state = 'inflight';
      this.inflight++;
      this.messages++;
      return { key: c.key, addr: c.addr, request: this.request() };
    });
  }

  /**
   * An answer from candidate `key`, authenticated as `responderPubkey`. `peers` are the closer peers it named,
   * `value` the FIND_VALUE hit if any.
   */
  onAnswer(key: string, responderPubkey: Uint8Array | null, peers: readonly PeerAddr[], value: Store | null): void {
    const c = this.cands.get(key);
    if (!c || c.state !== 'inflight') return;
    this.inflight--;
    if (c.addr.pubkeyHint && (!responderPubkey || !bytesEqual(c.addr.pubkeyHint, responderPubkey))) {
      c.state = 'failed';
      this.failures++;
      return;
    }
    if (!c.id && responderPubkey) {
      // A hint-less seed told us who it is: it now has a place in the XOR order.
      c.id = nodeIdOf(responderPubkey);
      c.addr = { ...c.addr, pubkeyHint: responderPubkey };
      this.resort();
    }
    c.state = 'answered';
    if (this.finished) return;
    for (const p of peers.slice(0, this.k)) this.addCandidate(p);
    if (value && this.kind !== 'node' && this.key && bytesEqual(value.key, this.key) && this.accept(value)) {
      if (this.kind === 'value') {
        this.value = value;
        this.finished = true;
      } else if (!this.value || this.better(this.value, value)) {
        this.value = value;
      }
    }
  }

  /** The query to `key` timed out or errored. */
  onFailure(key: string): void {
    const c = this.cands.get(key);
    if (!c || c.state !== 'inflight') return;
    this.inflight--;
    c.state = 'failed';
    this.failures++;
  }

  result(): LookupResult {
    const closest: Contact[] = [];
    for (const c of this.sorted) {
      if (closest.length >= this.k) break;
      if (c.state !== 'answered') continue;
      const contact = contactOf(c.addr);
      if (contact) closest.push(contact);
    }
    return {
      kind: this.kind,
      target: this.target,
      closest,
      value: this.value,
      rounds: this.rounds,
      messages: this.messages,
      failures: this.failures,
    };
  }

  private request(): DhtRequest {
    if (this.kind === 'node') return { type: 'find-node', msg: { targetNodeId: this.target } };
    return { type: 'find-value', msg: { key: this.key! } };
  }

  private addCandidate(addr: PeerAddr): void {
    const hint = addr.pubkeyHint && addr.pubkeyHint.length === 32 ? addr.pubkeyHint : null;
    const key = hint ? pubkeyKey(hint) : peerAddrKey(addr);
    if (key === this.selfKey || this.cands.has(key)) return;
    const subnet = subnetKey(addr.ip);
    if (subnet !== null) {
      const n = this.perSubnet.get(subnet) ?? 0;
      if (n >= this.maxPerSubnet) return;
      this.perSubnet.set(subnet, n + 1);
    }
    const c: Candidate = { key, addr, id: hint ? nodeIdOf(hint) : null, state: 'new' };
    this.cands.set(key, c);
    // Binary insertion into the XOR order (hint-less candidates last, in arrival order).
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cmp(this.sorted[mid]!, c) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.sorted.splice(lo, 0, c);
  }

  private cmp(a: Candidate, b: Candidate): number {
    if (a.id && b.id) return compareDistance(a.id, b.id, this.target);
    if (a.id) return -1;
    if (b.id) return 1;
    return 0;
  }

  private resort(): void {
    this.sorted = [...this.sorted].sort((a, b) => this.cmp(a, b));
  }
}
