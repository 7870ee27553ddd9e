/**
 * dht actor: the impure shell around DhtCore (PROTOCOL.md §5). It resolves our node key, restores the routing
 * table and values from lmdb (`dht/state`), runs the core through DhtDriver against the session mailbox, answers
 * the DHT mailbox (src/messages/dht-mailbox.ts) and inbound FIND_NODE / FIND_VALUE / STORE, and saves a
 * snapshot every few seconds when something changed, and at stop.
 *
 * Config (ctx.config): nodePubkey (hex; else read from the persistence identity, sealed with keyPassphrase);
 * optional saveEveryMs (3 s) and joinDelayMs (first join check, 250 ms); DhtCoreInit limits under `dht` for tests
 * (k, queryTimeoutMs, refreshIntervalMs, ...).
 */
import { ScpError } from '../../errors.js';
import type { DhtStats } from '../../messages/dht-mailbox.js';
import { bytesEqual, fromHex, toHex } from '../../protocol/bytes.js';
import { contentProviderKey, shareHeadKey } from '../../protocol/dht-keys.js';
import { sha256 } from '../../protocol/hash.js';
import { peerAddrBytes, type PeerAddr } from '../../protocol/peer-addr.js';
import {
  checkRelayAnnouncement,
  decodeRelayAnnouncement,
  relayAnnouncementKeyMatches,
  type RelayAnnouncement,
} from '../../protocol/relay-announcement.js';
import { betterShareHead, decodeShareHead, type ShareHead } from '../../protocol/share-head.js';
import { publicKeyFromSeed } from '../../store/ed25519-key.js';
import { openEnvironment, subDatabase } from '../../store/environment.js';
import type { StoredSeed } from '../../store/identity-store.js';
import { isSealed, openSecret } from '../../store/key-sealing.js';
import type { ActorContext, ActorDefinition } from '../runtime/actor-definition.js';
import type { TimerHandle } from '../runtime/clock.js';
import { DhtCore, type DhtCoreInit, type DhtSnapshot } from './dht-core.js';
import { DhtDriver, type DhtSessionPort } from './dht-driver.js';
import { decodeProviders, encodeProviders, MAX_PROVIDERS } from './keyspace-records.js';
import type { RelayTrial } from './keyspace-validation.js';
import { DEFAULT_TTL_SECS, MAX_TTL_SECS } from './value-store.js';

const SAVE_EVERY_MS = 3_000;
const SPARSE_CHECK_MIN_MS = 2_000;
const SPARSE_CHECK_MAX_MS = 60_000;
const FIRST_BOOTSTRAP_MS = 250;
const MAX_KNOWN_SHARE_KEYS = 10_000;

interface SavedState {
  /** Unix ms when saved: the downtime on restore. */
  savedAt: number;
  snapshot: DhtSnapshot;
}

/** Our node key: given by the supervisor, or derived from the persistence actor's node seed (read only). */
function nodePubkey(ctx: ActorContext, env: ReturnType<typeof openEnvironment>): Uint8Array {
  const hex = ctx.config.nodePubkey;
  if (typeof hex === 'string' && hex.length === 64) return fromHex(hex, 32);
  const stored = subDatabase<StoredSeed>(env, 'persistence', 'identity').get('node');
  if (stored === undefined) throw ScpError.internal('dht: no node key yet (the persistence actor makes it first)');
  if (isSealed(stored)) {
    const pass = ctx.config.keyPassphrase;
    if (typeof pass !== 'string' || !pass) {
      throw new ScpError('UNAUTHORIZED', 'dht: the node key is sealed; pass nodePubkey or keyPassphrase in the dht actor config');
    }
    return publicKeyFromSeed(openSecret(stored, pass, 'the node key'));
  }
  return publicKeyFromSeed(new Uint8Array(stored.plain));
}

function bytesArg(v: unknown, len: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== len) throw ScpError.badInput(`${what} must be ${len} bytes`);
  return v;
}

function ttlArg(v: unknown): number {
  if (v === undefined) return DEFAULT_TTL_SECS;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 1) throw ScpError.badInput('ttlSecs must be a positive number');
  return Math.min(Math.floor(v), MAX_TTL_SECS);
}

function mergeAddrs(into: PeerAddr[], more: readonly PeerAddr[]): PeerAddr[] {
  const seen = new Set(into.map((a) => toHex(peerAddrBytes(a))));
  for (const a of more) {
    const k = toHex(peerAddrBytes(a));
    if (seen.has(k) || a.port === 0) continue;
    seen.add(k);
    into.push(a);
  }
  return into;
}

