/**
 * Sans-I/O download scheduler for one content item (PROTOCOL.md §8.3, FetchPolicy): which chunk goes to
 * which provider, when. No clock, no timers, no I/O: the worker feeds `handle(input, now)` and
 * `handleTimeout(now)`, drains `pollEffect()` and arms one timer at `nextDeadline()`.
 *
 * - Up to `parallelChunks` distinct chunks in flight (default 8, capped at the chunk count, min 1). With
 *   `chunksPerPeer` > 0 the target grows with the swarm: max(parallelChunks, chunksPerPeer × active peers),
 *   at most `maxParallelChunks`. A fixed 8 spread over 4 seeders leaves each 2 requests deep, too shallow to
 *   cover one round trip at LAN speed; 0 keeps the reference's fixed rule.
 * - Peer choice: skip peers backing off; prefer peers that have not already failed this chunk, then peers
 *   under the soft cap (`maxChunksPerPeer`, 128), then the highest weight (score + offset) / (in_flight + 1),
 *   then fewer total requests, then a seeded coin. Score starts at the peer's reputation, +2 per verified
 *   chunk, −1 per failure, clamped so that a long-lived peer does not starve a newcomer.
 * - Failure (bad hash, timeout, error): score −1, back-off base·2^min(consecutive−1, 8) capped at 8 s,
 *   the chunk goes to the retry queue (served before fresh chunks) and prefers other peers next time. A bad
 *   hash also emits `penalise`; `maxCorruptPerPeer` bad hashes drop the peer from this download.
 * - A chunk that failed `attemptsPerPeer × peers` times fails the download; so does stalling (nothing in
 *   flight, work pending, no peer usable) for more than `maxStallRounds` rounds of `stallRoundMs`.
 * - End-game: once every missing chunk is in flight, idle peers get duplicates of the oldest outstanding
 *   chunks (at most `endGameMaxCopies` requests per chunk); the first verified copy wins and the others are
 *   cancelled.
 * - Resumable: built from the verified set (a ChunkBitmap), it never requests a verified chunk.
 */
import type { Random } from '../runtime/random.js';
import { ChunkBitmap } from './chunk-bitmap.js';

/** How the worker names a provider (node id hex, or an address string): any stable string. */
export type PeerKey = string;

export type ChunkFailureReason = 'bad-hash' | 'timeout' | 'error' | 'not-found' | 'protocol';

export type SchedulerInput =
  /** The chunk's bytes matched its expected hash and were written at their offset. */
  | { type: 'chunkVerified'; peer: PeerKey; chunkIndex: number }
  | { type: 'chunkFailed'; peer: PeerKey; chunkIndex: number; reason: ChunkFailureReason }
  | { type: 'peerAdded'; peer: PeerKey; reputation?: number }
  | { type: 'peerGone'; peer: PeerKey };

export type SchedulerEffect =
  | { kind: 'request'; peer: PeerKey; chunkIndex: number }
  /** Drop an outstanding request (a duplicate lost the end-game race, it timed out here, or the download
   *  failed). Best effort: a reply that still arrives is ignored by `handle`. */
  | { kind: 'cancel'; peer: PeerKey; chunkIndex: number; reason: 'duplicate' | 'timeout' | 'aborted' }
  /** Report to the peer DB (reputation): the peer sent bytes that failed verification or broke the protocol. */
  | { kind: 'penalise'; peer: PeerKey; reason: 'corrupt-chunk' | 'protocol-violation' }
  | { kind: 'done' }
  | { kind: 'failed'; reason: 'chunk-abandoned' | 'stalled'; chunkIndex?: number; message: string };

export interface SchedulerPeerInit {
  peer: PeerKey;
  /** Persisted reputation (peer DB, [−10, 10]); 0 when unknown. */
  reputation?: number;
}

