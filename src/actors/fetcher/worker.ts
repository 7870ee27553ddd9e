import { HashingPool } from '../../hashing/hashing-pool.js';
import { toHex } from '../../protocol/bytes.js';
import { peerAddrKey, type PeerAddr } from '../../protocol/peer-addr.js';
import { openEnvironment, subDatabase } from '../../store/environment.js';
import type { ActorContext, ActorDefinition } from '../runtime/actor-definition.js';
import type { TimerHandle } from '../runtime/clock.js';
import { withTransfer } from '../runtime/transfer.js';
import { ChunkReader } from './chunk-reader.js';
import { concatHashes, type PeerRequest } from './download-job.js';
import { DownloadManager } from './download-manager.js';
import { readFetcherConfig } from './fetcher-config.js';
import { DownloadStore, lmdbKeyValue, type StoredSeed } from './fetcher-store.js';
import { SeedService } from './seed-service.js';
import { TokenBucket } from '../runtime/token-bucket.js';
import { applyFetcherLimits, DownloadShaper, UploadGate } from './transfer-limits.js';
import { TransferStats } from './transfer-stats.js';
import { verifyChunk } from '../../protocol/content.js';
import { BufferRecycler } from '../runtime/buffer-recycler.js';
import { ChunkBufferPool } from '../runtime/chunk-buffer-pool.js';
import type { ServeTableUpdate } from '../../messages/session-mailbox.js';

/**
 * Fetcher actor: downloads (DownloadManager → DownloadJob → SwarmScheduler) and seeding (SeedService →
 * ChunkReader; the session answers most GET_CHUNK itself from a copy of the serve table, session/chunk-server.ts).
 * This file only wires components: lmdb sub-databases `fetcher/downloads` and `fetcher/seeds`, the session and DHT
 * mailboxes, the hashing pool (made on first use in this thread, so chunk bytes never cross the main thread), the
 * re-announce timer. Settings: fetcher-config.ts.
 */
