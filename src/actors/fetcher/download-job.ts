/**
 * One content item's download, as the fetcher worker runs it (PROTOCOL.md §8.2–8.4): the I/O shell around
 * the SwarmScheduler. Every side channel is injected (request to a peer, clock, random, store, file opener),
 * so tests drive it against in-memory seeders serving real files.
 *
 *   1. Providers: `providers()` (DHT, connected peers, explicit ones; never us) are probed with
 *      GET_CHUNK_HASHES; a list counts only if it matches chunk_list_hash and chunk_count (when known). A peer
 *      without the content, or with a wrong list, takes no part. With no expected hash, the largest group of
 *      agreeing lists wins and the whole-file check against the content id settles it at the end.
 *   2. Unknown size (a bare content id): the last chunk is fetched and verified first; its length gives it.
 *   3. Swarm: GET_CHUNK through `request`, each chunk BLAKE3-checked, written at its offset, its bit set only
 *      after the write, the bitmap persisted by BitmapFlushPolicy (resume after kill -9 re-fetches at most
 *      the unflushed window). One timer, armed at min(scheduler deadline, flush deadline).
 *   4. Finalize: the whole partial file re-hashed against the content id, then renamed. Chunks found bad on
 *      disk are cleared and fetched again (at most twice).
 */
import { stat, unlink } from 'node:fs/promises';
import { ScpError } from '../../errors.js';
import { bytesEqual, toHex } from '../../protocol/bytes.js';
import { CHUNK_SIZE, chunkCountForSize, chunkListHash, verifyChunk as verifyChunkInline } from '../../protocol/content.js';
import { blake3Hasher } from '../../protocol/hash.js';
import { peerAddrKey, type PeerAddr } from '../../protocol/peer-addr.js';
import { MessageType, decodeResponsePayload } from '../../protocol/registry.js';
import { getChunkCodec, getChunkHashesCodec } from '../../protocol/transfer-messages.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Random } from '../runtime/random.js';
import { BitmapFlushPolicy, ChunkBitmap, type FlushPolicyInit } from './chunk-bitmap.js';
import type { DownloadStore } from './fetcher-store.js';
import { FileWriter, openFile, readFull, type DiskQuota, type OpenFile } from './file-writer.js';
import { fsError } from './fs-errors.js';
import { PrefixHasher } from './prefix-hasher.js';
import { PARTIAL_SUFFIX } from './safe-path.js';
import { SwarmScheduler, type ChunkFailureReason, type PeerView, type SwarmSchedulerInit } from './swarm-scheduler.js';

/** Sends one request to a peer and resolves with the response payload (session.request, or a fake). */
/**
 * One request to a peer through the session. `onLateReply` gets an answer that arrives after the call was given up
 * (timeout, abort), so the job can hand its memory back (a shared-slab slot) instead of losing it.
 */
export type PeerRequest = (
  peer: PeerAddr,
  type: number,
  payload: Uint8Array,
  opts: { timeoutMs: number; signal: AbortSignal; onLateReply?: (payload: Uint8Array) => void },
) => Promise<Uint8Array>;

export interface DownloadJobComponents {
  clock: Clock;
  random: Random;
  request: PeerRequest;
  store: DownloadStore;
  /** Chunk check; inline BLAKE3 by default (≈130 µs per 256 KiB chunk here, faster than a pool round trip). */
  verify?: (expected: Uint8Array, bytes: Uint8Array) => boolean | Promise<boolean>;
  /** Takes back a chunk's bytes once verified, written and hashed (the job keeps no reference to them). */
  recycle?: (bytes: Uint8Array) => void;
  /** Reports a peer that sent corrupt data or broke the protocol (peer DB reputation). */
  penalise?: (peer: PeerAddr, reason: 'corrupt-chunk' | 'protocol-violation' | 'bad-chunk-list') => void;
  openFile?: OpenFile;
}

export interface DownloadProgressInfo {
  bytesDone: number;
  bytesTotal: number;
  peers: number;
}

export interface DownloadJobInit {
  id: string;
  contentId: Uint8Array;
  /** Final path, already checked (safe-path.ts) and with its folder created. */
  targetPath: string;
  size: number | null;
  chunkCount: number | null;
  chunkListHash: Uint8Array | null;
  /** Candidate providers (called once per attempt). */
  providers: () => Promise<PeerAddr[]>;
  parallelChunks?: number;
  /** Per GET_CHUNK / GET_CHUNK_HASHES request. Default 8 s. */
  requestTimeoutMs?: number;
  /** First rest of a peer that answers "rate limit exceeded" (doubles per rest, ≤ 30 s). Default 2 s. */
  rateLimitRestMs?: number;
  /**
   * While the swarm makes no progress (or has no usable peer), `providers()` is asked again this often and new
   * ones join: a publisher that moved (a new relay route after its relay died) or seeders that came online.
   * Default 5 s; 0 = never.
   */
  providerRefreshMs?: number;
  /** Providers probed at once with GET_CHUNK_HASHES. Default 8. */
  probeConcurrency?: number;
  policy?: Omit<SwarmSchedulerInit, 'chunkCount' | 'verified' | 'peers'>;
  flush?: FlushPolicyInit;
  quota?: DiskQuota;
  checkFreeSpace?: boolean;
  /** Full chunks written with O_DIRECT where the file system allows (file-writer.ts). */
  directWrites?: boolean;
  onProgress?: (p: DownloadProgressInfo) => void;
  /** Called once the size is known (a bare content id download learns it from the last chunk). */
  onSize?: (size: number) => void;
}

