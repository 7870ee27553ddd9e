/**
 * The index actor's communities, wired: persisted joined communities (`index/communities`), one member directory
 * per joined community (persisted in `index/community-members`, kept current by pulls and announces), the
 * `community:info:` rendezvous record, and the client side of 402/404/406 and the extension 4080–4082
 * (docs/COMMUNITIES.md). Decisions live in the pure modules beside it; this file only talks to lmdb, the dht and
 * session mailboxes, and the clock.
 */
import { randomBytes } from 'node:crypto';
import type { RootDatabase } from 'lmdb';
import { ScpError } from '../../../errors.js';
import type { CommunityBrowse, CommunityInfo, CommunityParticipant, PublicShareView } from '../../../messages/index-mailbox.js';
import type { PeerRef } from '../../../messages/wire.js';
import { fromHex, toHex } from '../../../protocol/bytes.js';
import { decodeCommunityMembers, encodeCommunityMembers, type CommunityMembers } from '../../../protocol/community.js';
import {
  MEMBER_RECORD_DEFAULT_TTL_SECS,
  MEMBER_RECORD_MAX_ADDRS,
  signMemberRecord,
  type CommunityMemberRecord,
} from '../../../protocol/community-ext.js';
import { communityInfoKey } from '../../../protocol/dht-keys.js';
import { findValueCodec, findValueResultCodec } from '../../../protocol/dht-messages.js';
import { bytesEqual } from '../../../protocol/bytes.js';
import { publicKeyFromSeed } from '../../../protocol/keys.js';
import { peerAddrKey, type PeerAddr } from '../../../protocol/peer-addr.js';
import { MessageType } from '../../../protocol/registry.js';
import {
  communityPublicShareListCodec,
  communityStatusCodec,
  getCommunityStatusCodec,
  listCommunityPublicSharesCodec,
  listPublicSharesCodec,
  publicShareListCodec,
  type PublicShareSummary,
} from '../../../protocol/share-messages.js';
import { formatAddr } from '../../../share-link.js';
import { subDatabase } from '../../../store/environment.js';
import type { StoredSeed } from '../../../store/identity-store.js';
import type { ActorContext } from '../../runtime/actor-definition.js';
import type { CallOptions } from '../../runtime/rpc-endpoint.js';
import type { OwnShareRecord } from '../own-shares.js';
import { resolvePublisher } from '../publish/publisher-keys.js';
import { readStoredSeed, type PublisherStore } from '../publisher-store.js';
import { COMMUNITY_LABEL_PREFIX, communityView, issueToken, joinDecision, normalizeCommunityName, hex32, type CommunityRecord } from './community-book.js';
import { communityShares, handleCommunityWire } from './community-wire.js';
import { decodeBrowseCursor, encodeBrowseCursor } from './cursors.js';
import { MemberDirectory } from './member-directory.js';
import { openMemberStore } from './member-store.js';
import { announceMember, pullMembers, type SendToPeer } from './member-sync.js';

const DHT_TTL_SECS = 86_400;
const INFO_REPUBLISH_MS = 10 * 60_000;
const FIRST_REPUBLISH_MS = 3_000;
const PULL_INTERVAL_MS = 60_000;
const PULL_PEERS = 3;
const PULL_MAX_PAGES = 40;
const PAGE_ENTRIES = 500;
const REQUEST_TIMEOUT_MS = 5_000;
const FAN_OUT = 8;
const CLASSIC_MEMORY_MS = 3_600_000;
const BROWSE_DEFAULT_LIMIT = 50;
const BROWSE_MAX_LIMIT = 500;
const MEMBER_LIST_ENTRIES = 64;
const PUBLIC_LIST_ENTRIES = 64;
const INFO_SEED_PEERS = 8;
/** Directory members asked GET_COMMUNITY_STATUS by listCommunityParticipants only up to this many (see there). */
const STATUS_ASK_MAX = 64;