export const actor: ActorDefinition<'fetcher'> = {
  name: 'fetcher',
  start(ctx) {
    const cfg = readFetcherConfig(ctx.config, ctx.dataDir);
    let pool: HashingPool | undefined;
    const hashing = (): HashingPool => (pool ??= new HashingPool({ threads: cfg.hashThreads }));
    const epochMs = cfg.epochMs ?? Date.now() - ctx.clock.now();

    const env = openEnvironment(ctx.dataDir);
    const downloadsDb = new DownloadStore(lmdbKeyValue(subDatabase<unknown>(env, 'fetcher', 'downloads')));
    const seedsKv = lmdbKeyValue(subDatabase<StoredSeed>(env, 'fetcher', 'seeds'));

    const session = sessionClient(ctx);
    // Live limits (transfer-limits.ts, set by node.setLimits) and batched chunk counters for metrics.
    const stats = new TransferStats(ctx.clock, (e) => ctx.emit(e));
    const shaper = new DownloadShaper(ctx.clock);
    const upload = new UploadGate({ base: cfg.seedBytesPerSecond ? new TokenBucket({ bytesPerSecond: cfg.seedBytesPerSecond }, ctx.clock.now()) : null });
    const reader = new ChunkReader({ clock: ctx.clock }, { maxPerPeer: cfg.seedMaxPerPeer, bandwidth: upload });
    // The session answers GET_CHUNK from its copy of our serve table while no upload cap is set (caps are counted
    // here only): whole when either of us starts, then the changes (session/chunk-server.ts).
    const pushTable = (update: ServeTableUpdate): Promise<void> => ctx.peers.request('session', { type: 'serveTable', update }, { timeoutMs: 5_000 });
    const wholeTable = (): ServeTableUpdate & { kind: 'reset' } => ({ kind: 'reset', files: seeds.servableFiles(), direct: !upload.active, maxPerPeer: cfg.seedMaxPerPeer });
    // CHUNK_DATA replies are read into buffers the session hands back once written (runtime/chunk-buffer-pool.ts).
    const replyPool = new ChunkBufferPool();
    const seeds = new SeedService({
      seeds: seedsKv,
      reader,
      hashFile: (path) => hashing().hashFile(path),
      announce: async (contentId) => {
        const addrs = await session.selfAddrs();
        if (addrs.length === 0) throw new Error('no dialable address to announce yet');
        await ctx.peers.request('dht', { type: 'addProvider', contentId, addrs }, { timeoutMs: 30_000 });
      },
      unannounce: async (contentId) => {
        const addrs = await session.selfAddrs();
        await ctx.peers.request('dht', { type: 'removeProvider', contentId, addrs }, { timeoutMs: 10_000 });
      },
      now: () => Math.floor(epochMs + ctx.clock.now()),
      served: (bytes) => stats.served(bytes),
      allocReply: (size) => replyPool.take(size),
      servable: (change) => pushTable({ kind: 'change', ...change }),
    });
    seeds.restore();
    void pushTable(wholeTable()).catch(() => undefined); // a session not up yet asks for it when it starts

    // Chunk buffers go back to the session's frame pool once written (runtime/chunk-buffer-pool.ts), slab slots
    // by offset (runtime/shared-chunk-slab.ts).
    const recycler = new BufferRecycler((buffers, slabOffsets) => {
      ctx.peers.request('session', { type: 'recycleBuffers', buffers, slabOffsets }, { timeoutMs: 5_000, transfer: buffers }).catch(() => undefined);
    }, ctx.clock);
    const downloads = new DownloadManager(
      {
        clock: ctx.clock,
        recycle: (bytes) => recycler.recycle(bytes),
        random: ctx.random.fork('downloads'),
        request: shaper.wrap(session.request),
        verify: (expected, bytes) => {
          const ok = verifyChunk(expected, bytes);
          if (ok) stats.verified(bytes.length);
          else stats.rejected();
          return ok;
        },
        discover: (contentId, explicit) => discoverProviders(ctx, session, contentId, explicit),
        store: downloadsDb,
        emit: (e) => ctx.emit(e),
        completed: (d) => seeds.seed({ contentId: d.contentId, path: d.path, size: d.size, chunkHashes: concatHashes(d.chunkHashes) }),
      },
      {
        downloadDir: cfg.downloadDir,
        parallelChunks: cfg.parallelChunks,
        maxConcurrentDownloads: cfg.maxConcurrentDownloads,
        diskQuotaBytes: cfg.diskQuotaBytes,
        requestTimeoutMs: cfg.requestTimeoutMs,
        directWrites: cfg.directWrites,
        // The scheduler's safety-net timeout counts from when a chunk is scheduled; a request held back by a
        // bandwidth cap would trip it. The session request always settles (its timeout starts when it is sent).
        policy: { requestTimeoutMs: 0, chunksPerPeer: cfg.chunksPerPeer, maxParallelChunks: cfg.maxParallelChunks, refillBatch: cfg.refillBatch },
      },
    );
    downloads.restore();

    // Re-announce everything seeded every interval; retry failed announces sooner.
    let timer: TimerHandle | undefined;
    let nextFull = ctx.clock.now() + 2_000; // first pass once the session has its listeners
    const tick = (): void => {
      const now = ctx.clock.now();
      const work = now >= nextFull ? seeds.reannounceAll().then(() => undefined) : seeds.retryAnnounces();
      if (now >= nextFull) nextFull = now + cfg.reannounceIntervalMs;
      void work.catch(() => undefined).finally(() => {
        timer = ctx.clock.setTimeout(tick, Math.min(30_000, Math.max(0, nextFull - ctx.clock.now())));
      });
    };
    timer = ctx.clock.setTimeout(tick, 2_000);

    ctx.defer(async () => {
      if (timer) ctx.clock.clearTimeout(timer);
      shaper.close();
      recycler.close();
      stats.flush();
      await downloads.close().catch(() => undefined);
      await reader.close().catch(() => undefined);
      await pool?.close();
      await env.close();
    });

    return {
      handlers: {
        async hashChunks(req) {
          const r = await hashing().hashChunks(req.buffer, req.buffer.byteLength, req.chunkSize);
          return withTransfer(r, [r.buffer, r.hashes.buffer as ArrayBuffer]);
        },
        bounce: (req) => withTransfer({ buffer: req.buffer }, [req.buffer]),
        wire: (req) => seeds.handleWire(req),
        seed: (req) => seeds.seed(req),
        downloadContent: (req) => downloads.downloadContent(req),
        downloadItems: (req) => downloads.downloadItems(req),
        listDownloads: () => downloads.list(),
        pauseDownload: (req) => downloads.pause(req.id),
        resumeDownload: (req) => downloads.resume(req.id),
        cancelDownload: (req) => downloads.cancel(req.id),
        stopSeeding: async (req) => ({ stopped: await seeds.stop(req.contentId) }),
        recycleBuffers: (req) => replyPool.give(req.buffers),
        serveTable: () => wholeTable(),
        reannounceSeededContent: async () => ({ announced: await seeds.reannounceAll() }),
        setLimits: async (req) => {
          const r = applyFetcherLimits(req.limits, {
            clock: ctx.clock,
            shaper,
            upload,
            setMaxConcurrentDownloads: (n) => downloads.setMaxConcurrentDownloads(n),
            defaultMaxConcurrentDownloads: cfg.maxConcurrentDownloads,
          });
          ctx.log.info({ limits: req.limits, held: shaper.queued }, 'limits applied');
          // With an upload cap every GET_CHUNK comes here again, where caps are counted.
          await pushTable({ kind: 'change', direct: !upload.active }).catch(() => undefined);
          return r;
        },
      },
      async stop() {
        await downloads.close();
      },
    };
  },
};

