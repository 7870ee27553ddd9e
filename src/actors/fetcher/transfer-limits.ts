/**
 * The fetcher's share of the live limits (src/limits.ts, `node.setLimits`): download caps (whole node and
 * per peer), chunk requests in flight per peer, and upload caps (whole node and per peer) on chunks served.
 *
 * Downloads are shaped by pacing requests, not by reading sockets slower: SCP2P is request/response, so the
 * bytes that arrive are the chunks we asked for. `DownloadShaper.wrap` sits between the download jobs and the
 * session; a GET_CHUNK waits in a FIFO until the global and the peer's token bucket hold a chunk and the
 * peer has a free request slot, then books a whole chunk (256 KiB) and goes out. Its network timeout starts
 * only then, so a slow cap never turns into request timeouts (the scheduler's own safety-net timeout is off
 * in the worker for that reason; the session request always settles). Changing a limit re-evaluates the
 * queue at once, so running downloads speed up or slow down without a restart.
 *
 * Serving is shaped in the ChunkReader through `UploadGate.reserve`: it books the chunk on the global and the
 * peer's bucket and returns how long to hold it. A wait longer than `maxWaitMs` is refused instead (LIMIT →
 * the reference's "rate limit exceeded"), because the downloader would time out anyway and rests the peer
 * without penalty on that text.
 *
 * Unlimited is the hot path: one boolean test per request / chunk, no allocation. A limit of 0 stops the
 * traffic it governs (requests wait, chunks are refused) until it is raised or lifted.
 */
import { ScpError } from '../../errors.js';
import type { NodeLimits } from '../../limits.js';
import { toHex } from '../../protocol/bytes.js';
import { CHUNK_SIZE } from '../../protocol/content.js';
import { peerAddrKey, type PeerAddr } from '../../protocol/peer-addr.js';
import { MessageType } from '../../protocol/registry.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { PeerRequest } from './download-job.js';
import { TokenBucket } from '../runtime/token-bucket.js';

/** A cap in bytes per second as a bucket: null = none, 0 = nothing passes. Burst: a quarter second, at least one chunk. */
type Cap = TokenBucket | 0 | null;

function makeCap(bps: number | null, now: number): Cap {
  if (bps === null) return null;
  if (bps === 0) return 0;
  return new TokenBucket({ bytesPerSecond: bps, burst: Math.max(CHUNK_SIZE, bps / 4) }, now);
}

/** Milliseconds until the bucket holds `bytes` (Infinity for a zero cap). */
function waitFor(cap: Cap, bytes: number, now: number): number {
  if (cap === null || bytes === 0) return 0;
  if (cap === 0) return Infinity;
  const t = cap.available(now);
  return t >= bytes ? 0 : Math.ceil(((bytes - t) * 1000) / cap.bytesPerSecond);
}

/** Per-peer buckets are dropped once this many exist and they are idle (full again). */
const PEER_BUCKETS_PRUNE_AT = 256;

class PeerCaps {
  bps: number | null = null;
  readonly #buckets = new Map<string, Cap>();

  set(bps: number | null): void {
    this.bps = bps;
    this.#buckets.clear();
  }

  of(peer: string, now: number): Cap {
    if (this.bps === null) return null;
    let b = this.#buckets.get(peer);
    if (b === undefined) {
      if (this.#buckets.size >= PEER_BUCKETS_PRUNE_AT) this.#prune(now);
      b = makeCap(this.bps, now);
      this.#buckets.set(peer, b);
    }
    return b;
  }

  #prune(now: number): void {
    for (const [k, b] of this.#buckets) if (b !== 0 && b !== null && b.available(now) >= b.burst) this.#buckets.delete(k);
  }
}

interface Waiter {
  peer: string;
  bytes: number;
  resolve(): void;
  reject(err: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Download side: maxDownloadBps, perPeerDownloadBps, maxRequestsPerPeer. */
export class DownloadShaper {
  readonly #clock: Clock;
  #active = false;
  #global: Cap = null;
  readonly #perPeer = new PeerCaps();
  #maxRequests: number | null = null;
  readonly #inFlight = new Map<string, number>();
  readonly #queue: Waiter[] = [];
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get active(): boolean {
    return this.#active;
  }

  /** Requests held back right now (tests, health). */
  get queued(): number {
    return this.#queue.length;
  }

  set(limits: Pick<NodeLimits, 'maxDownloadBps' | 'perPeerDownloadBps' | 'maxRequestsPerPeer'>): void {
    const now = this.#clock.now();
    this.#global = makeCap(limits.maxDownloadBps, now);
    this.#perPeer.set(limits.perPeerDownloadBps);
    this.#maxRequests = limits.maxRequestsPerPeer;
    this.#active = limits.maxDownloadBps !== null || limits.perPeerDownloadBps !== null || limits.maxRequestsPerPeer !== null;
    this.#drain();
  }

  /** The session request as the download jobs see it, shaped while any download limit is set. */
  wrap(inner: PeerRequest): PeerRequest {
    return (peer, type, payload, opts) => (this.#active ? this.#shaped(inner, peer, type, payload, opts) : inner(peer, type, payload, opts));
  }

  async #shaped(inner: PeerRequest, peer: PeerAddr, type: number, payload: Uint8Array, opts: Parameters<PeerRequest>[3]): Promise<Uint8Array> {
    const key = peer.pubkeyHint ? toHex(peer.pubkeyHint) : peerAddrKey(peer);
    // Only chunk answers are big enough to matter; hash lists and acks are not booked.
    await this.#admit(key, type === MessageType.GET_CHUNK ? CHUNK_SIZE : 0, opts.signal);
    try {
      return await inner(peer, type, payload, opts);
    } finally {
      const n = (this.#inFlight.get(key) ?? 1) - 1;
      if (n <= 0) this.#inFlight.delete(key);
      else this.#inFlight.set(key, n);
      if (this.#queue.length > 0) this.#drain();
    }
  }

  #admit(peer: string, bytes: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(ScpError.aborted('chunk request'));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { peer, bytes, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          const i = this.#queue.indexOf(w);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(ScpError.aborted('chunk request'));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#queue.push(w);
      this.#drain();
    });
  }

  /** Lets out every waiter that may go now, in order; arms one timer for the earliest token wait. */
  #drain(): void {
    const now = this.#clock.now();
    let wake = Infinity;
    for (let i = 0; i < this.#queue.length; ) {
      const w = this.#queue[i] as Waiter;
      if (!this.#active) {
        this.#let(w, i, null, null, now);
        continue;
      }
      const gWait = waitFor(this.#global, w.bytes, now);
      if (gWait > 0) {
        wake = Math.min(wake, gWait); // the global bucket is FIFO: nobody behind this one goes either
        break;
      }
      if (this.#maxRequests !== null && (this.#inFlight.get(w.peer) ?? 0) >= this.#maxRequests) {
        i++; // waits for one of the peer's requests to finish (that drains again)
        continue;
      }
      const peerCap = w.bytes > 0 ? this.#perPeer.of(w.peer, now) : null;
      const pWait = waitFor(peerCap, w.bytes, now);
      if (pWait > 0) {
        wake = Math.min(wake, pWait);
        i++;
        continue;
      }
      this.#let(w, i, this.#global, peerCap, now);
    }
    this.#arm(wake, now);
  }

  #let(w: Waiter, index: number, global: Cap, peer: Cap, now: number): void {
    this.#queue.splice(index, 1);
    if (w.bytes > 0) {
      if (global) global.reserve(w.bytes, now);
      if (peer) peer.reserve(w.bytes, now);
    }
    this.#inFlight.set(w.peer, (this.#inFlight.get(w.peer) ?? 0) + 1);
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
    w.resolve();
  }