export const actor: ActorDefinition<'dht'> = {
  name: 'dht',
  start(ctx) {
    const env = openEnvironment(ctx.dataDir);
    ctx.defer(() => env.close());
    const stateDb = subDatabase<SavedState>(env, 'dht', 'state');
    const localPubkey = nodePubkey(ctx, env);
    // Wall time on the injected clock (a virtual clock gives virtual dates, so a simulation replays).
    const epochMs = typeof ctx.config.epochMs === 'number' ? ctx.config.epochMs : Date.now() - ctx.clock.now();
    const wallMs = (): number => epochMs + ctx.clock.now();
    const nowUnix = (): number => Math.floor(wallMs() / 1000);

    // Share keys the index told us (getShareHead with a pubkey): heads for those shares must verify.
    const shareKeys = new Map<string, Uint8Array>();
    const relayTrial: RelayTrial = (key, value) => {
      let a: RelayAnnouncement;
      try {
        a = decodeRelayAnnouncement(value);
      } catch {
        return 'no-decode';
      }
      const why = checkRelayAnnouncement(a, nowUnix());
      if (why !== null) return `relay announcement rejected: ${why}`;
      return relayAnnouncementKeyMatches(key, a) ? 'ok' : 'relay announcement key mismatch';
    };
    const init = (typeof ctx.config.dht === 'object' && ctx.config.dht !== null ? ctx.config.dht : {}) as Omit<DhtCoreInit, 'localPubkey'>;
    const core = new DhtCore(
      { random: ctx.random.fork('dht-core'), keyspace: { shareKeyFor: (id) => shareKeys.get(toHex(id)), relayTrial } },
      { ...init, localPubkey },
    );

    const saved = stateDb.get('snapshot');
    if (saved) core.restore(saved.snapshot, ctx.clock.now(), Math.max(0, wallMs() - saved.savedAt));

    const session: DhtSessionPort = {
      async request(to, messageType, payload, timeoutMs) {
        return ctx.peers.request('session', { type: 'request', to, messageType, payload, timeoutMs }, { timeoutMs: timeoutMs + 1_000 });
      },
      async contacts(limit) {
        const list = await ctx.peers.request('session', { type: 'contacts', limit }, { timeoutMs: 2_000 });
        // Capabilities are not a filter: the reference's desktop and CLI binaries advertise all-false yet serve
        // the DHT (PROTOCOL.md §0, §4.4), so a peer that says dht:false is still asked.
        return list.map((c) => c.addr);
      },
    };

    const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : d);
    const saveEveryMs = num(ctx.config.saveEveryMs, SAVE_EVERY_MS);
    const joinDelayMs = num(ctx.config.joinDelayMs, FIRST_BOOTSTRAP_MS);
    let dirty = false;
    const driver = new DhtDriver(
      {
        core,
        clock: ctx.clock,
        session,
        onChange: () => void (dirty = true),
        onLookup: (kind, ms, ok) => {
          ctx.emit({ type: 'DhtLookupCompleted', kind, ms, ok });
          ctx.log.debug({ kind, ms, ok }, 'lookup completed');
        },
      },
      { queryTimeoutMs: init.queryTimeoutMs, pingTimeoutMs: init.pingTimeoutMs },
    );

    const save = (sync: boolean): void => {
      dirty = false;
      const state: SavedState = { savedAt: wallMs(), snapshot: core.snapshot(ctx.clock.now()) };
      if (sync) stateDb.putSync('snapshot', state);
      else void stateDb.put('snapshot', state);
    };

    // Timers: periodic save, and a join check that backs off while the table stays sparse.
    let stopped = false;
    const timers = new Set<TimerHandle>();
    const later = (ms: number, fn: () => void): void => {
      const t = ctx.clock.setTimeout(() => {
        timers.delete(t);
        if (!stopped) fn();
      }, ms);
      timers.add(t);
    };
    const saveTick = (): void => {
      if (dirty) save(false);
      later(saveEveryMs, saveTick);
    };
    later(saveEveryMs, saveTick);
    let sparseEvery = SPARSE_CHECK_MIN_MS;
    let lastSize = -1;
    const sparseTick = (): void => {
      const size = core.table.size;
      sparseEvery = size !== lastSize ? SPARSE_CHECK_MIN_MS : Math.min(SPARSE_CHECK_MAX_MS, sparseEvery * 2);
      lastSize = size;
      driver.bootstrapIfSparse();
      later(sparseEvery, sparseTick);
    };
    later(joinDelayMs, sparseTick);
    ctx.defer(() => {
      stopped = true;
      for (const t of timers) ctx.clock.clearTimeout(t);
      timers.clear();
      driver.stop();
    });

    /** A provider record from local store and/or network, decoded; undefined when neither has a valid one. */
    const providersOf = async (contentId: Uint8Array, network: boolean): Promise<PeerAddr[]> => {
      const key = contentProviderKey(contentId);
      const out: PeerAddr[] = [];
      const local = core.store.peek(key, ctx.clock.now());
      if (local && core.validate(key, local.value).ok) mergeAddrs(out, decodeProviders(local.value).providers);
      if (network) {
        const r = await driver.lookup((now) => core.findValue(key, now, { network: true }));
        if (r.value) mergeAddrs(out, decodeProviders(r.value.value).providers);
      }
      return out;
    };

    return {
      handlers: {
        wire: (req) => driver.inbound(req),

        contact: ({ peer }) => {
          // Every authenticated contact counts, whatever capabilities it advertised (see contacts above).
          driver.contact(peer);
        },

        put: async ({ key, value, ttlSecs, replicate }) => {
          bytesArg(key, 32, 'key');
          if (!(value instanceof Uint8Array)) throw ScpError.badInput('value must be bytes');
          const ttl = ttlArg(ttlSecs);
          const v = core.validate(key, value);
          if (!v.ok) throw ScpError.badInput(`dht value refused: ${v.reason}`);
          dirty = true;
          if (!replicate) {
            const r = core.store.put(key, value, ttl, ctx.clock.now());
            if (!r.ok) throw ScpError.limit(`dht value not stored: ${r.error.wireText}`);
            return { stored: 0 };
          }
          const done = await driver.store((now) => core.put(key, value, now, { ttlSecs: ttl }));
          return { stored: done.stored };
        },

        get: async ({ key }) => {
          bytesArg(key, 32, 'key');
          const r = await driver.lookup((now) => core.findValue(key, now));
          return { value: r.value ? r.value.value : null };
        },

        getShareHead: async ({ shareId, sharePubkey }) => {
          bytesArg(shareId, 32, 'shareId');
          const pub = sharePubkey ? bytesArg(sharePubkey, 32, 'sharePubkey') : undefined;
          if (pub) {
            if (!bytesEqual(sha256(pub), shareId)) throw ScpError.badInput('sharePubkey does not belong to shareId');
            if (shareKeys.size >= MAX_KNOWN_SHARE_KEYS) shareKeys.delete(shareKeys.keys().next().value as string);
            shareKeys.set(toHex(shareId), pub);
          }
          const r = await driver.lookup((now) => core.findShareHead(shareId, now, pub));
          let best: ShareHead | null = r.value ? decodeShareHead(r.value.value) : null;
          // Our own copy (a head we published, or cached) competes too.
          const key = shareHeadKey(shareId);
          const local = core.store.peek(key, ctx.clock.now());
          if (local) {
            const v = core.validate(key, local.value, pub);
            if (v.ok && v.value.kind === 'share-head') best = best ? betterShareHead(best, v.value.head) : v.value.head;
          }
          return { head: best };
        },

        findProviders: async ({ contentId }) => {
          bytesArg(contentId, 32, 'contentId');
          return { providers: await providersOf(contentId, true) };
        },

        addProvider: async ({ contentId, addrs }) => {
          bytesArg(contentId, 32, 'contentId');
          if (!Array.isArray(addrs) || addrs.length === 0) return;
          const key = contentProviderKey(contentId);
          const local = core.store.peek(key, ctx.clock.now());
          // Others' addresses first from what the network holds, so our STORE does not drop them; ours stay in.
          const others = local ? await providersOf(contentId, false) : await providersOf(contentId, true).catch(() => []);
          const ours = mergeAddrs([], addrs);
          // Our addresses not in `addrs` are stale (an old relay_via route after the relay changed): drop them.
          const ourKeys = new Set(ours.flatMap((a) => (a.pubkeyHint ? [toHex(a.pubkeyHint)] : [])));
          const rest = mergeAddrs([...ours], others.filter((a) => !(a.pubkeyHint && ourKeys.has(toHex(a.pubkeyHint))))).slice(ours.length);
          const providers = [...ours, ...rest.slice(Math.max(0, rest.length - (MAX_PROVIDERS - ours.length)))].slice(0, MAX_PROVIDERS);
          const value = encodeProviders({ contentId, providers, updatedAt: BigInt(nowUnix()) });
          dirty = true;
          await driver.store((now) => core.put(key, value, now, { ttlSecs: DEFAULT_TTL_SECS, republish: true }));
        },

        removeProvider: ({ contentId, addrs }) => {
          bytesArg(contentId, 32, 'contentId');
          const key = contentProviderKey(contentId);
          core.unpublish(key);
          dirty = true;
          const now = ctx.clock.now();
          const local = core.store.peek(key, now);
          if (!local || !core.validate(key, local.value).ok) return;
          const drop = new Set((addrs ?? []).map((a) => toHex(peerAddrBytes(a))));
          const p = decodeProviders(local.value);
          const left = p.providers.filter((a) => !drop.has(toHex(peerAddrBytes(a))));
          if (left.length === 0) {
            core.store.delete(toHex(key));
            return;
          }
          const ttl = Math.max(1, Math.floor((local.expiresAt - now) / 1000));
          core.store.put(key, encodeProviders({ contentId, providers: left, updatedAt: BigInt(nowUnix()) }), ttl, now);
        },

        findNodes: async ({ target }) => {
          bytesArg(target, 20, 'target');
          const r = await driver.lookup((now) => core.findNode(target, now));
          return { peers: r.closest.map((c) => c.addr) };
        },

        stats: (): DhtStats => ({ routingTableSize: core.table.size, storedValues: core.store.size, lookups: driver.lookups }),
      },
      stop() {
        stopped = true;
        save(true);
      },
    };
  },
};