export interface SwarmSchedulerInit {
  chunkCount: number;
  /** Already verified chunks (resume). A ChunkBitmap is adopted as is and kept up to date. */
  verified?: ChunkBitmap | Iterable<number>;
  peers?: Iterable<SchedulerPeerInit>;
  parallelChunks?: number;
  /** In-flight chunks per active peer: the target is max(parallelChunks, this × active peers) (0 = fixed target). */
  chunksPerPeer?: number;
  /** Ceiling of the in-flight target when it grows with the swarm. */
  maxParallelChunks?: number;
  /**
   * Refill only once this many requests fit under the target (never while nothing is in flight): requests then
   * leave in small bursts that share a TLS record and a wake-up of the seeder, instead of one per chunk answered.
   * 1 = refill at every answer.
   */
  refillBatch?: number;
  attemptsPerPeer?: number;
  maxChunksPerPeer?: number;
  failureBackoffBaseMs?: number;
  maxBackoffMs?: number;
  maxStallRounds?: number;
  stallRoundMs?: number;
  /** Safety net for replies that never come (the worker normally reports timeouts itself). 0 = off. */
  requestTimeoutMs?: number;
  endGame?: boolean;
  endGameMaxCopies?: number;
  maxCorruptPerPeer?: number;
}

export interface SchedulerComponents {
  /** Breaks exact ties between peers, so equal peers share the load without a fixed order. */
  random: Random;
}

export const DEFAULT_FETCH_POLICY = Object.freeze({
  parallelChunks: 8,
  chunksPerPeer: 0,
  maxParallelChunks: 64,
  refillBatch: 1,
  attemptsPerPeer: 2,
  maxChunksPerPeer: 128,
  failureBackoffBaseMs: 300,
  maxBackoffMs: 8_000,
  maxStallRounds: 60,
  stallRoundMs: 300,
  requestTimeoutMs: 15_000,
  endGame: true,
  endGameMaxCopies: 2,
  maxCorruptPerPeer: 3,
});

const releasedKey = (peer: PeerKey, chunkIndex: number): string => `${chunkIndex}:${peer}`;

/** Scheduling score bounds and the offset that makes every weight positive. */
const SCORE_MIN = -20;
const SCORE_MAX = 20;
const SCORE_OFFSET = 21;

export interface PeerView {
  peer: PeerKey;
  score: number;
  inFlight: number;
  totalRequests: number;
  verified: number;
  failures: number;
  corrupt: number;
  backoffUntil: number;
  state: 'active' | 'gone' | 'banned';
}

interface PeerState extends PeerView {
  consecutiveFailures: number;
}

interface ChunkState {
  failures: number;
  failedPeers: Set<PeerKey>;
  /** Outstanding requests: peer → time sent. */
  requests: Map<PeerKey, number>;
  queued: boolean;
}

export class SwarmScheduler {
  readonly chunkCount: number;
  readonly parallelChunks: number;
  readonly #p: Readonly<Required<Omit<SwarmSchedulerInit, 'chunkCount' | 'verified' | 'peers'>>>;
  readonly #random: Random;
  readonly #bitmap: ChunkBitmap;
  readonly #peers = new Map<PeerKey, PeerState>();
  readonly #chunks = new Map<number, ChunkState>();
  /** Chunks with at least one outstanding request, in the order they were first sent. */
  readonly #inFlightChunks = new Set<number>();
  readonly #retry: number[] = [];
  #retryHead = 0;
  /** Requests taken back from a peer that sent a bad chunk (see #releaseOutstanding), still awaiting its answer. */
  readonly #released = new Set<string>();
  #freshCursor = 0;
  #requests = 0;
  #stallRounds = 0;
  #stallDeadline: number | undefined;
  #started = false;
  #finished: 'done' | 'failed' | undefined;
  readonly #effects: SchedulerEffect[] = [];
  #effectHead = 0;

