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
import { TokenBucket } from './token-bucket.js';

/**
 * Fetcher actor: downloads (DownloadManager → DownloadJob → SwarmScheduler) and seeding (SeedService →
 * ChunkReader). This file only wires components: lmdb sub-databases `fetcher/downloads` and `fetcher/seeds`,
 * the session and DHT mailboxes, the hashing pool (made on first use in this thread, so chunk bytes never
 * cross the main thread), the re-announce timer. Settings: fetcher-config.ts.
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
    const reader = new ChunkReader(
      { clock: ctx.clock },
      {
        maxPerPeer: cfg.seedMaxPerPeer,
        ...(cfg.seedBytesPerSecond ? { bandwidth: new TokenBucket({ bytesPerSecond: cfg.seedBytesPerSecond }, ctx.clock.now()) } : {}),
      },
    );
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
    });
    seeds.restore();

    const downloads = new DownloadManager(
      {
        clock: ctx.clock,
        random: ctx.random.fork('downloads'),
        request: session.request,
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
        reannounceSeededContent: async () => ({ announced: await seeds.reannounceAll() }),
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
      const r = await ctx.peers.request(
        'session',
        { type: 'request', to, messageType: type, payload, timeoutMs: opts.timeoutMs },
        { timeoutMs: opts.timeoutMs + 2_000, signal: opts.signal },
      );
      return r.payload;
    },
    selfAddrs: () => ctx.peers.request('session', { type: 'selfAddrs' }, { timeoutMs: 5_000 }),
    contacts: async () => (await ctx.peers.request('session', { type: 'contacts', connectedOnly: true, limit: 64 }, { timeoutMs: 5_000 })).map((c) => c.addr),
  };
}

/** Explicit peers first, then the DHT's provider record, then connected peers; never our own addresses. */
async function discoverProviders(ctx: ActorContext, session: SessionClient, contentId: Uint8Array, explicit: PeerAddr[]): Promise<PeerAddr[]> {
  const [self, fromDht, contacts] = await Promise.all([
    session.selfAddrs().catch((): PeerAddr[] => []),
    ctx.peers
      .request('dht', { type: 'findProviders', contentId }, { timeoutMs: 20_000 })
      .then((r) => r.providers)
      .catch((): PeerAddr[] => []),
    session.contacts().catch((): PeerAddr[] => []),
  ]);
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
  return out;
}