export interface DownloadJobResult {
  path: string;
  size: number;
  chunkHashes: Uint8Array[];
  /** Chunks fetched by this run (a resumed job fetches only the missing ones). */
  fetchedChunks: number;
  peers: PeerView[];
}

const MAX_FINALIZE_RETRIES = 2;
const RATE_LIMIT_REST_MS = 2_000;
const RATE_LIMIT_MAX_REST_MS = 30_000;
/** How long a probe keeps asking when every candidate was only transiently unreachable. */
const PROBE_PATIENCE_MS = 15_000;
/**
 * Once one provider answered the chunk-list probe (or the last chunk), the others get this long, or 4× the first
 * answer's latency if more, before the download goes on without them: a provider that holds its answer (found by
 * the attack bench: a corrupt seeder that writes an answer only when the next request arrives) must not hold the
 * start until the request timeout. Late matching answers still join the swarm.
 */
const PROBE_GRACE_MS = 250;
/** Rounds of 300 ms with nothing in flight before a download gives up (peers may be resting meanwhile). */
const DEFAULT_MAX_STALL_ROUNDS = 400;

interface LoopHandle {
  resolve(): void;
  reject(err: unknown): void;
}

export class DownloadJob {
  readonly id: string;
  readonly #c: DownloadJobComponents;
  readonly #init: DownloadJobInit;
  readonly #verify: (expected: Uint8Array, bytes: Uint8Array) => boolean | Promise<boolean>;
  readonly #abort = new AbortController();
  readonly #inFlight = new Map<string, AbortController>();
  readonly #writes = new Set<Promise<void>>();
  /** Chunks received and being hashed in the pool (their write, if they pass, starts when the hash is back). */
  readonly #checks = new Set<Promise<void>>();
  readonly #peers = new Map<string, PeerAddr>();
  #stopMode: 'pause' | 'cancel' | undefined;
  #scheduler: SwarmScheduler | undefined;
  #writer: FileWriter | undefined;
  #flush: BitmapFlushPolicy;
  #hashes: Uint8Array[] = [];
  #size = 0;
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #loop: LoopHandle | undefined;
  #fetched = 0;
  /** The content digest built while chunks land (first attempt only; a retry re-hashes the file). */
  #prefix: PrefixHasher | undefined;
  /** Chunks the digest holds ahead of its prefix, each with what to call once it lets go (see #onChunk). */
  readonly #heldByDigest = new Map<Uint8Array, () => void>();
  /** A chunk answer the job does not keep (dropped, or come after its request was given up): its memory goes back (a slab slot, say). */
  readonly #giveBack = (payload: Uint8Array): void => this.#c.recycle?.(payload);
  #persisting: Promise<unknown> = Promise.resolve();
  #running: Promise<DownloadJobResult> | undefined;
  /** Peers resting after a rate-limit answer → the timer that brings them back. */
  readonly #resting = new Map<string, TimerHandle>();
  #refreshTimer: TimerHandle | undefined;
  #bytesAtLastRefresh = -1;
  readonly #rests = new Map<string, number>();

  constructor(components: DownloadJobComponents, init: DownloadJobInit) {
    if (init.contentId.length !== 32) throw ScpError.badInput('content id must be 32 bytes');
    this.id = init.id;
    this.#c = components;
    this.#init = init;
    this.#verify = components.verify ?? verifyChunkInline;
    this.#flush = new BitmapFlushPolicy(init.flush);
  }

  get bytesTotal(): number {
    return this.#size;
  }