  constructor(components: SchedulerComponents, init: SwarmSchedulerInit) {
    const n = init.chunkCount;
    this.#random = components.random;
    if (init.verified instanceof ChunkBitmap) {
      if (init.verified.size !== n) throw new RangeError(`bitmap covers ${init.verified.size} chunks, item has ${n}`);
      this.#bitmap = init.verified;
    } else {
      this.#bitmap = new ChunkBitmap(n, init.verified);
    }
    this.chunkCount = n;
    const d = DEFAULT_FETCH_POLICY;
    this.#p = Object.freeze({
      parallelChunks: init.parallelChunks ?? d.parallelChunks,
      chunksPerPeer: Math.max(0, init.chunksPerPeer ?? d.chunksPerPeer),
      maxParallelChunks: Math.max(1, init.maxParallelChunks ?? d.maxParallelChunks),
      refillBatch: Math.max(1, Math.floor(init.refillBatch ?? d.refillBatch)),
      attemptsPerPeer: Math.max(1, init.attemptsPerPeer ?? d.attemptsPerPeer),
      maxChunksPerPeer: Math.max(1, init.maxChunksPerPeer ?? d.maxChunksPerPeer),
      failureBackoffBaseMs: init.failureBackoffBaseMs ?? d.failureBackoffBaseMs,
      maxBackoffMs: init.maxBackoffMs ?? d.maxBackoffMs,
      maxStallRounds: init.maxStallRounds ?? d.maxStallRounds,
      stallRoundMs: Math.max(1, init.stallRoundMs ?? d.stallRoundMs),
      requestTimeoutMs: init.requestTimeoutMs ?? d.requestTimeoutMs,
      endGame: init.endGame ?? d.endGame,
      endGameMaxCopies: Math.max(1, init.endGameMaxCopies ?? d.endGameMaxCopies),
      maxCorruptPerPeer: Math.max(1, init.maxCorruptPerPeer ?? d.maxCorruptPerPeer),
    });
    this.parallelChunks = Math.max(1, Math.min(this.#p.parallelChunks, Math.max(1, n)));
    for (const p of init.peers ?? []) this.#addPeer(p.peer, p.reputation);
  }

  // ---- getters

  /** The verified set; the worker persists it (see BitmapFlushPolicy). */
  get bitmap(): ChunkBitmap {
    return this.#bitmap;
  }
  get verifiedCount(): number {
    return this.#bitmap.count;
  }
  /** Outstanding requests (end-game duplicates included). */
  get requestsInFlight(): number {
    return this.#requests;
  }
  get chunksInFlight(): number {
    return this.#inFlightChunks.size;
  }
  get finished(): 'done' | 'failed' | undefined {
    return this.#finished;
  }
  isVerified(chunkIndex: number): boolean {
    return this.#bitmap.has(chunkIndex);
  }
  /** True while a reply for (peer, chunk) is awaited: the worker can drop replies nobody wants. */
  isOutstanding(peer: PeerKey, chunkIndex: number): boolean {
    return (this.#chunks.get(chunkIndex)?.requests.has(peer) ?? false) || this.#released.has(releasedKey(peer, chunkIndex));
  }
  peers(): PeerView[] {
    return [...this.#peers.values()].map(({ consecutiveFailures: _, ...v }) => ({ ...v }));
  }
  /** Distinct chunks that may be in flight now (see `chunksPerPeer`). */
  get inFlightTarget(): number {
    const per = this.#p.chunksPerPeer;
    if (per === 0) return this.parallelChunks;
    const grown = Math.min(this.#p.maxParallelChunks, per * this.activePeers);
    return Math.max(this.parallelChunks, Math.min(grown, this.chunkCount));
  }
  /** Peers that can take requests now or after their back-off. */
  get activePeers(): number {
    let n = 0;
    for (const p of this.#peers.values()) if (p.state === 'active') n++;
    return n;
  }

  // ---- inputs

  /** Begins scheduling (a resume that is already complete emits `done` at once). */
  start(now: number): void {
    this.#started = true;
    this.#pump(now);
  }

  handle(input: SchedulerInput, now: number): void {
    if (this.#finished) return;
    switch (input.type) {
      case 'chunkVerified':
        this.#onVerified(input.peer, input.chunkIndex);
        break;
      case 'chunkFailed':
        this.#onFailed(input.peer, input.chunkIndex, input.reason, now);
        break;
      case 'peerAdded':
        this.#addPeer(input.peer, input.reputation);
        break;
      case 'peerGone':
        this.#dropPeer(input.peer, 'gone');
        break;
    }
    if (this.#started) this.#pump(now);
  }

  handleTimeout(now: number): void {
    if (this.#finished || !this.#started) return;
    const timeout = this.#p.requestTimeoutMs;
    if (timeout > 0) {
      const expired: [PeerKey, number][] = [];
      for (const i of this.#inFlightChunks) {
        for (const [peer, sentAt] of (this.#chunks.get(i) as ChunkState).requests) if (sentAt + timeout <= now) expired.push([peer, i]);
      }
      for (const [peer, i] of expired) {
        this.#emit({ kind: 'cancel', peer, chunkIndex: i, reason: 'timeout' });
        this.#onFailed(peer, i, 'timeout', now);
        if (this.#finished) return;
      }
    }
    if (this.#stallDeadline !== undefined && this.#stallDeadline <= now) {
      this.#stallDeadline = undefined;
      this.#stallRounds++;
      if (this.#stallRounds > this.#p.maxStallRounds) {
        const why = this.activePeers === 0 ? 'no provider is left' : 'every provider keeps failing';
        this.#fail('stalled', `download stalled: ${why} after ${this.#stallRounds - 1} rounds; add providers and resume it`);
        return;
      }
    }
    this.#pump(now);
  }

  pollEffect(): SchedulerEffect | undefined {
    if (this.#effectHead >= this.#effects.length) return undefined;
    const e = this.#effects[this.#effectHead++];
    if (this.#effectHead > 64 && this.#effectHead * 2 > this.#effects.length) {
      this.#effects.splice(0, this.#effectHead);
      this.#effectHead = 0;
    }
    return e;
  }

  nextDeadline(): number | undefined {
    if (this.#finished || !this.#started) return undefined;
    let at = this.#stallDeadline;
    const min = (t: number): void => {
      if (at === undefined || t < at) at = t;
    };
    if (this.#p.requestTimeoutMs > 0) {
      for (const i of this.#inFlightChunks) {
        for (const sentAt of (this.#chunks.get(i) as ChunkState).requests.values()) min(sentAt + this.#p.requestTimeoutMs);
      }
    }
    // A peer leaving back-off can take pending work (or end-game duplicates).
    if (this.#hasPending() || this.#p.endGame) {
      for (const p of this.#peers.values()) if (p.state === 'active' && p.backoffUntil > 0) min(p.backoffUntil);
    }
    return at;
  }

  // ---- internals

  #addPeer(peer: PeerKey, reputation = 0): void {
    const old = this.#peers.get(peer);
    if (old) {
      if (old.state === 'gone') {
        old.state = 'active';
        old.backoffUntil = 0;
        old.consecutiveFailures = 0;
      }
      return;
    }
    this.#peers.set(peer, {
      peer,
      score: clamp(Number.isFinite(reputation) ? reputation : 0),
      inFlight: 0,
      totalRequests: 0,
      verified: 0,
      failures: 0,
      corrupt: 0,
      backoffUntil: 0,
      consecutiveFailures: 0,
      state: 'active',
    });
  }

  #dropPeer(peer: PeerKey, state: 'gone' | 'banned'): void {
    const p = this.#peers.get(peer);
    if (!p || p.state === 'banned') return;
    p.state = state;
    // Its outstanding chunks go back to the queue; not the chunks' fault, so no attempt is charged.
    for (const i of [...this.#inFlightChunks]) {
      const cs = this.#chunks.get(i) as ChunkState;
      if (!cs.requests.delete(peer)) continue;
      p.inFlight--;
      this.#requests--;
      if (cs.requests.size === 0) this.#requeue(i, cs);
    }
  }

  #onVerified(peer: PeerKey, i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.chunkCount) return;
    this.#released.delete(releasedKey(peer, i));
    const p = this.#peers.get(peer);
    const cs = this.#chunks.get(i);
    if (cs?.requests.delete(peer) && p) {
      p.inFlight--;
      this.#requests--;
    }
    if (this.#bitmap.has(i)) return; // a late duplicate: the chunk is already written
    if (p) {
      p.score = clamp(p.score + 2);
      p.verified++;
      p.consecutiveFailures = 0;
      p.backoffUntil = 0;
    }
    this.#bitmap.set(i);
    this.#stallRounds = 0;
    if (cs) {
      for (const other of cs.requests.keys()) {
        const op = this.#peers.get(other) as PeerState;
        op.inFlight--;
        this.#requests--;
        this.#emit({ kind: 'cancel', peer: other, chunkIndex: i, reason: 'duplicate' });
      }
      this.#chunks.delete(i); // a queued retry entry is skipped when popped
    }
    this.#inFlightChunks.delete(i);
  }

  #onFailed(peer: PeerKey, i: number, reason: ChunkFailureReason, now: number): void {
    this.#released.delete(releasedKey(peer, i));
    const p = this.#peers.get(peer);
    if (p && reason === 'bad-hash') this.#emit({ kind: 'penalise', peer, reason: 'corrupt-chunk' });
    if (p && reason === 'protocol') this.#emit({ kind: 'penalise', peer, reason: 'protocol-violation' });
    const cs = this.#chunks.get(i);
    if (!p || !cs || !cs.requests.delete(peer)) {
      // Stale (cancelled, already verified, or never asked): only the penalty above counts.
      if (p && reason === 'bad-hash') this.#noteCorrupt(p);
      return;
    }
    p.inFlight--;
    this.#requests--;
    p.score = clamp(p.score - 1);
    p.failures++;
    p.consecutiveFailures++;
    const backoff = this.#p.failureBackoffBaseMs * 2 ** Math.min(p.consecutiveFailures - 1, 8);
    p.backoffUntil = now + Math.min(backoff, this.#p.maxBackoffMs);
    cs.failures++;
    cs.failedPeers.add(peer);
    if (reason === 'bad-hash') this.#noteCorrupt(p);
    const limit = this.#p.attemptsPerPeer * Math.max(1, this.#peers.size);
    if (cs.failures >= limit) {
      this.#fail(
        'chunk-abandoned',
        `chunk ${i} failed ${cs.failures} times across ${this.#peers.size} provider(s) (last: ${reason}); the download stopped — retry it when more providers are online`,
        i,
      );
      return;
    }
    if (cs.requests.size === 0) this.#requeue(i, cs);
    if ((reason === 'bad-hash' || reason === 'protocol') && p.state === 'active') this.#releaseOutstanding(p);
  }

  /**
   * A peer that just sent a bad chunk keeps none of the download's window (`parallelChunks`): its other outstanding
   * chunks go back to the queue, uncharged. Otherwise a liar that answers slowly (or holds answers) pins those slots
   * through its back-off until the request timeout, and the honest peers run on what is left (found by the attack
   * bench: a corrupt seeder alone cost up to 4/5 of the speed now and then). The requests are not cancelled: their
   * late answers are still checked (`isOutstanding` stays true), so further lies still count toward the ban.
   */
  #releaseOutstanding(p: PeerState): void {
    for (const i of [...this.#inFlightChunks]) {
      const cs = this.#chunks.get(i) as ChunkState;
      if (!cs.requests.delete(p.peer)) continue;
      p.inFlight--;
      this.#requests--;
      this.#released.add(releasedKey(p.peer, i));
      if (cs.requests.size === 0) this.#requeue(i, cs);
    }
  }

  #noteCorrupt(p: PeerState): void {
    p.corrupt++;
    if (p.corrupt >= this.#p.maxCorruptPerPeer) this.#dropPeer(p.peer, 'banned');
  }

  #requeue(i: number, cs: ChunkState): void {
    this.#inFlightChunks.delete(i);
    if (!cs.queued) {
      cs.queued = true;
      this.#retry.push(i);
    }
  }

  #hasPending(): boolean {
    return this.#peekPending() !== undefined;
  }

  /** Next chunk to send: the retry queue first, then fresh chunks in index order (disk locality). */
  #peekPending(): number | undefined {
    while (this.#retryHead < this.#retry.length) {
      const i = this.#retry[this.#retryHead] as number;
      const cs = this.#chunks.get(i);
      if (cs && cs.queued && !this.#bitmap.has(i)) return i;
      this.#retryHead++;
    }
    if (this.#retryHead > 0 && this.#retryHead === this.#retry.length) {
      this.#retry.length = 0;
      this.#retryHead = 0;
    }
    while (this.#freshCursor < this.chunkCount) {
      const i = this.#freshCursor;
      if (!this.#bitmap.has(i) && !this.#chunks.has(i)) return i;
      this.#freshCursor++;
    }
    return undefined;
  }

  #pump(now: number): void {
    if (this.#finished) return;
    for (const p of this.#peers.values()) if (p.backoffUntil !== 0 && p.backoffUntil <= now) p.backoffUntil = 0;
    if (this.#bitmap.complete) {
      this.#finished = 'done';
      this.#stallDeadline = undefined;
      this.#emit({ kind: 'done' });
      return;
    }
    const target = this.inFlightTarget;
    const room = target - this.#inFlightChunks.size;
    const batch = Math.min(this.#p.refillBatch, target);
    const refill = room >= batch || this.#inFlightChunks.size === 0 || this.#retryHead < this.#retry.length;
    while (refill && this.#inFlightChunks.size < target) {
      const i = this.#peekPending();
      if (i === undefined) break;
      const peer = this.#choosePeer(i, now);
      if (!peer) break;
      let cs = this.#chunks.get(i);
      if (cs && cs.queued) {
        cs.queued = false;
        this.#retryHead++;
      } else if (!cs) {
        cs = { failures: 0, failedPeers: new Set(), requests: new Map(), queued: false };
        this.#chunks.set(i, cs);
        this.#freshCursor++;
      }
      this.#send(i, cs, peer, now);
    }
    if (this.#p.endGame && !this.#hasPending()) this.#endGame(now);
    if (this.#requests === 0 && this.#hasPending()) {
      this.#stallDeadline ??= now + this.#p.stallRoundMs;
    } else {
      this.#stallDeadline = undefined;
    }
  }

  #endGame(now: number): void {
    for (const p of this.#peers.values()) {
      if (p.state !== 'active' || p.backoffUntil > now || p.inFlight > 0) continue;
      let pick: number | undefined;
      let pickCopies = Infinity;
      for (const i of this.#inFlightChunks) {
        const cs = this.#chunks.get(i) as ChunkState;
        if (cs.requests.size >= this.#p.endGameMaxCopies || cs.requests.has(p.peer) || cs.failedPeers.has(p.peer)) continue;
        if (cs.requests.size < pickCopies) {
          pick = i;
          pickCopies = cs.requests.size;
        }
      }
      if (pick === undefined) continue;
      this.#send(pick, this.#chunks.get(pick) as ChunkState, p, now);
    }
  }

  #send(i: number, cs: ChunkState, p: PeerState, now: number): void {
    cs.requests.set(p.peer, now);
    this.#inFlightChunks.add(i);
    p.inFlight++;
    p.totalRequests++;
    this.#requests++;
    this.#stallRounds = 0;
    this.#emit({ kind: 'request', peer: p.peer, chunkIndex: i });
  }

  #choosePeer(i: number, now: number): PeerState | undefined {
    const cs = this.#chunks.get(i);
    let best: PeerState | undefined;
    let bestKey: [number, number, number, number, number] | undefined;
    for (const p of this.#peers.values()) {
      if (p.state !== 'active' || p.backoffUntil > now) continue;
      if (cs?.requests.has(p.peer)) continue;
      const key: [number, number, number, number, number] = [
        cs?.failedPeers.has(p.peer) ? 0 : 1,
        p.inFlight < this.#p.maxChunksPerPeer ? 1 : 0,
        (p.score + SCORE_OFFSET) / (p.inFlight + 1),
        -p.totalRequests,
        this.#random.next(),
      ];
      if (!bestKey || greater(key, bestKey)) {
        best = p;
        bestKey = key;
      }
    }
    return best;
  }

  #fail(reason: 'chunk-abandoned' | 'stalled', message: string, chunkIndex?: number): void {
    this.#finished = 'failed';
    this.#stallDeadline = undefined;
    for (const i of this.#inFlightChunks) {
      for (const peer of (this.#chunks.get(i) as ChunkState).requests.keys()) {
        this.#emit({ kind: 'cancel', peer, chunkIndex: i, reason: 'aborted' });
      }
    }
    this.#emit(chunkIndex === undefined ? { kind: 'failed', reason, message } : { kind: 'failed', reason, chunkIndex, message });
  }

  #emit(e: SchedulerEffect): void {
    this.#effects.push(e);
  }
}

function clamp(score: number): number {
  return Math.max(SCORE_MIN, Math.min(SCORE_MAX, score));
}

function greater(a: readonly number[], b: readonly number[]): boolean {
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as number;
    const y = b[k] as number;
    if (x !== y) return x > y;
  }
  return false;
}