interface SessionClient {
  request: PeerRequest;
  selfAddrs(): Promise<PeerAddr[]>;
  contacts(): Promise<PeerAddr[]>;
}

/** The session mailbox as the fetcher uses it. */
function sessionClient(ctx: ActorContext): SessionClient {
  return {
    request: async (to, type, payload, opts) => {
      const until = ctx.clock.now() + opts.timeoutMs;
      for (;;) {
        const timeoutMs = Math.max(1, until - ctx.clock.now());
        try {
          const r = await ctx.peers.request(
            'session',
            { type: 'request', to, messageType: type, payload, timeoutMs },
            { timeoutMs: timeoutMs + 2_000, signal: opts.signal, ...(opts.onLateReply ? { onLateReply: (r) => opts.onLateReply?.((r as { payload: Uint8Array }).payload) } : {}) },
          );
          return r.payload;
        } catch (err) {
          // Our own session restarting is not the peer's fault: without this the scheduler charged the chunk to
          // the peer (two such crashes failed the download) and a probe found "no provider" (actor-fault campaign).
          if (!ownSessionDown(err) || opts.signal.aborted || ctx.clock.now() >= until) throw err;
          await sessionBack(ctx, until, opts.signal);
        }
      }
    },
    selfAddrs: () => ctx.peers.request('session', { type: 'selfAddrs' }, { timeoutMs: 5_000 }),
    contacts: async () => (await ctx.peers.request('session', { type: 'contacts', connectedOnly: true, limit: 64 }, { timeoutMs: 5_000 })).map((c) => c.addr),
  };
}

function ownSessionDown(err: unknown): boolean {
  const e = err as { code?: unknown; details?: { actor?: unknown } } | undefined;
  return e?.code === 'ACTOR_UNAVAILABLE' && e.details?.actor === 'session';
}

/** Resolves once the supervisor has handed us a channel to the new session incarnation (or at `until`/abort). */
async function sessionBack(ctx: ActorContext, until: number, signal: AbortSignal): Promise<void> {
  while (!ctx.peers.has('session') && !signal.aborted && ctx.clock.now() < until) {
    await new Promise<void>((resolve) => ctx.clock.setTimeout(resolve, 50));
  }
}

/**
 * Our own session or DHT restarting (or a restarted session not yet reconnected) finds nobody; that says
 * nothing about the content, so an empty answer given while either was down or no peer was connected is asked
 * again for a while before the download fails NOT_FOUND (the actor-fault campaign, docs/RELIABILITY.md).
 */
const DISCOVERY_PATIENCE_MS = 15_000;

async function discoverProviders(ctx: ActorContext, session: SessionClient, contentId: Uint8Array, explicit: PeerAddr[]): Promise<PeerAddr[]> {
  const until = ctx.clock.now() + DISCOVERY_PATIENCE_MS;
  for (let wait = 250; ; wait = Math.min(wait * 2, 2_000)) {
    const r = await discoverOnce(ctx, session, contentId, explicit);
    if (r.found.length > 0 || !r.localOutage || ctx.clock.now() + wait > until) return r.found;
    await new Promise<void>((resolve) => ctx.clock.setTimeout(resolve, wait));
  }
}

/** Explicit peers first, then the DHT's provider record, then connected peers; never our own addresses. */
async function discoverOnce(ctx: ActorContext, session: SessionClient, contentId: Uint8Array, explicit: PeerAddr[]): Promise<{ found: PeerAddr[]; localOutage: boolean }> {
  let localOutage = false;
  const down = (): PeerAddr[] => {
    localOutage = true;
    return [];
  };
  const [self, fromDht, contacts] = await Promise.all([
    session.selfAddrs().catch(down),
    ctx.peers
      .request('dht', { type: 'findProviders', contentId }, { timeoutMs: 20_000 })
      .then((r) => r.providers)
      .catch(down),
    session.contacts().catch(down),
  ]);
  if (contacts.length === 0) localOutage = true;
  const selfKeys = new Set(self.map(peerAddrKey));
  const selfKeysHex = new Set(self.flatMap((a) => (a.pubkeyHint ? [toHex(a.pubkeyHint)] : [])));
  const out: PeerAddr[] = [];
  const seen = new Set<string>();
  for (const a of [...explicit, ...fromDht, ...contacts]) {
    const k = peerAddrKey(a);
    if (seen.has(k) || selfKeys.has(k) || (a.pubkeyHint && selfKeysHex.has(toHex(a.pubkeyHint)))) continue;
    seen.add(k);
    out.push(a);
  }
  return { found: out, localOutage };
}
