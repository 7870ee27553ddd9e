import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ScpError } from '../../errors.js';
import { HashingPool } from '../../hashing/hashing-pool.js';
import type { PublishRequest, PublishResult, SearchResult, ShareItemView } from '../../messages/index-mailbox.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { chunkListHash, type ContentDescription } from '../../protocol/content.js';
import { manifestLocKey, shareHeadKey } from '../../protocol/dht-keys.js';
import { manifestId as computeManifestId, signManifest, type ItemV1, type ManifestV1 } from '../../protocol/manifest.js';
import { peerAddrKey, type PeerAddr } from '../../protocol/peer-addr.js';
import { MessageType } from '../../protocol/registry.js';
import { encodeShareHead, signShareHead } from '../../protocol/share-head.js';
import { getManifestCodec, manifestDataCodec } from '../../protocol/transfer-messages.js';
import { isShareLink, parseShareLink, formatAddr, formatHintAddr, parseHintAddr, publisherAddrFromHint } from '../../share-link.js';
import { openEnvironment, subDatabase } from '../../store/environment.js';
import type { ActorContext, ActorDefinition } from '../runtime/actor-definition.js';
import type { TimerHandle } from '../runtime/clock.js';
import type { CallOptions } from '../runtime/rpc-endpoint.js';
import { BlocklistBook } from './blocklists.js';
import { ManifestCache } from './manifest-cache.js';
import { contentToStopSeeding, ownShareView, type OwnShareRecord, type SeededFile } from './own-shares.js';
import { concatChunkHashes, describeRequest, type DescribedFile, type PublishProgress } from './publish-items.js';
import { describeFile } from './publish/describe-file.js';
import { HashCache, LmdbHashCacheStore, type CachedDescription } from './publish/hash-cache.js';
import { buildManifest, manifestFitsDht } from './publish/manifest-builder.js';
import { resolvePublisher } from './publish/publisher-keys.js';
import { PublisherStore } from './publisher-store.js';
import { LmdbIndexStore } from './search/lmdb-index-store.js';
import { SearchIndex, type ShareScope } from './search/search-index.js';
import { loadSubscription, subscriptionView, type StoredSubscription } from './subscription-store.js';
import { normalizeShareId, searchScope, subscribe as subscribeCore, type SubscriptionRecord } from './subscriptions.js';
import { runSync } from './sync-run.js';
import { handleWire } from './wire-handlers.js';
import { createCommunityService } from './communities/community-service.js';
import { COMMUNITY_WIRE_TYPES } from './communities/community-wire.js';

/** Head and manifest TTL in the DHT (the reference's default, §5.3); re-put at every start and every republish. */
const DHT_TTL_SECS = 86_400;
const DEFAULT_SYNC_INTERVAL_MS = 60_000;
const FIRST_SYNC_DELAY_MS = 2_000;
const REPUBLISH_INTERVAL_MS = 30 * 60_000;
const GET_MANIFEST_TIMEOUT_MS = 10_000;
const MAX_MANIFEST_PEERS = 12;
const PROGRESS_EVERY_MS = 200;

/**
 * Index actor: publishing (own shares, publisher keys, manifest cache, seeding and announcing), subscriptions
 * and their sync loop, and the local search index. Decisions live in the pure modules beside this file
 * (subscriptions.ts, publish/*, search/*, sync-run.ts, own-shares.ts, wire-handlers.ts); this file wires them
 * to lmdb (`index/*` sub-databases), the hashing pool and the dht/session/fetcher mailboxes.
 *
 * Sub-databases: subscriptions, own-shares, manifests, search, hash-cache, publishers (encrypted seeds),
 * blocklists. Everything survives actor and node restarts; the DHT does not, so own heads and manifests
 * are put again shortly after start.
 */