  #arm(waitMs: number, now: number): void {
    const at = waitMs === Infinity ? Infinity : now + waitMs;
    if (at === this.#timerAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#drain();
    }, waitMs);
  }

  /** Fails every held request (the actor is stopping). */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#queue.splice(0)) w.reject(ScpError.aborted('chunk request (fetcher stopping)'));
  }
}

/** How ChunkReader asks before serving `n` bytes to `peer`: the wait in ms (0 = now); throws LIMIT to refuse. */
export interface BandwidthGate {
  reserve(n: number, now: number, peer: string): number;
}

/** Upload side: maxUploadBps, perPeerUploadBps, plus the fetcher config's fixed `seedBytesPerSecond`. */
export class UploadGate implements BandwidthGate {
  readonly maxWaitMs: number;
  #active: boolean;
  #global: Cap = null;
  readonly #perPeer = new PeerCaps();
  readonly #base: TokenBucket | null;

  constructor(opts: { base?: TokenBucket | null; maxWaitMs?: number } = {}) {
    this.#base = opts.base ?? null;
    this.#active = this.#base !== null;
    this.maxWaitMs = opts.maxWaitMs ?? 6_000;
  }

  get active(): boolean {
    return this.#active;
  }

  set(limits: Pick<NodeLimits, 'maxUploadBps' | 'perPeerUploadBps'>, now: number): void {
    this.#global = makeCap(limits.maxUploadBps, now);
    this.#perPeer.set(limits.perPeerUploadBps);
    this.#active = this.#base !== null || limits.maxUploadBps !== null || limits.perPeerUploadBps !== null;
  }

  reserve(n: number, now: number, peer: string): number {
    if (!this.#active) return 0;
    const peerCap = this.#perPeer.of(peer, now);
    // The wait this chunk would get once booked; the base bucket (seedBytesPerSecond) may run in debt as before.
    const wait = Math.max(waitFor(this.#base, n, now), waitFor(this.#global, n, now), waitFor(peerCap, n, now));
    if (wait > this.maxWaitMs) {
      throw ScpError.limit(`upload cap: serving ${peer} would wait ${wait === Infinity ? 'forever' : `${wait} ms`}`, { peer });
    }
    let out = 0;
    for (const cap of [this.#base, this.#global, peerCap]) if (cap) out = Math.max(out, cap.reserve(n, now));
    return out;
  }
}

/** What the fetcher's `setLimits` handler needs to reach. */
export interface FetcherLimitTargets {
  clock: Clock;
  shaper: DownloadShaper;
  upload: UploadGate;
  /** The download manager's live concurrency (null = the fetcher config's default). */
  setMaxConcurrentDownloads(n: number): void;
  defaultMaxConcurrentDownloads: number;
}

export const FETCHER_LIMIT_KEYS = [
  'maxDownloadBps',
  'perPeerDownloadBps',
  'maxRequestsPerPeer',
  'maxUploadBps',
  'perPeerUploadBps',
  'maxConcurrentDownloads',
] as const satisfies readonly (keyof NodeLimits)[];

/** Applies the fetcher's keys of a whole NodeLimits record; running transfers see them at once. */
export function applyFetcherLimits(limits: NodeLimits, t: FetcherLimitTargets): { applied: (keyof NodeLimits)[] } {
  t.shaper.set(limits);
  t.upload.set(limits, t.clock.now());
  // At least one download runs: 0 would queue everything forever with no way to tell why.
  t.setMaxConcurrentDownloads(Math.max(1, limits.maxConcurrentDownloads ?? t.defaultMaxConcurrentDownloads));
  return { applied: [...FETCHER_LIMIT_KEYS] };
}