export interface CommunityServiceDeps {
  ctx: ActorContext;
  env: RootDatabase;
  keyring(): PublisherStore;
  passphrase: string | undefined;
  ownShares(): readonly OwnShareRecord[];
  manifestCommunities(manifestIdHex: string): readonly string[];
  wallNowMs(): number;
  /** Registers a timer that is cleared on stop. */
  later(ms: number, fn: () => void): void;
}

/** A member as the browse sees it: its sort key (hex node key, or "~" + address key), and how to reach it. */
interface Member {
  key: string;
  nodePubkey: string | null;
  addrs: PeerAddr[];
  source: 'directory' | 'dht' | 'both';
  self: boolean;
}

export function createCommunityService(d: CommunityServiceDeps) {
  const { ctx } = d;
  const db = subDatabase<CommunityRecord>(d.env, 'index', 'communities');
  const nowUnix = (): number => Math.floor(d.wallNowMs() / 1000);
  let nodeSeed: Uint8Array | undefined;
  const seed = (): Uint8Array =>
    (nodeSeed ??= (() => {
      const s = readStoredSeed(subDatabase<StoredSeed>(d.env, 'persistence', 'identity'), 'node', d.passphrase, 'the node key');
      if (!s) throw ScpError.internal('the node key is missing');
      return s;
    })());
  const nodePubkey = (): Uint8Array => publicKeyFromSeed(seed());

  const all = (): CommunityRecord[] => [...db.getRange()].map(({ value }) => value);
  const get = (id: string): CommunityRecord | undefined => db.get(id);
  const joined = (id: unknown): CommunityRecord => {
    const c = get(hex32(id, 'community id'));
    if (!c) throw ScpError.notFound(`community ${String(id).slice(0, 16)}… is not joined here; join it with its id and share pubkey first`);
    return c;
  };

  const dirs = new Map<string, MemberDirectory>();
  const memberStore = openMemberStore(d.env);
  /** A joined community's directory, reloaded from `index/community-members` on first use after a start. */
  const directory = (c: CommunityRecord): MemberDirectory => {
    let dir = dirs.get(c.communityId);
    if (!dir) {
      const epoch = (BigInt(Math.floor(d.wallNowMs())) << 16n) | BigInt(ctx.random.int(65_536));
      const joinedNow = get(c.communityId) !== undefined;
      const store = memberStore.sink(c.communityId);
      const made: MemberDirectory = new MemberDirectory({
        communityShareId: fromHex(c.communityId, 32),
        communityPubkey: fromHex(c.sharePubkey, 32),
        epoch,
        strict: c.strict,
        // A pull still in flight when we leave keeps accepting into this (now detached) directory: not persisted.
        sink: { put: (m, r) => dirs.get(c.communityId) === made && store.put(m, r), drop: store.drop },
      });
      dir = made;
      // After a leave, stragglers (a refresh or pull that started before it) get a throwaway directory.
      if (!joinedNow) return dir;
      dir.restore(memberStore.load(c.communityId), nowUnix());
      dirs.set(c.communityId, dir);
    }
    dir.setStrict(c.strict, nowUnix());
    return dir;
  };

  /** Delta cursor per community and member (`<id>|<member key>`); per address: when it last said it speaks only classic. */
  const deltaCursors = new Map<string, Uint8Array>();
  const classicUntil = new Map<string, number>();

  // ------------------------------------------------------------------ session helpers

  const request = async (to: PeerAddr, messageType: number, payload: Uint8Array, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Uint8Array> => {
    const untyped = ctx.peers.request as unknown as (actor: 'session', body: Record<string, unknown>, opts?: CallOptions) => Promise<{ payload: Uint8Array }>;
    const r = await untyped('session', { type: 'request', to, messageType, payload, timeoutMs }, { timeoutMs: timeoutMs + 2_000 });
    return r.payload;
  };
  const selfAddrs = async (): Promise<PeerAddr[]> => ctx.peers.request('session', { type: 'selfAddrs' }, { timeoutMs: 5_000 }).catch(() => [] as PeerAddr[]);

  /**
   * Sends to a member over its addresses in order, moving on only when one cannot be reached (a record may list an
   * address the member no longer listens on, e.g. after a restart on another port): an answer, including the
   * peer's error envelope, ends the walk. The address that answered goes first next time.
   */
  const sendTo = (m: Member): SendToPeer => async (messageType, payload) => {
    let last: unknown;
    for (const [i, to] of m.addrs.entries()) {
      try {
        const r = await request(to, messageType, payload);
        if (i > 0) m.addrs = [to, ...m.addrs.filter((_, k) => k !== i)];
        return r;
      } catch (e) {
        if (e instanceof ScpError && e.code === 'REMOTE') throw e;
        last = e;
      }
    }
    throw last ?? ScpError.badInput('member has no address');
  };

  const isUnknownType = (e: unknown): boolean => e instanceof ScpError && e.code === 'REMOTE' && /unknown message type|unsupported message type/.test(e.message);

  // ------------------------------------------------------------------ our own presence

  /**
   * Our own record, signed. Each one must be strictly newer than the last (directories ignore an equal issued_at):
   * a leave in the same second as a refresh would otherwise be dropped everywhere and the join record would live
   * on for a TTL. So issued_at = max(now, previous + 1), the previous one from memory or from our own directory.
   */
  const lastIssued = new Map<string, bigint>();
  const ownRecord = async (c: CommunityRecord, left = false): Promise<CommunityMemberRecord> => {
    // A tombstone lists the addresses we withdraw, so members can ignore them in the classic community:info record.
    const addrs = (await selfAddrs()).filter((a) => a.port !== 0).slice(0, MEMBER_RECORD_MAX_ADDRS);
    const now = BigInt(nowUnix());
    const held = directory(c).get(toHex(nodePubkey()), nowUnix())?.issuedAt ?? 0n;
    const prev = lastIssued.get(c.communityId) ?? 0n;
    const floor = (held > prev ? held : prev) + 1n;
    const issuedAt = now > floor ? now : floor;
    lastIssued.set(c.communityId, issuedAt);
    return signMemberRecord(
      { communityShareId: fromHex(c.communityId, 32), memberNodePubkey: nodePubkey(), addrs, issuedAt, expiresAt: issuedAt + BigInt(MEMBER_RECORD_DEFAULT_TTL_SECS), left, membershipProof: c.token },
      seed(),
    );
  };
  const stillJoined = (c: CommunityRecord): boolean => get(c.communityId) !== undefined;

  const publishInfo = async (c: CommunityRecord): Promise<void> => {
    const addrs = await selfAddrs();
    if (addrs.length === 0 || !stillJoined(c)) return;
    const value = encodeCommunityMembers({ communityShareId: fromHex(c.communityId, 32), members: addrs, updatedAt: BigInt(nowUnix()) });
    await ctx.peers.request('dht', { type: 'put', key: communityInfoKey(fromHex(c.communityId, 32)), value, ttlSecs: DHT_TTL_SECS, replicate: true }, { timeoutMs: 30_000 });
  };

  const announce = async (record: CommunityMemberRecord, members: Member[]): Promise<void> => {
    const targets = shuffle(members.filter((m) => !m.self && m.addrs.length > 0 && !isClassic(m)), (n) => ctx.random.int(n)).slice(0, PULL_PEERS);
    await Promise.allSettled(
      targets.map(async (m) => {
        try {
          await announceMember(sendTo(m), record);
        } catch (e) {
          if (isUnknownType(e)) markClassic(m);
        }
      }),
    );
  };

  /** Re-signs and spreads our record, re-puts the rendezvous; never for a community we left (checked after each await). */
  const refreshPresence = async (c: CommunityRecord): Promise<void> => {
    if (!stillJoined(c)) return;
    const rec = await ownRecord(c);
    if (!stillJoined(c)) return;
    directory(c).accept(rec, nowUnix());
    await publishInfo(c).catch(() => undefined);
    const members = await gatherMembers(c).catch(() => [] as Member[]);
    if (stillJoined(c)) await announce(rec, members).catch(() => undefined);
  };

  // ------------------------------------------------------------------ members: rendezvous + directory

  const isClassic = (m: Member): boolean => {
    const a = m.addrs[0];
    return a !== undefined && (classicUntil.get(peerAddrKey(a)) ?? 0) > ctx.clock.now();
  };
  const markClassic = (m: Member): void => {
    const a = m.addrs[0];
    if (a) classicUntil.set(peerAddrKey(a), ctx.clock.now() + CLASSIC_MEMORY_MS);
  };

  const gatherMembers = async (c: CommunityRecord): Promise<Member[]> => {
    const me = toHex(nodePubkey());
    const mine = new Set((await selfAddrs()).map(peerAddrKey));
    const out = new Map<string, Member>();
    const dir = directory(c);
    for (const r of dir.live(nowUnix())) {
      const key = toHex(r.memberNodePubkey);
      out.set(key, { key, nodePubkey: key, addrs: r.addrs.map((a) => ({ ...a, pubkeyHint: a.pubkeyHint ?? r.memberNodePubkey })), source: 'directory', self: key === me });
    }
    // The classic record cannot drop a member (the merge only appends), so a leaver's entry lingers there. Its
    // signed tombstone names its key and the addresses it withdrew: skip those entries (a live record wins).
    const withdrawnKeys = new Set<string>();
    const withdrawnAddrs = new Set<string>();
    for (const t of dir.tombstones(nowUnix())) {
      withdrawnKeys.add(toHex(t.memberNodePubkey));
      for (const a of t.addrs) withdrawnAddrs.add(peerAddrKey(a));
    }
    for (const m of out.values()) for (const a of m.addrs) withdrawnAddrs.delete(peerAddrKey(a));
    for (const rec of await rendezvousRecords(c)) {
      for (const a of rec.members) {
        if (a.port === 0) continue;
        const hint = a.pubkeyHint ? toHex(a.pubkeyHint) : null;
        if ((hint !== null && withdrawnKeys.has(hint)) || withdrawnAddrs.has(peerAddrKey(a))) continue;
        const key = hint ?? `~${peerAddrKey(a)}`;
        const self = hint === me || mine.has(peerAddrKey(a));
        const prev = out.get(key);
        if (prev) {
          if (prev.source === 'directory') prev.source = 'both';
          if (!prev.addrs.some((x) => peerAddrKey(x) === peerAddrKey(a))) prev.addrs.push(a);
        } else out.set(key, { key, nodePubkey: hint, addrs: [a], source: 'dht', self });
      }
    }
    if (!out.has(me)) out.set(me, { key: me, nodePubkey: me, addrs: [], source: 'directory', self: true });
    return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  };

  /**
   * The `community:info:` records we can see. Our DHT's `get` answers from the local store first, and after our
   * own put that copy lists only us; so, as the reference's browse does (§10.4), we also ask FIND_VALUE of the
   * seed/connected peers directly and merge what they hold.
   */
  const rendezvousRecords = async (c: CommunityRecord): Promise<CommunityMembers[]> => {
    const key = communityInfoKey(fromHex(c.communityId, 32));
    const decode = (v: Uint8Array | null | undefined): CommunityMembers | null => {
      if (!v) return null;
      try {
        const r = decodeCommunityMembers(v);
        return toHex(r.communityShareId) === c.communityId ? r : null;
      } catch {
        return null;
      }
    };
    const local = ctx.peers.request('dht', { type: 'get', key }, { timeoutMs: 20_000 }).then((r) => decode(r.value), () => null);
    const contacts = await ctx.peers.request('session', { type: 'contacts', limit: INFO_SEED_PEERS }, { timeoutMs: 5_000 }).catch(() => []);
    const payload = findValueCodec.encode({ key });
    const remote = mapLimit(contacts, FAN_OUT, async ({ addr }) => {
      try {
        const r = findValueResultCodec.decode(await request(addr, MessageType.FIND_VALUE, payload));
        return r.value && bytesEqual(r.value.key, key) ? decode(r.value.value) : null;
      } catch {
        return null;
      }
    });
    return [await local, ...(await remote)].filter((r): r is CommunityMembers => r !== null);
  };

  /** Pulls directory records from up to PULL_PEERS members: delta when we hold a cursor, pages otherwise (the probe). */
  const pull = async (c: CommunityRecord, members?: Member[]): Promise<void> => {
    const dir = directory(c);
    const list = (members ?? (await gatherMembers(c))).filter((m) => !m.self && m.addrs.length > 0 && !isClassic(m));
    const pick = list.length <= PULL_PEERS ? list : shuffle(list, (n) => ctx.random.int(n)).slice(0, PULL_PEERS);
    const sc = { communityShareId: fromHex(c.communityId, 32), communityPubkey: fromHex(c.sharePubkey, 32), token: c.token };
    await Promise.allSettled(
      pick.map(async (m) => {
        // Per member, not per address: the same directory answers on every address of that node.
        const ck = `${c.communityId}|${m.key}`;
        try {
          const r = await pullMembers(sendTo(m), sc, dir, deltaCursors.get(ck), nowUnix, { maxRequests: PULL_MAX_PAGES, entries: PAGE_ENTRIES });
          if (r.cursor) deltaCursors.set(ck, r.cursor);
          else deltaCursors.delete(ck);
        } catch (e) {
          if (isUnknownType(e)) markClassic(m);
        }
      }),
    );
  };

  // ------------------------------------------------------------------ asking members

  const summaryView = (s: PublicShareSummary, peer: PeerAddr | null, peerPubkey: string | null): PublicShareView => ({
    shareId: toHex(s.shareId),
    sharePubkey: toHex(s.sharePubkey),
    latestSeq: s.latestSeq,
    latestManifestId: toHex(s.latestManifestId),
    title: s.title,
    description: s.description,
    peer: peer ? formatAddr(peer) : null,
    peerPubkey,
  });

  const memberShares = async (c: CommunityRecord, m: Member): Promise<PublicShareView[]> => {
    if (m.self) return communityShares(wireState, c.communityId, MEMBER_LIST_ENTRIES).map((s) => summaryView(s, null, m.nodePubkey));
    const payload = listCommunityPublicSharesCodec.encode({
      communityShareId: fromHex(c.communityId, 32),
      communitySharePubkey: fromHex(c.sharePubkey, 32),
      maxEntries: MEMBER_LIST_ENTRIES,
      requesterNodePubkey: nodePubkey(),
      requesterMembershipProof: c.token,
    });
    for (const to of m.addrs) {
      try {
        const r = communityPublicShareListCodec.decode(await request(to, MessageType.LIST_COMMUNITY_PUBLIC_SHARES, payload));
        if (toHex(r.communityShareId) !== c.communityId) return [];
        return r.shares.map((s) => summaryView(s, to, m.nodePubkey));
      } catch {
        /* next address */
      }
    }
    return [];
  };

  const memberStatus = async (c: CommunityRecord, m: Member): Promise<{ joined: boolean | null; name: string | null }> => {
    const payload = getCommunityStatusCodec.encode({ communityShareId: fromHex(c.communityId, 32), communitySharePubkey: fromHex(c.sharePubkey, 32) });
    for (const to of m.addrs) {
      try {
        const r = communityStatusCodec.decode(await request(to, MessageType.GET_COMMUNITY_STATUS, payload));
        if (toHex(r.communityShareId) !== c.communityId) return { joined: null, name: null };
        return { joined: r.joined, name: r.name };
      } catch {
        /* next address */
      }
    }
    return { joined: null, name: null };
  };

  // ------------------------------------------------------------------ wire (server side)

  const wireState = {
    community: get,
    directory: (id: string) => {
      const c = get(id);
      return c ? directory(c) : undefined;
    },
    ownShares: d.ownShares,
    manifestCommunities: d.manifestCommunities,
    nowUnix,
  };

  // ------------------------------------------------------------------ background: rendezvous republish + pulls

  const republishAll = async (): Promise<void> => {
    for (const c of all()) await refreshPresence(c).catch(() => undefined);
  };
  const scheduleRepublish = (ms: number): void => d.later(ms, () => void republishAll().finally(() => scheduleRepublish(INFO_REPUBLISH_MS)));
  const schedulePull = (ms: number): void =>
    d.later(ms, () => void Promise.allSettled(all().map((c) => pull(c))).finally(() => schedulePull(PULL_INTERVAL_MS)));
  scheduleRepublish(FIRST_REPUBLISH_MS);
  schedulePull(PULL_INTERVAL_MS);

  const info = (c: CommunityRecord): CommunityInfo => communityView(c);

  return {
    wire: (req: { messageType: number; payload: Uint8Array; from?: PeerRef }) => handleCommunityWire(wireState, req),
    /** For tests and the bench: the directory of a joined community. */
    directoryOf: (id: string): MemberDirectory | undefined => wireState.directory(id),
    handlers: {
      async createCommunity(req: { name: string }): Promise<{ communityId: string; sharePubkey: string }> {
        const name = normalizeCommunityName(req?.name);
        const store = d.keyring();
        const label = `${COMMUNITY_LABEL_PREFIX}${name}`;
        const { identity, created } = resolvePublisher(store.ring, label, () => new Uint8Array(randomBytes(32)), d.wallNowMs());
        if (!created && get(identity.shareId)) throw ScpError.badInput(`a community named "${name}" already exists here (${identity.shareId}); pick another name`);
        if (created) store.add(identity, (n) => new Uint8Array(randomBytes(n)));
        const base = joinDecision(get(identity.shareId), { communityId: identity.shareId, sharePubkey: identity.sharePubkey, name }, { nodePubkey: nodePubkey(), nowUnix: nowUnix(), count: all().length });
        // The creator holds the key: it issues itself a token so strict members accept it too.
        const token = fromHex(issueToken(identity.seed, identity.shareId, toHex(nodePubkey()), nowUnix()));
        const rec: CommunityRecord = { ...base, owner: true, token };
        db.putSync(rec.communityId, rec);
        await refreshPresence(rec).catch(() => undefined);
        return { communityId: rec.communityId, sharePubkey: rec.sharePubkey };
      },
      async joinCommunity(req: { communityId: string; sharePubkey: string; name?: string | null; membershipToken?: string | null; strict?: boolean }): Promise<CommunityInfo> {
        const existing = typeof req?.communityId === 'string' ? get(req.communityId.toLowerCase()) : undefined;
        const rec = joinDecision(existing, req, { nodePubkey: nodePubkey(), nowUnix: nowUnix(), count: all().length });
        db.putSync(rec.communityId, rec);
        await refreshPresence(rec).catch(() => undefined);
        void pull(rec).catch(() => undefined);
        return info(rec);
      },
      async leaveCommunity(req: { communityId: string }): Promise<{ left: boolean }> {
        const id = hex32(req?.communityId, 'community id');
        const c = get(id);
        if (!c) return { left: false };
        const members = await gatherMembers(c).catch(() => [] as Member[]);
        const tomb = await ownRecord(c, true).catch(() => undefined);
        db.removeSync(id);
        dirs.delete(id);
        await memberStore.clear(id);
        for (const k of [...deltaCursors.keys()]) if (k.startsWith(`${id}|`)) deltaCursors.delete(k);
        if (tomb) await announce(tomb, members).catch(() => undefined);
        return { left: true };
      },
      listCommunities: (): CommunityInfo[] => all().map(info),
      async listCommunityParticipants(req: { communityId: string }): Promise<CommunityParticipant[]> {
        const c = joined(req?.communityId);
        await pull(c).catch(() => undefined);
        const members = (await gatherMembers(c)).filter((m) => !m.self);
        // Classic-only entries must answer GET_COMMUNITY_STATUS (the record cannot drop leavers). Members with a signed
        // directory record are asked too (for their name and reachability) only in small communities: in a large one
        // that would be one request per member; their live join record is their own signed "joined".
        const askDirectory = members.filter((m) => m.source !== 'dht').length <= STATUS_ASK_MAX;
        const out = await mapLimit(members, FAN_OUT, async (m): Promise<CommunityParticipant | null> => {
          const st = m.source === 'dht' || askDirectory ? await memberStatus(c, m) : { joined: true, name: null };
          // A classic rendezvous entry must answer "joined". A signed directory record is enough while the member is
          // unreachable, but not against the member itself saying "not joined" (a left member whose tombstone was lost;
          // the session checked its key against the record's address hint).
          if (st.joined === false || (st.joined !== true && m.source === 'dht')) return null;
          return {
            nodePubkey: m.nodePubkey,
            addresses: m.addrs.map(formatAddr),
            joined: st.joined,
            name: st.name,
            source: m.source,
            extension: m.source !== 'dht' ? true : isClassic(m) ? false : null,
          };
        });
        return out.filter((p): p is CommunityParticipant => p !== null);
      },
      async browseCommunityShares(req: { communityId: string; cursor?: string | null; limit?: number }): Promise<CommunityBrowse> {
        const id = hex32(req?.communityId, 'community id');
        const c = get(id);
        if (!c) return { shares: [], nextCursor: null }; // a non-member sees nothing
        const limit = Math.max(1, Math.min(BROWSE_MAX_LIMIT, Math.floor(req.limit ?? BROWSE_DEFAULT_LIMIT)));
        const cursor = decodeBrowseCursor(req.cursor);
        await pull(c).catch(() => undefined);
        const members = await gatherMembers(c);
        let i = cursor ? members.findIndex((m) => m.key >= cursor.memberKey) : 0;
        if (i < 0) return { shares: [], nextCursor: null };
        const skipFor = new Map<string, number>(cursor ? [[cursor.memberKey, cursor.skip]] : []);
        const shares: PublicShareView[] = [];
        const seen = new Set<string>();
        while (i < members.length && shares.length < limit) {
          const window = members.slice(i, i + FAN_OUT);
          const lists = await mapLimit(window, FAN_OUT, (m) => memberShares(c, m).catch(() => [] as PublicShareView[]));
          for (let w = 0; w < window.length; w++, i++) {
            const m = window[w]!;
            const list = lists[w]!;
            for (let k = skipFor.get(m.key) ?? 0; k < list.length; k++) {
              if (shares.length >= limit) return { shares, nextCursor: encodeBrowseCursor({ memberKey: m.key, skip: k }) };
              const s = list[k]!;
              if (seen.has(s.shareId)) continue;
              seen.add(s.shareId);
              shares.push(s);
            }
          }
        }
        return { shares, nextCursor: null };
      },
      issueMembershipToken(req: { communityId: string; memberNodePubkey: string; ttlSecs?: number }): { token: string; expiresAt: bigint } {
        const c = joined(req?.communityId);
        const ident = d.keyring().ring.identities.find((x) => x.shareId === c.communityId);
        if (!ident) throw new ScpError('UNAUTHORIZED', 'only the node that created this community holds its key and can issue membership tokens');
        const ttl = req.ttlSecs ?? undefined;
        const token = issueToken(ident.seed, c.communityId, req.memberNodePubkey, nowUnix(), ttl);
        return { token, expiresAt: BigInt(nowUnix() + (ttl ?? 30 * 86_400)) };
      },
      async listPublicSharesFromPeers(req: { maxPeers?: number }): Promise<PublicShareView[]> {
        const contacts = await ctx.peers.request('session', { type: 'contacts', limit: Math.max(1, Math.min(256, req?.maxPeers ?? 64)) }, { timeoutMs: 5_000 }).catch(() => []);
        const payload = listPublicSharesCodec.encode({ maxEntries: PUBLIC_LIST_ENTRIES });
        const lists = await mapLimit(contacts, FAN_OUT, async ({ addr }) => {
          try {
            const r = publicShareListCodec.decode(await request(addr, MessageType.LIST_PUBLIC_SHARES, payload));
            return r.shares.map((s) => summaryView(s, addr, addr.pubkeyHint ? toHex(addr.pubkeyHint) : null));
          } catch {
            return [] as PublicShareView[];
          }
        });
        const seen = new Set<string>();
        return lists.flat().filter((s) => {
          const k = `${s.shareId}|${s.peer}`;
          if (seen.has(k)) return false;
          seen.add(k);
          return true;
        });
      },
    },
  };
}

async function mapLimit<T, R>(items: readonly T[], n: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  return out;
}

function shuffle<T>(xs: readonly T[], int: (n: number) => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