  get bytesDone(): number {
    const s = this.#scheduler;
    if (!s) return 0;
    return bytesOf(s.bitmap, this.#size);
  }

  run(): Promise<DownloadJobResult> {
    this.#running ??= this.#run().finally(() => this.#clearTimer());
    return this.#running;
  }

  /** Pause (keep the partial file and the bitmap) or cancel (delete both). `run()` rejects with ABORTED. */
  async stop(mode: 'pause' | 'cancel'): Promise<void> {
    if (!this.#stopMode) {
      this.#stopMode = mode;
      this.#abort.abort();
      for (const c of this.#inFlight.values()) c.abort();
      this.#inFlight.clear();
      this.#clearTimer();
      this.#loop?.reject(this.#abortedError());
    } else if (mode === 'cancel') {
      this.#stopMode = 'cancel';
    }
    if (this.#running) await this.#running.catch(() => undefined);
    else if (mode === 'cancel') await this.#discardAll();
  }

  // ---- phases

  async #run(): Promise<DownloadJobResult> {
    const init = this.#init;
    const hex = toHex(init.contentId);
    try {
      if (init.size === 0 || init.chunkCount === 0) return await this.#emptyFile();
      const already = await this.#alreadyThere();
      if (already) return already;
      const { hashes, providers } = await this.#chunkList(hex);
      this.#hashes = hashes;
      this.#checkStopped();
      let firstChunk: { index: number; bytes: Uint8Array } | undefined;
      if (init.size === null) {
        firstChunk = await this.#fetchLastChunk(providers);
        this.#size = (hashes.length - 1) * CHUNK_SIZE + firstChunk.bytes.length;
      } else {
        this.#size = init.size;
        if (chunkCountForSize(init.size) !== hashes.length) {
          throw ScpError.verifyFailed(`content ${hex}: ${init.size} bytes need ${chunkCountForSize(init.size)} chunks, the chunk list has ${hashes.length}`);
        }
      }
      init.onSize?.(this.#size);
      this.#checkStopped();
      const bitmap = await this.#resumeBitmap(hashes.length);
      this.#writer = await FileWriter.open({
        targetPath: init.targetPath,
        size: this.#size,
        contentId: init.contentId,
        ...(init.quota ? { quota: init.quota } : {}),
        ...(init.checkFreeSpace === undefined ? {} : { checkFreeSpace: init.checkFreeSpace }),
        ...(init.directWrites ? { directWrites: true } : {}),
        ...(this.#c.openFile ? { open: this.#c.openFile } : {}),
      });
      await this.#c.store.putHashes(hex, concatHashes(hashes));
      if (firstChunk && !bitmap.has(firstChunk.index)) {
        await this.#writer.writeChunk(firstChunk.index, firstChunk.bytes);
        bitmap.set(firstChunk.index);
        this.#fetched++;
      }
      const writer = this.#writer;
      this.#prefix = new PrefixHasher({
        size: this.#size,
        chunkCount: hashes.length,
        has: (i) => bitmap.has(i),
        read: (i) => writer.readBack(i),
        release: (b) => this.#digestReleased(b),
      });
      for (let attempt = 0; ; attempt++) {
        await this.#swarm(bitmap, providers);
        try {
          await this.#finalize();
          break;
        } catch (err) {
          const bad = err instanceof ScpError && err.code === 'VERIFY_FAILED' ? (err.details?.badChunks as number[] | undefined) : undefined;
          if (!bad || bad.length === 0 || attempt >= MAX_FINALIZE_RETRIES) throw err;
          this.#prefix?.dispose();
          this.#prefix = undefined;
          for (const i of bad) bitmap.clear(i);
          await this.#persistBitmap(bitmap);
        }
      }
      await Promise.all([this.#c.store.removeBitmap(this.id), this.#c.store.removeHashes(hex)]);
      return {
        path: init.targetPath,
        size: this.#size,
        chunkHashes: hashes,
        fetchedChunks: this.#fetched,
        peers: this.#scheduler?.peers() ?? [],
      };
    } catch (err) {
      await this.#afterError();
      if (this.#stopMode) throw this.#abortedError();
      throw err;
    }
  }

  async #emptyFile(): Promise<DownloadJobResult> {
    this.#size = 0;
    this.#init.onSize?.(0);
    const w = await FileWriter.open({ targetPath: this.#init.targetPath, size: 0, contentId: this.#init.contentId, checkFreeSpace: false, ...(this.#c.openFile ? { open: this.#c.openFile } : {}) });
    this.#writer = w;
    await w.finalize();
    return { path: this.#init.targetPath, size: 0, chunkHashes: [], fetchedChunks: 0, peers: [] };
  }

  /** The target already holds this exact content (a rename that beat the final record write, or a re-run). */
  async #alreadyThere(): Promise<DownloadJobResult | undefined> {
    const { targetPath, contentId } = this.#init;
    const st = await stat(targetPath).catch(() => undefined);
    if (!st?.isFile()) return undefined;
    if (this.#init.size !== null && st.size !== this.#init.size) return undefined;
    if (await stat(targetPath + PARTIAL_SUFFIX).then(() => true, () => false)) return undefined;
    const fh = await (this.#c.openFile ?? openFile)(targetPath, 0).catch(() => undefined);
    if (!fh) return undefined;
    try {
      const h = blake3Hasher();
      const buf = new Uint8Array(1 << 20);
      for (let pos = 0; pos < st.size; ) {
        const n = await readFull(fh, buf, Math.min(buf.length, st.size - pos), pos);
        h.update(buf.subarray(0, n));
        pos += n;
      }
      if (!bytesEqual(h.digest(), contentId)) return undefined;
    } catch {
      return undefined;
    } finally {
      await fh.close().catch(() => undefined);
    }
    this.#size = st.size;
    this.#init.onSize?.(st.size);
    await this.#c.store.removeBitmap(this.id);
    const cached = this.#c.store.hashes(toHex(contentId));
    return { path: targetPath, size: st.size, chunkHashes: cached ? splitHashes(cached) : [], fetchedChunks: 0, peers: [] };
  }

  /** Probes candidates with GET_CHUNK_HASHES; returns the accepted list and the peers that hold it. */
  async #chunkList(hex: string): Promise<{ hashes: Uint8Array[]; providers: PeerAddr[] }> {
    const init = this.#init;
    // Every address is probed (a node's first one may be the one that does not reach); the swarm then takes one
    // address per node among those that answered.
    const candidates = uniqueAddrs(await init.providers());
    this.#checkStopped();
    if (candidates.length === 0) {
      throw ScpError.notFound(`no provider found for content ${hex}: the DHT has no provider record and no connected peer has it; connect to a peer that seeds it (or pass peers) and retry`, { contentId: hex });
    }
    const cached = this.#c.store.hashes(hex);
    const trusted = cached ? splitHashes(cached) : undefined;
    const expected = trusted ? chunkListHash(trusted) : init.chunkListHash;
    const answers: { peer: PeerAddr; hashes: Uint8Array[]; listHash: string }[] = [];
    const wrong: string[] = [];
    let unreachable = 0;
    let transient = 0;
    const timeoutMs = init.requestTimeoutMs ?? 8_000;
    let next = 0;
    let onAnswer: (() => void) | undefined;
    /** Set once the list is chosen: later answers with the same list join as providers. */
    const late: { listHash?: string; providers?: PeerAddr[] } = {};
    const worker = async (): Promise<void> => {
      while (next < candidates.length && !this.#stopMode) {
        const peer = candidates[next++] as PeerAddr;
        try {
          const payload = await this.#c.request(peer, MessageType.GET_CHUNK_HASHES, getChunkHashesCodec.encode({ contentId: init.contentId }), {
            timeoutMs,
            signal: this.#abort.signal,
          });
          const list = decodeResponsePayload(MessageType.GET_CHUNK_HASHES, payload);
          const lh = chunkListHash(list.hashes);
          const ok =
            bytesEqual(list.contentId, init.contentId) &&
            (init.chunkCount === null || list.hashes.length === init.chunkCount) &&
            (init.size === null || list.hashes.length === chunkCountForSize(init.size)) &&
            (expected === null || bytesEqual(lh, expected)) &&
            list.hashes.length > 0;
          if (!ok) {
            wrong.push(peerAddrKey(peer));
            this.#c.penalise?.(peer, 'bad-chunk-list');
            continue;
          }
          answers.push({ peer, hashes: list.hashes, listHash: toHex(lh) });
          if (late.listHash === toHex(lh) && late.providers) this.#joinLate(peer, late.providers);
          onAnswer?.();
        } catch (err) {
          unreachable++; // no such content there, unreachable, or a malformed answer: not a provider
          if (isTransient(err)) transient++;
        }
      }
    };
    // Every candidate down for a moment (a seeder restarting its session or fetcher) is asked again for a while
    // before the download fails NOT_FOUND (actor-fault campaign, docs/RELIABILITY.md).
    const giveUpAt = this.#c.clock.now() + PROBE_PATIENCE_MS;
    for (let wait = 500; ; wait = Math.min(wait * 2, 4_000)) {
      const round = Promise.all(Array.from({ length: Math.min(candidates.length, init.probeConcurrency ?? 8) }, worker));
      const t0 = this.#c.clock.now();
      await new Promise<void>((resolve) => {
        let timer: TimerHandle | undefined;
        const finish = (): void => {
          if (timer !== undefined) this.#c.clock.clearTimeout(timer);
          onAnswer = undefined;
          resolve();
        };
        void round.then(finish, finish);
        onAnswer = () => {
          if (timer === undefined) timer = this.#c.clock.setTimeout(finish, Math.max(PROBE_GRACE_MS, 4 * (this.#c.clock.now() - t0)));
        };
        if (answers.length > 0) onAnswer();
      });
      this.#checkStopped();
      if (answers.length > 0 || wrong.length > 0 || transient < candidates.length || this.#c.clock.now() + wait > giveUpAt) break;
      await new Promise<void>((resolve) => this.#c.clock.setTimeout(resolve, wait));
      this.#checkStopped();
      next = 0;
      unreachable = 0;
      transient = 0;
    }
    if (answers.length === 0) {
      if (wrong.length > 0) {
        throw ScpError.verifyFailed(
          `content ${hex}: ${wrong.length} provider(s) sent a chunk list that does not match the item's chunk_list_hash/chunk_count; nothing was downloaded`,
          { contentId: hex, peers: wrong },
        );
      }
      throw ScpError.notFound(`no provider has content ${hex} (${candidates.length} peer(s) asked, ${unreachable} without it or unreachable); retry when a seeder is online`, {
        contentId: hex,
      });
    }
    // Without an expected hash, the largest group of identical lists wins (ties: the first answer).
    const groups = new Map<string, typeof answers>();
    for (const a of answers) groups.set(a.listHash, [...(groups.get(a.listHash) ?? []), a]);
    let best = answers[0] as (typeof answers)[number];
    let bestN = 0;
    for (const g of groups.values()) {
      if (g.length > bestN) {
        best = g[0] as (typeof answers)[number];
        bestN = g.length;
      }
    }
    const chosen = groups.get(best.listHash) as typeof answers;
    for (const a of answers) if (a.listHash !== best.listHash) this.#c.penalise?.(a.peer, 'bad-chunk-list');
    const providers = onePerNode(chosen.map((a) => a.peer));
    late.listHash = best.listHash;
    late.providers = providers;
    return { hashes: trusted ?? best.hashes, providers };
  }

  /** A provider the chunk-list probe heard from after the download moved on (see PROBE_GRACE_MS). */
  #joinLate(peer: PeerAddr, providers: PeerAddr[]): void {
    providers.push(peer); // not yet swarming: #swarm takes it from here
    const s = this.#scheduler;
    const key = peerAddrKey(peer);
    if (!s || s.finished || this.#stopMode || this.#inSwarm(peer)) return;
    this.#peers.set(key, peer);
    this.#input({ type: 'peerAdded', peer: key });
  }

  /**
   * The last chunk (its length gives the size), from the providers in order; the next one is asked too when the
   * current one fails or has not answered within the probe grace, and the first verified copy wins.
   */
  async #fetchLastChunk(providers: PeerAddr[]): Promise<{ index: number; bytes: Uint8Array }> {
    const last = this.#hashes.length - 1;
    const ask = async (peer: PeerAddr): Promise<{ index: number; bytes: Uint8Array }> => {
      const bytes = await this.#getChunk(peer, last);
      try {
        if (bytes.length > 0 && (await this.#verify(this.#hashes[last] as Uint8Array, bytes))) return { index: last, bytes: bytes.slice() };
      } finally {
        this.#c.recycle?.(bytes); // kept as a copy of its own: the received memory (a slab slot, say) goes back
      }
      this.#c.penalise?.(peer, 'corrupt-chunk');
      throw ScpError.verifyFailed('last chunk failed verification');
    };
    const t0 = this.#c.clock.now();
    const tries: Promise<{ index: number; bytes: Uint8Array }>[] = [];
    for (const peer of providers) {
      this.#checkStopped();
      const attempt = ask(peer);
      attempt.catch(() => undefined);
      tries.push(attempt);
      // Until one succeeds (done), all asked so far failed, or the grace passes (then the next one is asked too).
      const grace = Math.max(PROBE_GRACE_MS, 4 * (this.#c.clock.now() - t0));
      let timer: TimerHandle | undefined;
      const outcome = await Promise.race([
        Promise.any(tries).then((r) => ({ r }), () => 'all-failed' as const),
        new Promise<'grace'>((resolve) => (timer = this.#c.clock.setTimeout(() => resolve('grace'), grace))),
      ]);
      if (timer !== undefined) this.#c.clock.clearTimeout(timer);
      if (typeof outcome === 'object') return outcome.r;
    }
    try {
      return await Promise.any(tries);
    } catch {
      throw ScpError.notFound(`content ${toHex(this.#init.contentId)}: no provider served its last chunk (needed to learn its size); retry later`);
    }
  }

  async #resumeBitmap(chunkCount: number): Promise<ChunkBitmap> {
    const stored = this.#c.store.bitmap(this.id);
    const partialExists = await stat(this.#init.targetPath + PARTIAL_SUFFIX).then((s) => s.isFile(), () => false);
    if (stored && partialExists) {
      try {
        return ChunkBitmap.deserialise(stored, chunkCount);
      } catch {
        /* a bitmap for another shape: start over */
      }
    }
    return new ChunkBitmap(chunkCount);
  }

  // ---- the swarm loop

  #swarm(bitmap: ChunkBitmap, providers: PeerAddr[]): Promise<void> {
    this.#peers.clear();
    for (const p of onePerNode(providers)) this.#peers.set(peerAddrKey(p), p);
    const s = new SwarmScheduler(
      { random: this.#c.random },
      {
        ...this.#init.policy,
        chunkCount: bitmap.size,
        verified: bitmap,
        peers: [...this.#peers.keys()].map((peer) => ({ peer })),
        parallelChunks: this.#init.parallelChunks ?? this.#init.policy?.parallelChunks ?? 8,
        requestTimeoutMs: this.#init.policy?.requestTimeoutMs ?? (this.#init.requestTimeoutMs ?? 8_000) + 2_000,
        maxStallRounds: this.#init.policy?.maxStallRounds ?? DEFAULT_MAX_STALL_ROUNDS,
      },
    );
    this.#scheduler = s;
    return new Promise<void>((resolve, reject) => {
      this.#loop = { resolve, reject };
      if (this.#stopMode) {
        reject(this.#abortedError());
        return;
      }
      s.start(this.#c.clock.now());
      this.#drain();
      this.#armRefresh(s);
    }).finally(() => {
      this.#loop = undefined;
      this.#clearTimer();
      if (this.#refreshTimer !== undefined) this.#c.clock.clearTimeout(this.#refreshTimer);
      this.#refreshTimer = undefined;
    });
  }

  #armRefresh(s: SwarmScheduler): void {
    const every = this.#init.providerRefreshMs ?? 5_000;
    if (every <= 0) return;
    this.#refreshTimer = this.#c.clock.setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.#refreshProviders(s).finally(() => {
        if (s === this.#scheduler && !s.finished && !this.#stopMode && this.#loop) this.#armRefresh(s);
      });
    }, every);
  }

  /** No progress since the last look (or nobody left to ask): look for providers again and let new ones join. */
  async #refreshProviders(s: SwarmScheduler): Promise<void> {
    const done = this.bytesDone;
    const stuck = done === this.#bytesAtLastRefresh || s.activePeers === 0;
    this.#bytesAtLastRefresh = done;
    if (!stuck) return;
    let fresh: PeerAddr[];
    try {
      fresh = await this.#init.providers();
    } catch {
      return;
    }
    if (s !== this.#scheduler || s.finished || this.#stopMode) return;
    for (const p of onePerNode(fresh)) {
      const key = peerAddrKey(p);
      if (this.#inSwarm(p)) continue;
      this.#peers.set(key, p);
      this.#input({ type: 'peerAdded', peer: key });
    }
  }

  /** The node behind `p` is in the swarm already, under this or another of its addresses (see `nodeKey`). */
  #inSwarm(p: PeerAddr): boolean {
    const k = nodeKey(p);
    for (const q of this.#peers.values()) if (nodeKey(q) === k) return true;
    return false;
  }

  #drain(): void {
    const s = this.#scheduler;
    if (!s || this.#stopMode) return;
    for (let e = s.pollEffect(); e; e = s.pollEffect()) {
      switch (e.kind) {
        case 'request':
          this.#issue(e.peer, e.chunkIndex);
          break;
        case 'cancel':
          this.#inFlight.get(reqKey(e.peer, e.chunkIndex))?.abort();
          this.#inFlight.delete(reqKey(e.peer, e.chunkIndex));
          break;
        case 'penalise': {
          const addr = this.#peers.get(e.peer);
          if (addr) this.#c.penalise?.(addr, e.reason);
          break;
        }
        case 'done':
          void this.#settleDone();
          return;
        case 'failed': {
          const corrupt = s.peers().some((p) => p.corrupt > 0);
          const details = { reason: e.reason, chunkIndex: e.chunkIndex, peers: s.peers() };
          const msg = `content ${toHex(this.#init.contentId)}: ${e.message}`;
          this.#loop?.reject(corrupt && s.activePeers === 0 ? ScpError.verifyFailed(msg, details) : ScpError.notFound(msg, details));
          return;
        }
      }
    }
    this.#arm();
  }

  async #settleDone(): Promise<void> {
    try {
      await Promise.all(this.#writes);
      await this.#persistBitmap((this.#scheduler as SwarmScheduler).bitmap);
      this.#loop?.resolve();
    } catch (err) {
      this.#loop?.reject(err);
    }
  }

  #issue(peerKey: string, index: number): void {
    const peer = this.#peers.get(peerKey);
    const s = this.#scheduler as SwarmScheduler;
    if (!peer) {
      queueMicrotask(() => this.#input({ type: 'chunkFailed', peer: peerKey, chunkIndex: index, reason: 'error' }));
      return;
    }
    const ctl = new AbortController();
    const key = reqKey(peerKey, index);
    this.#inFlight.set(key, ctl);
    const timeoutMs = this.#init.requestTimeoutMs ?? 8_000;
    const sent = this.#c.request(peer, MessageType.GET_CHUNK, getChunkCodec.encode({ contentId: this.#init.contentId, chunkIndex: index }), {
      timeoutMs,
      signal: ctl.signal,
      onLateReply: this.#giveBack,
    });
    sent.then(
      (payload) => this.#onChunk(peerKey, index, payload, ctl),
      (err: unknown) => {
        if (this.#inFlight.get(key) === ctl) this.#inFlight.delete(key);
        if (ctl.signal.aborted || this.#stopMode || s !== this.#scheduler) return;
        if (isRateLimited(err) || isTransient(err)) this.#rest(peerKey);
        else this.#input({ type: 'chunkFailed', peer: peerKey, chunkIndex: index, reason: failureReason(err) });
      },
    );
  }

  /**
   * The peer rate-limits us (the reference allows 600 GET_CHUNK a minute per peer): not the chunk's fault, so
   * the peer leaves the swarm for a while (its chunks go back to the queue uncharged) and then comes back.
   */
  #rest(peerKey: string): void {
    const s = this.#scheduler as SwarmScheduler;
    if (this.#resting.has(peerKey)) return;
    const n = (this.#rests.get(peerKey) ?? 0) + 1;
    this.#rests.set(peerKey, n);
    const ms = Math.min(RATE_LIMIT_MAX_REST_MS, (this.#init.rateLimitRestMs ?? RATE_LIMIT_REST_MS) * 2 ** (n - 1));
    const h = this.#c.clock.setTimeout(() => {
      this.#resting.delete(peerKey);
      if (s === this.#scheduler) this.#input({ type: 'peerAdded', peer: peerKey });
    }, ms);
    this.#resting.set(peerKey, h);
    this.#input({ type: 'peerGone', peer: peerKey });
  }

  #onChunk(peerKey: string, index: number, payload: Uint8Array, ctl: AbortController): void {
    const key = reqKey(peerKey, index);
    if (this.#inFlight.get(key) === ctl) this.#inFlight.delete(key);
    const s = this.#scheduler as SwarmScheduler;
    // Every answer not handed to the writer goes back at once: its memory may be a slot the session lent.
    const drop = (): void => this.#giveBack(payload);
    if (ctl.signal.aborted || this.#stopMode || !s.isOutstanding(peerKey, index)) return drop();
    let bytes: Uint8Array;
    try {
      const msg = decodeResponsePayload(MessageType.GET_CHUNK, payload);
      if (msg.chunkIndex !== index || !bytesEqual(msg.contentId, this.#init.contentId)) throw new Error('echoed id or index differs');
      bytes = msg.bytes;
    } catch {
      drop();
      this.#input({ type: 'chunkFailed', peer: peerKey, chunkIndex: index, reason: 'protocol' });
      return;
    }
    const expectedLen = Math.min(CHUNK_SIZE, this.#size - index * CHUNK_SIZE);
    const check = bytes.length === expectedLen ? this.#verify(this.#hashes[index] as Uint8Array, bytes) : false;
    const afterCheck = (ok: boolean): void => {
      if (this.#stopMode || s !== this.#scheduler) return drop();
      if (!ok) {
        drop();
        this.#input({ type: 'chunkFailed', peer: peerKey, chunkIndex: index, reason: 'bad-hash' });
        return;
      }
      if (s.isVerified(index)) {
        drop();
        this.#input({ type: 'chunkVerified', peer: peerKey, chunkIndex: index });
        return;
      }
      // The content digest takes the chunk now, in arrival order and while it is still in cache: after the write it
      // would come in the order the disk finished (a chunk too far out of order for the digest to hold is read back
      // from the file later) and be read from memory again. A failed write fails the download, digest and all. The
      // chunk's memory goes back once both the digest and the writer are done with it; the writer is when it has
      // copied the chunk into an aligned slot of its own (onCopied) or, writing from the chunk itself (shared slab),
      // when the write ends.
      let holders = 2;
      const letGo = (): void => {
        if (--holders === 0) this.#c.recycle?.(bytes);
      };
      if (this.#prefix?.add(index, bytes) === false) this.#heldByDigest.set(bytes, letGo);
      else letGo();
      let handed = false;
      const handOver = (): void => {
        if (handed) return;
        handed = true;
        letGo();
      };
      const w = (this.#writer as FileWriter).writeChunk(index, bytes, handOver).then(
        () => {
          handOver();
          this.#writes.delete(w);
          this.#fetched++;
          if (this.#stopMode || s.finished || s !== this.#scheduler) {
            // The scheduler is done with (failed, paused): the chunk is on disk and verified all the same, so
            // its bit goes straight into the bitmap that the final flush persists.
            if (!s.bitmap.has(index)) s.bitmap.set(index);
            return;
          }
          this.#input({ type: 'chunkVerified', peer: peerKey, chunkIndex: index });
          if (this.#flush.markDirty(this.#c.clock.now())) void this.#persistBitmap(s.bitmap);
          this.#init.onProgress?.({ bytesDone: this.bytesDone, bytesTotal: this.#size, peers: s.activePeers });
        },
        (err: unknown) => {
          handOver();
          this.#writes.delete(w);
          this.#loop?.reject(fsError(err, 'writing', (this.#writer as FileWriter).partialPath)); // disk errors end the download
        },
      );
      this.#writes.add(w);
    };
    if (typeof check === 'boolean') afterCheck(check);
    else {
      const checked = check.then(afterCheck, () => afterCheck(false));
      this.#checks.add(checked);
      const settled = (): void => {
        this.#checks.delete(checked);
      };
      checked.then(settled, settled);
    }
  }

  #input(input: Parameters<SwarmScheduler['handle']>[0]): void {
    const s = this.#scheduler;
    if (!s || this.#stopMode) return;
    s.handle(input, this.#c.clock.now());
    this.#drain();
  }

  #arm(): void {
    const s = this.#scheduler;
    if (!s || this.#stopMode || s.finished) return;
    const a = s.nextDeadline();
    const b = this.#flush.nextDeadline();
    const at = Math.min(a ?? Infinity, b ?? Infinity);
    if (at === this.#timerAt) return;
    this.#clearTimer();
    if (at === Infinity) return;
    this.#timerAt = at;
    this.#timer = this.#c.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#onTimer();
    }, Math.max(0, at - this.#c.clock.now()));
  }

  #onTimer(): void {
    const s = this.#scheduler;
    if (!s || this.#stopMode) return;
    const now = this.#c.clock.now();
    if (this.#flush.due(now)) void this.#persistBitmap(s.bitmap);
    s.handleTimeout(now);
    this.#drain();
  }

  #clearTimer(): void {
    if (this.#stopMode || this.#scheduler?.finished) {
      for (const h of this.#resting.values()) this.#c.clock.clearTimeout(h);
      this.#resting.clear();
    }
    if (this.#timer !== undefined) this.#c.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** The digest is done with a chunk it held: its memory goes back once the writer is done with it too. */
  #digestReleased(bytes: Uint8Array): void {
    const letGo = this.#heldByDigest.get(bytes);
    this.#heldByDigest.delete(bytes);
    if (letGo) letGo();
    else this.#c.recycle?.(bytes);
  }

  /** Serialised after the previous write, so bitmaps land in order. */
  #persistBitmap(bitmap: ChunkBitmap): Promise<unknown> {
    this.#flush.flushed();
    const bytes = bitmap.serialise();
    this.#persisting = this.#persisting.then(() => this.#c.store.putBitmap(this.id, bytes)).catch(() => undefined);
    return this.#persisting;
  }

  async #finalize(): Promise<void> {
    const streamedDigest = await this.#prefix?.finish().catch(() => undefined);
    await (this.#writer as FileWriter).finalize({ chunkHashes: this.#hashes, ...(streamedDigest ? { streamedDigest } : {}) });
  }

  async #afterError(): Promise<void> {
    this.#abort.abort();
    for (const h of this.#resting.values()) this.#c.clock.clearTimeout(h);
    this.#resting.clear();
    for (const c of this.#inFlight.values()) c.abort();
    this.#inFlight.clear();
    // Chunks already received are still hashed, and written when they pass: a failed download keeps them for its
    // resume instead of fetching them again (on a loaded machine the pool's first answers can come after the
    // failure itself). Their writes join #writes before it is awaited.
    await Promise.allSettled([...this.#checks]);
    await Promise.allSettled([...this.#writes]);
    this.#prefix?.dispose();
    if (this.#stopMode === 'cancel') {
      await this.#discardAll();
      return;
    }
    // Pause, or a failure that may be resumed: keep what is verified.
    if (this.#scheduler) await this.#persistBitmap(this.#scheduler.bitmap);
    await this.#writer?.close();
  }

  async #discardAll(): Promise<void> {
    if (this.#writer) await this.#writer.discard().catch(() => undefined);
    else await unlink(this.#init.targetPath + PARTIAL_SUFFIX).catch(() => undefined);
    await this.#persisting;
    await this.#c.store.removeBitmap(this.id);
  }

  async #getChunk(peer: PeerAddr, index: number): Promise<Uint8Array> {
    const payload = await this.#c.request(peer, MessageType.GET_CHUNK, getChunkCodec.encode({ contentId: this.#init.contentId, chunkIndex: index }), {
      timeoutMs: this.#init.requestTimeoutMs ?? 8_000,
      signal: this.#abort.signal,
      onLateReply: this.#giveBack,
    });
    const msg = decodeResponsePayload(MessageType.GET_CHUNK, payload);
    if (msg.chunkIndex !== index || !bytesEqual(msg.contentId, this.#init.contentId)) throw ScpError.badInput('echoed id or index differs');
    return msg.bytes;
  }

  #checkStopped(): void {
    if (this.#stopMode) throw this.#abortedError();
  }

  #abortedError(): ScpError {
    return new ScpError(
      'ABORTED',
      this.#stopMode === 'cancel' ? `download ${this.id} was cancelled` : `download ${this.id} was paused; resumeDownload continues it`,
      { id: this.id, mode: this.#stopMode },
    );
  }
}

function reqKey(peer: string, index: number): string {
  return `${index}|${peer}`;
}

/**
 * The peer dropped or refused the connection, or could not serve just now (a restarting actor of the peer makes
 * its session answer "internal error"): a blip of the peer, not the chunk's fault, so the peer rests like a
 * rate-limited one instead of being charged; before this, one seeder restarting its session failed every
 * download that had only that seeder (actor-fault campaign, seeder side).
 */
function isTransient(err: unknown): boolean {
  const e = err as { code?: unknown; details?: { text?: unknown } } | undefined;
  if (e?.code === 'IO' || e?.code === 'UNREACHABLE') return true;
  return e?.code === 'REMOTE' && e.details?.text === 'internal error';
}

function isRateLimited(err: unknown): boolean {
  const e = err as { code?: unknown; details?: { text?: unknown } } | undefined;
  return e?.code === 'REMOTE' && typeof e.details?.text === 'string' && e.details.text.includes('rate limit');
}

function failureReason(err: unknown): ChunkFailureReason {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'TIMEOUT') return 'timeout';
  if (code === 'PROTOCOL') return 'protocol';
  if (code === 'REMOTE' || code === 'NOT_FOUND') return 'not-found';
  return 'error';
}

/**
 * Who a provider address belongs to. The swarm's unit is a node: a seeder that listens on TLS and QUIC is in its
 * provider record twice, and the session sends a request for either address down a connection to that identity
 * (dialing by its transport policy when there is none). Counted twice, one seeder showed as "2 peers" and got two
 * windows of requests. The chunk-list probe still asks every address (the first may be the one that does not
 * reach); the swarm takes one that answered. A relayed address is a path of its own (through that relay), and an
 * address without a key hint cannot be matched.
 */
export function nodeKey(p: PeerAddr): string {
  return !p.relayVia && p.pubkeyHint ? `node:${toHex(p.pubkeyHint)}` : peerAddrKey(p);
}

/** The first of `peers` for each `key`, in order. */
function firstOfEach(peers: readonly PeerAddr[], key: (p: PeerAddr) => string): PeerAddr[] {
  const seen = new Set<string>();
  return peers.filter((p) => {
    const k = key(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const uniqueAddrs = (peers: readonly PeerAddr[]): PeerAddr[] => firstOfEach(peers, peerAddrKey);

/** The first address of each node (`nodeKey`), in order. */
export const onePerNode = (peers: readonly PeerAddr[]): PeerAddr[] => firstOfEach(peers, nodeKey);

/** Bytes covered by the verified chunks (the last chunk may be short). */
export function bytesOf(bitmap: ChunkBitmap, size: number): number {
  if (bitmap.size === 0) return 0;
  const last = bitmap.size - 1;
  const lastLen = size - last * CHUNK_SIZE;
  return bitmap.has(last) ? (bitmap.count - 1) * CHUNK_SIZE + lastLen : bitmap.count * CHUNK_SIZE;
}

export function concatHashes(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * 32);
  hashes.forEach((h, i) => out.set(h, i * 32));
  return out;
}

export function splitHashes(all: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + 32 <= all.length; i += 32) out.push(all.slice(i, i + 32));
  return out;
}