export const actor: ActorDefinition<'index'> = {
  name: 'index',
  start(ctx) {
    const env = openEnvironment(ctx.dataDir);
    ctx.defer(() => env.close());
    const epochMs = typeof ctx.config.epochMs === 'number' ? ctx.config.epochMs : 0;
    const wallNow = (): number => Math.floor(epochMs + ctx.clock.now());
    const nowUnix = (): number => Math.floor(wallNow() / 1000);
    const hashThreads = typeof ctx.config.hashThreads === 'number' ? Math.max(1, ctx.config.hashThreads) : 2;
    const syncIntervalMs = typeof ctx.config.syncIntervalMs === 'number' ? ctx.config.syncIntervalMs : DEFAULT_SYNC_INTERVAL_MS;
    const passphrase = typeof ctx.config.keyPassphrase === 'string' ? ctx.config.keyPassphrase : undefined;
    const textDir = path.join(ctx.dataDir, 'published-text');

    const subsDb = subDatabase<StoredSubscription>(env, 'index', 'subscriptions');
    const ownDb = subDatabase<OwnShareRecord>(env, 'index', 'own-shares');
    const manifests = new ManifestCache(subDatabase<Uint8Array>(env, 'index', 'manifests'));
    const idx = SearchIndex.open(new LmdbIndexStore(subDatabase(env, 'index', 'search')));
    const hashCache = new HashCache(new LmdbHashCacheStore(subDatabase<CachedDescription>(env, 'index', 'hash-cache')));
    const blocklists = new BlocklistBook(subDatabase(env, 'index', 'blocklists'));
    // Publisher keys are opened on first use: a passphrase-sealed identity must not keep the actor from starting.
    let publishers: PublisherStore | undefined;
    const keyring = (): PublisherStore => (publishers ??= PublisherStore.open(env, passphrase, wallNow()));

    let pool: HashingPool | undefined;
    const hashing = (): HashingPool => (pool ??= new HashingPool({ threads: hashThreads }));
    ctx.defer(() => pool?.close());
    const hashFile = async (absPath: string): Promise<ContentDescription> => {
      try {
        const d = await hashing().hashFile(absPath);
        return { contentId: d.contentId, chunkHashes: d.chunkHashes, chunkCount: d.chunkHashes.length, chunkListHash: chunkListHash(d.chunkHashes), size: d.size };
      } catch (e) {
        if (e instanceof ScpError) throw e;
        // The pool could not start (no built hash-task, say): stream it in this thread; it yields at every read.
        return describeFile(absPath);
      }
    };

    const subs = (): StoredSubscription[] => [...subsDb.getRange()].map(({ value }) => loadSubscription(value));
    const sub = (shareId: string): StoredSubscription | undefined => {
      const v = subsDb.get(shareId);
      return v && loadSubscription(v);
    };
    const owns = (): OwnShareRecord[] => [...ownDb.getRange()].map(({ value }) => value);

    let stopped = false;
    const timers = new Set<TimerHandle>();
    const later = (ms: number, fn: () => void): void => {
      const t = ctx.clock.setTimeout(() => {
        timers.delete(t);
        if (!stopped) fn();
      }, ms);
      timers.add(t);
    };
    ctx.defer(() => {
      stopped = true;
      for (const t of timers) ctx.clock.clearTimeout(t);
      timers.clear();
    });

    const emitIndexChange = (shareId: string, change: { added: number; removed: number; changed: number }): void => {
      ctx.emit({ type: 'SearchIndexUpdated', shareId, added: change.added, removed: change.removed, changed: change.changed, items: idx.itemCount });
    };

    // ------------------------------------------------------------------ announcing and seeding

    const announce = async (r: OwnShareRecord): Promise<void> => {
      const sid = fromHex(r.shareId, 32);
      const results = await Promise.allSettled([
        ctx.peers.request('dht', { type: 'put', key: shareHeadKey(sid), value: new Uint8Array(r.head), ttlSecs: DHT_TTL_SECS, replicate: true }, { timeoutMs: 30_000 }),
        (async () => {
          const m = manifests.get(r.manifestId);
          if (!m || !manifestFitsDht(m)) return; // served by GET_MANIFEST only
          const bytes = manifests.bytes(r.manifestId) as Uint8Array;
          await ctx.peers.request('dht', { type: 'put', key: manifestLocKey(fromHex(r.manifestId, 32)), value: bytes, ttlSecs: DHT_TTL_SECS, replicate: true }, { timeoutMs: 30_000 });
        })(),
      ]);
      const failed = results.find((x) => x.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    };

    /** Re-tries a failed announce with back-off (5 s doubling, 6 tries), as long as the share is still ours. */
    const announceLater = (shareId: string, ms: number): void =>
      later(ms, () => {
        const r = owns().find((o) => o.shareId === shareId && o.active);
        if (r) void announce(r).catch(() => ms < 160_000 && announceLater(shareId, ms * 2));
      });

    /** Every active share of ours, put again now (the node just gained a route, e.g. a relay registration). */
    const republishNow = async (): Promise<{ announced: number }> => {
      const active = owns().filter((o) => o.active);
      const results = await Promise.allSettled(active.map((o) => announce(o)));
      return { announced: results.filter((x) => x.status === 'fulfilled').length };
    };

    const seedFiles = async (files: readonly DescribedFile[]): Promise<void> => {
      const seen = new Set<string>();
      for (const f of files) {
        const contentId = toHex(f.item.contentId);
        if (seen.has(contentId)) continue;
        seen.add(contentId);
        await ctx.peers
          .request('fetcher', { type: 'seed', contentId, path: f.absPath, size: f.item.size, chunkHashes: concatChunkHashes(f.chunkHashes) }, { timeoutMs: 60_000 })
          .catch(() => undefined); // the fetcher restores its seeds itself; a missing fetcher must not fail the publish
      }
    };

    const stopSeeding = async (contentIds: readonly string[]): Promise<void> => {
      for (const contentId of contentIds) {
        await ctx.peers.request('fetcher', { type: 'stopSeeding', contentId }, { timeoutMs: 10_000 }).catch(() => undefined);
      }
    };

    /** A manifest id still needed by an own share or a subscription (so not to be dropped from the cache). */
    const manifestInUse = (id: string, except?: { own?: string; sub?: string }): boolean =>
      owns().some((o) => o.active && o.manifestId === id && o.shareId !== except?.own) ||
      subs().some((s) => s.latestManifestId === id && s.shareId !== except?.sub);

    // ------------------------------------------------------------------ publish

    let publishChain: Promise<unknown> = Promise.resolve();

    const publish = async (req: PublishRequest): Promise<PublishResult> => {
      if (!req || typeof req.title !== 'string' || !req.title.trim()) throw ScpError.badInput('a share needs a title');
      const store = keyring();
      const { identity, created } = resolvePublisher(store.ring, req.publisher, () => new Uint8Array(randomBytes(32)), wallNow());
      if (created) store.add(identity, (n) => new Uint8Array(randomBytes(n)));

      let lastProgress = -Infinity;
      const onProgress = (p: PublishProgress): void => {
        const t = ctx.clock.now();
        if (p.filesDone !== p.filesTotal && t - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = t;
        ctx.emit({ type: 'PublishProgress', publisher: identity.label, ...p });
      };
      const described = await describeRequest(req, { cache: hashCache, hash: hashFile, textDir, concurrency: hashThreads, onProgress });

      const prev = ownDb.get(identity.shareId);
      let previousSeq = prev ? BigInt(prev.seq) : null;
      // Never go back behind a head this key already published (another device, a restored data dir).
      const known = await ctx.peers
        .request('dht', { type: 'getShareHead', shareId: fromHex(identity.shareId, 32), sharePubkey: fromHex(identity.sharePubkey, 32) }, { timeoutMs: 5_000 })
        .catch(() => ({ head: null }));
      if (known.head && (previousSeq === null || known.head.latestSeq > previousSeq)) previousSeq = known.head.latestSeq;

      const now = nowUnix();
      const unsigned = buildManifest({
        sharePubkey: fromHex(identity.sharePubkey, 32),
        previousSeq,
        title: req.title.trim(),
        description: req.description ?? null,
        visibility: req.visibility ?? 'private',
        communities: (req.communities ?? []).map((c) => fromHex(normalizeShareId(c, 'community id'), 32)),
        items: described.files.map((f) => f.item),
        nowUnix: now,
      });
      const manifest = signManifest(unsigned, identity.seed);
      const mid = computeManifestId(manifest);
      const midHex = toHex(mid);
      const head = signShareHead({ shareId: manifest.shareId, latestSeq: manifest.seq, latestManifestId: mid, updatedAt: BigInt(now) }, identity.seed);

      manifests.put(midHex, manifest);
      const files: SeededFile[] = described.files.map((f) => ({ contentId: toHex(f.item.contentId), absPath: f.absPath, size: f.item.size.toString() }));
      const record: OwnShareRecord = {
        shareId: identity.shareId,
        sharePubkey: identity.sharePubkey,
        publisher: identity.label,
        seq: manifest.seq.toString(),
        manifestId: midHex,
        title: manifest.title,
        description: manifest.description,
        visibility: manifest.visibility,
        items: manifest.items.length,
        updatedAt: String(now),
        head: encodeShareHead(head),
        files,
        active: true,
      };
      ownDb.putSync(identity.shareId, record);
      if (prev && prev.manifestId !== midHex && !manifestInUse(prev.manifestId)) manifests.remove(prev.manifestId);

      const change = idx.indexManifest(manifest, midHex);
      ctx.emit({ type: 'ManifestUpdated', shareId: identity.shareId, seq: manifest.seq, manifestId: midHex, items: manifest.items.length, own: true });
      emitIndexChange(identity.shareId, change);

      await seedFiles(described.files);
      if (prev) {
        const gone = prev.files.filter((f) => !files.some((n) => n.contentId === f.contentId));
        await stopSeeding(contentToStopSeeding(owns(), identity.shareId, gone));
      }
      // A node that knows no DHT peer yet (a firewalled one still looking for a relay, say) retries soon, not only at
      // the next 30-minute republish; subscribers may also ask us directly meanwhile.
      await announce(record).catch(() => announceLater(record.shareId, 5_000));
      return { shareId: identity.shareId, manifestId: midHex, seq: manifest.seq };
    };

    // ------------------------------------------------------------------ sync

    const contactsFor = async (manifestId: Uint8Array, record: SubscriptionRecord): Promise<PeerAddr[]> => {
      const out = new Map<string, PeerAddr>();
      const add = (a: PeerAddr): void => {
        if (out.size < MAX_MANIFEST_PEERS * 2) out.set(peerAddrKey(a), a);
      };
      for (const h of sub(record.shareId)?.hints ?? []) {
        try {
          add(parseHintAddr(h));
        } catch {
          /* a hint that does not parse is skipped */
        }
      }
      const contacts = await ctx.peers.request('session', { type: 'contacts', limit: MAX_MANIFEST_PEERS }, { timeoutMs: 5_000 }).catch(() => []);
      for (const c of contacts) add(c.addr);
      const found = await ctx.peers.request('dht', { type: 'findNodes', target: manifestId.subarray(0, 20) }, { timeoutMs: 20_000 }).catch(() => ({ peers: [] }));
      for (const p of found.peers) add(p);
      return [...out.values()];
    };

    const peerManifest = async (manifestId: Uint8Array, record: SubscriptionRecord): Promise<Uint8Array | null> => {
      const payload = getManifestCodec.encode({ manifestId });
      const peers = (await contactsFor(manifestId, record)).slice(0, MAX_MANIFEST_PEERS);
      for (const to of peers) {
        if (stopped) return null;
        try {
          const res = await sessionRequest(ctx, to, MessageType.GET_MANIFEST, payload);
          const data = manifestDataCodec.decode(res);
          if (toHex(data.manifestId) !== toHex(manifestId)) continue; // answered for another id: ignore this peer
          return data.bytes;
        } catch {
          /* next peer */
        }
      }
      return null;
    };

    const accept = async (record: SubscriptionRecord, manifest: ManifestV1, midHex: string): Promise<void> => {
      const before = sub(record.shareId);
      if (!before) return;
      manifests.put(midHex, manifest);
      const next: StoredSubscription = { ...before, ...record, title: manifest.title, hints: before.hints ?? [] };
      await subsDb.put(record.shareId, next);
      if (before.latestManifestId && before.latestManifestId !== midHex && !manifestInUse(before.latestManifestId)) manifests.remove(before.latestManifestId);
      const change = idx.indexManifest(manifest, midHex);
      ctx.emit({ type: 'ManifestUpdated', shareId: record.shareId, seq: manifest.seq, manifestId: midHex, items: manifest.items.length, own: false });
      emitIndexChange(record.shareId, change);
      blocklists.noteManifest(record.shareId, manifest, fetchBlocklist);
    };

    const fetchBlocklist = async (contentId: string, size: bigint): Promise<Uint8Array> => {
      const out = path.join(ctx.dataDir, 'index-blocklists', `${contentId}.cbor`);
      await ctx.peers.request('fetcher', { type: 'downloadContent', contentId, outPath: out, size }, { timeoutMs: 120_000 });
      const { readFile } = await import('node:fs/promises');
      return new Uint8Array(await readFile(out));
    };

    let syncChain: Promise<unknown> = Promise.resolve();
    const sync = (shareIds?: string[]): Promise<Awaited<ReturnType<typeof runSync>>> => {
      const wanted = shareIds?.map((s) => normalizeShareId(s));
      const run = syncChain.then(() => {
        const all = subs();
        const records = wanted ? all.filter((r) => wanted.includes(r.shareId)) : all;
        return runSync(records, {
          getShareHead: async (shareId, sharePubkey) =>
            (await ctx.peers.request('dht', { type: 'getShareHead', shareId, sharePubkey }, { timeoutMs: 30_000 })).head,
          cachedManifest: (id) => manifests.get(id),
          dhtManifest: async (id) => (await ctx.peers.request('dht', { type: 'get', key: manifestLocKey(id) }, { timeoutMs: 30_000 })).value,
          peerManifest,
          accept,
          nowUnix,
          current: (id) => sub(id),
        });
      });
      syncChain = run.catch(() => undefined);
      return run;
    };

    const scheduleSync = (ms: number): void =>
      later(ms, () => {
        const go = subs().length > 0 ? sync().catch(() => undefined) : Promise.resolve();
        void go.finally(() => scheduleSync(syncIntervalMs));
      });
    const scheduleRepublish = (ms: number): void =>
      later(ms, () => {
        const active = owns().filter((o) => o.active);
        void Promise.allSettled(active.map((o) => announce(o))).finally(() => scheduleRepublish(REPUBLISH_INTERVAL_MS));
      });
    // Never block the start: first sync and the re-announce of our own shares run shortly after.
    scheduleSync(FIRST_SYNC_DELAY_MS);
    scheduleRepublish(FIRST_SYNC_DELAY_MS);

    // ------------------------------------------------------------------ communities (communities/*, docs/COMMUNITIES.md)

    const communities = createCommunityService({
      ctx,
      env,
      keyring,
      passphrase,
      ownShares: owns,
      manifestCommunities: (id) => manifests.get(id)?.communities.map((c) => toHex(c)) ?? [],
      wallNowMs: wallNow,
      later,
    });

    // ------------------------------------------------------------------ search scope

    const scope = (): Map<string, ShareScope> => {
      const m = new Map<string, ShareScope>();
      // Our own shares are searchable as trusted; a subscription's own trust and weight win.
      for (const o of owns()) if (o.active) m.set(o.shareId, { trust: 'trusted', weight: 1 });
      for (const [k, v] of searchScope(subs())) m.set(k, v);
      return m;
    };

    const latestManifestOf = (shareId: string): ManifestV1 | undefined => {
      const own = ownDb.get(shareId);
      if (own?.active) return manifests.get(own.manifestId);
      const s = sub(shareId);
      return s?.latestManifestId ? manifests.get(s.latestManifestId) : undefined;
    };

    return {
      handlers: {
        ...communities.handlers,
        republishShares: () => republishNow(),
        async subscribe(req) {
          let shareId = req.shareId;
          let sharePubkey = req.sharePubkey ?? null;
          let hints: string[] = [];
          if (typeof shareId === 'string' && isShareLink(shareId)) {
            const link = parseShareLink(shareId);
            shareId = toHex(link.shareId);
            sharePubkey = toHex(link.sharePubkey);
            hints = [
              ...link.bootstrap.map(formatAddr),
              ...link.relays.map((h) => formatAddr(h.relay)),
              ...link.relays.map(publisherAddrFromHint).filter((a): a is PeerAddr => a !== null).map(formatHintAddr),
            ];
          }
          const all = subs();
          const { record, created } = subscribeCore(all, { shareId, sharePubkey, ...(req.trust !== undefined ? { trust: req.trust } : {}) }, wallNow());
          const existing = all.find((r) => r.shareId === record.shareId);
          const stored: StoredSubscription = { ...record, title: existing?.title ?? null, hints: [...new Set([...(existing?.hints ?? []), ...hints])] };
          await subsDb.put(record.shareId, stored);
          if (created) ctx.emit({ type: 'SubscriptionAdded', shareId: record.shareId });
          const dials = link0(hints).map((h) => ctx.peers.request('session', { type: 'connect', addr: h }, { timeoutMs: 15_000 }).catch(() => undefined));
          // A link's peers are how a recipient who knows nobody reaches the DHT: give them a moment (not a dead
          // peer's full timeout) so that a sync right after subscribing can find the share head.
          if (dials.length > 0) await Promise.race([Promise.all(dials), new Promise((r) => setTimeout(r, 3_000).unref?.())]);
          return subscriptionView(stored);
        },
        async unsubscribe(req) {
          const shareId = normalizeShareId(req.shareId);
          const existing = sub(shareId);
          // lmdb's remove() resolves true even for an absent key, so ask first.
          if (!existing) return { removed: false };
          await subsDb.remove(shareId);
          const own = ownDb.get(shareId);
          if (!own?.active) {
            if (idx.removeShare(shareId)) emitIndexChange(shareId, { added: 0, removed: 1, changed: 0 });
            if (existing.latestManifestId && !manifestInUse(existing.latestManifestId)) manifests.remove(existing.latestManifestId);
          }
          blocklists.forget(shareId);
          ctx.emit({ type: 'SubscriptionRemoved', shareId });
          return { removed: true };
        },
        listSubscriptions: () => subs().map(subscriptionView),
        publish(req) {
          const run = publishChain.then(() => publish(req));
          publishChain = run.catch(() => undefined);
          return run;
        },
        listOwnShares: () => owns().filter((o) => o.active).map(ownShareView),
        async unpublish(req) {
          const shareId = normalizeShareId(req.shareId);
          const r = ownDb.get(shareId);
          if (!r || !r.active) return { removed: false };
          const record: OwnShareRecord = { ...r, active: false };
          ownDb.putSync(shareId, record);
          await stopSeeding(contentToStopSeeding(owns(), shareId, r.files));
          if (!sub(shareId)) {
            if (idx.removeShare(shareId)) emitIndexChange(shareId, { added: 0, removed: r.items, changed: 0 });
            if (!manifestInUse(r.manifestId)) manifests.remove(r.manifestId);
          }
          return { removed: true };
        },
        syncSubscriptions: (req) => sync(req.shareIds),
        listShareItems(req) {
          const shareId = normalizeShareId(req.shareId);
          const items = idx.shareItems(shareId);
          if (!items) throw notKnown(shareId, sub(shareId) !== undefined);
          return items;
        },
        search(req): SearchResult {
          const { hits, total } = idx.search(String(req.query ?? ''), {
            scope: scope(),
            ...(req.trust !== undefined ? { trust: req.trust } : {}),
            ...(req.shareIds !== undefined ? { shareIds: req.shareIds.map((s) => normalizeShareId(s)) } : {}),
            ...(req.offset !== undefined ? { offset: req.offset } : {}),
            ...(req.limit !== undefined ? { limit: req.limit } : {}),
            blocked: blocklists.blocked(subs().map((s) => s.shareId)),
          });
          return { hits, total };
        },
        resolveItems(req) {
          const shareId = normalizeShareId(req.shareId);
          const m = latestManifestOf(shareId);
          if (!m) throw notKnown(shareId, sub(shareId) !== undefined);
          const all = m.items.map((it) => itemView(shareId, it));
          if (req.contentIds === 'all') return all;
          if (!Array.isArray(req.contentIds)) throw ScpError.badInput("contentIds must be a list of content ids or 'all'");
          const want = req.contentIds.map((c) => normalizeShareId(c, 'content id'));
          const missing = want.filter((c) => !all.some((i) => i.contentId === c));
          if (missing.length > 0) {
            throw ScpError.notFound(`${missing.length} content id(s) are not in the latest manifest of share ${shareId.slice(0, 16)}… (first: ${missing[0]}); browse the share for its items`, {
              missing,
            });
          }
          return all.filter((i) => want.includes(i.contentId));
        },
        wire: (req) =>
          COMMUNITY_WIRE_TYPES.has(req.messageType)
            ? communities.wire(req)
            : handleWire(
            {
              manifestBytes: (id) => {
                // Only manifests we stand behind: our active shares' and our subscriptions' latest.
                return manifestInUse(id) ? manifests.bytes(id) : undefined;
              },
              ownShares: owns,
            },
            req,
          ),
      },
    };
  },
};

function link0(hints: readonly string[]): string[] {
  return hints.filter((h) => !h.startsWith('relay:'));
}

/**
 * session `request`: session-mailbox.ts names the SCP2P message number `type`, which collides with the
 * mailbox discriminant `type: 'request'` (the message is uncallable in typed code). Like the fetcher, the
 * number travels as `messageType` until the contract renames it; the cast is confined here.
 */
async function sessionRequest(ctx: ActorContext, to: PeerAddr, messageType: number, payload: Uint8Array): Promise<Uint8Array> {
  const untyped = ctx.peers.request as unknown as (actor: 'session', body: Record<string, unknown>, opts?: CallOptions) => Promise<{ payload: Uint8Array }>;
  const r = await untyped('session', { type: 'request', to, messageType, payload, timeoutMs: GET_MANIFEST_TIMEOUT_MS }, { timeoutMs: GET_MANIFEST_TIMEOUT_MS + 2_000 });
  return r.payload;
}

function notKnown(shareId: string, subscribed: boolean): ScpError {
  return ScpError.notFound(
    subscribed
      ? `share ${shareId.slice(0, 16)}… has not been synced yet; run sync (syncSubscriptions) and try again`
      : `share ${shareId.slice(0, 16)}… is unknown here; subscribe to it and sync first`,
    { shareId },
  );
}

function itemView(shareId: string, it: ItemV1): ShareItemView {
  return {
    shareId,
    contentId: toHex(it.contentId),
    name: it.name,
    path: it.path,
    size: it.size,
    mime: it.mime,
    tags: [...it.tags],
    chunkCount: it.chunkCount,
    chunkListHash: toHex(it.chunkListHash),
  };
}

