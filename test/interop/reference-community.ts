/**
 * The reference's community behaviour (PROTOCOL.md §10.2–10.4), plugged into a RefServer for a reference node that
 * joined one community: GET_COMMUNITY_STATUS (→ 405), LIST_COMMUNITY_PUBLIC_SHARES (→ 407, §10.1 order, no strict
 * mode: "never enabled by binaries"), and STORE with the `community:info:` merge (append members not already
 * present by exact PeerAddr equality, keep the larger updated_at). Written from the fact sheet, not from our index
 * code: only the pure codecs are shared. Every other type keeps the RefServer's answers, so 4080–4082 still get
 * "unknown message type N", as from the reference.
 */
import { FLAG_RESPONSE, FLAGS_ERROR_RESPONSE, type Envelope } from '../../src/protocol/envelope.js';
import { bytesEqual, toHex } from '../../src/protocol/bytes.js';
import { decodeCommunityMembers, encodeCommunityMembers, type CommunityMembers } from '../../src/protocol/community.js';
import { communityInfoKey } from '../../src/protocol/dht-keys.js';
import { storeCodec } from '../../src/protocol/dht-messages.js';
import { sha256 } from '../../src/protocol/hash.js';
import type { PeerAddr } from '../../src/protocol/peer-addr.js';
import {
  communityPublicShareListCodec,
  communityStatusCodec,
  getCommunityStatusCodec,
  listCommunityPublicSharesCodec,
  type PublicShareSummary,
} from '../../src/protocol/share-messages.js';
import type { RefServer } from './reference-peer.js';

export interface RefCommunityShare extends PublicShareSummary {
  /** For the §10.1 sort (updated_at desc). */
  updatedAt: bigint;
  /** Community ids its manifest lists. */
  communities: Uint8Array[];
}

export interface RefCommunity {
  communityId: Uint8Array;
  name: string;
  /** The reference node's own public shares (it lists those published into the community). */
  shares: RefCommunityShare[];
  /** The member address it announces (§15: the TCP bind address, no pubkey hint). */
  selfAddr: PeerAddr;
}

/** Requests the handlers answered, by type (what our node asked of the "reference" member). */
export interface RefCommunityLog {
  status: number;
  list: number;
  storesMerged: number;
}

const MISMATCH = 'community share_id does not match share_pubkey';

function sameAddr(a: PeerAddr, b: PeerAddr): boolean {
  const h = (x: PeerAddr): string => (x.pubkeyHint ? toHex(x.pubkeyHint) : '');
  const r = (x: PeerAddr): string => (x.relayVia ? `${x.relayVia.relayAddr.ip}|${x.relayVia.relayAddr.port}|${x.relayVia.relayAddr.transport}|${x.relayVia.slotId}` : '');
  return a.ip === b.ip && a.port === b.port && a.transport === b.transport && h(a) === h(b) && r(a) === r(b);
}

/** Installs the handlers and the node's own `community:info:` record (as a joined desktop node stores it). */
export function installReferenceCommunity(ref: RefServer, c: RefCommunity): RefCommunityLog {
  const log: RefCommunityLog = { status: 0, list: 0, storesMerged: 0 };
  const infoKey = communityInfoKey(c.communityId);
  const nowSecs = BigInt(Math.floor(Date.now() / 1000));
  const own: CommunityMembers = { communityShareId: c.communityId, members: [c.selfAddr], updatedAt: nowSecs };
  ref.dht.set(toHex(infoKey), { key: infoKey, value: encodeCommunityMembers(own), ttlSecs: 86_400n });

  const ok = (env: Envelope, type: number, payload: Uint8Array = new Uint8Array(0)): Envelope => ({ type, reqId: env.reqId, flags: FLAG_RESPONSE, payload });
  const err = (env: Envelope, text: string): Envelope => ({ type: env.type, reqId: env.reqId, flags: FLAGS_ERROR_RESPONSE, payload: new TextEncoder().encode(text) });
  const joined = (id: Uint8Array): boolean => bytesEqual(id, c.communityId);

  ref.handlers.set(404, (env) => {
    const q = getCommunityStatusCodec.decode(env.payload);
    if (!bytesEqual(sha256(q.communitySharePubkey), q.communityShareId)) return err(env, MISMATCH);
    log.status++;
    const j = joined(q.communityShareId);
    return ok(env, 405, communityStatusCodec.encode({ communityShareId: q.communityShareId, joined: j, membershipProof: null, name: j ? c.name : null }));
  });

  ref.handlers.set(406, (env) => {
    const q = listCommunityPublicSharesCodec.decode(env.payload);
    if (!bytesEqual(sha256(q.communitySharePubkey), q.communityShareId)) return err(env, MISMATCH);
    log.list++;
    const shares = !joined(q.communityShareId)
      ? []
      : c.shares
          .filter((s) => s.communities.some((x) => bytesEqual(x, q.communityShareId)))
          .sort((a, b) => (a.updatedAt !== b.updatedAt ? (a.updatedAt > b.updatedAt ? -1 : 1) : a.latestSeq !== b.latestSeq ? (a.latestSeq > b.latestSeq ? -1 : 1) : toHex(a.shareId) < toHex(b.shareId) ? -1 : 1))
          .slice(0, Math.max(1, q.maxEntries))
          .map(({ shareId, sharePubkey, latestSeq, latestManifestId, title, description }) => ({ shareId, sharePubkey, latestSeq, latestManifestId, title, description }));
    return ok(env, 407, communityPublicShareListCodec.encode({ communityShareId: q.communityShareId, shares }));
  });

  // STORE: last write wins, except a community:info record onto an existing one (§10.4 merge).
  ref.handlers.set(202, (env) => {
    const st = storeCodec.decode(env.payload);
    const k = toHex(st.key);
    const existing = ref.dht.get(k);
    let value: Uint8Array = st.value.slice();
    if (existing) {
      try {
        const a = decodeCommunityMembers(existing.value);
        const b = decodeCommunityMembers(st.value);
        if (bytesEqual(communityInfoKey(a.communityShareId), st.key) && bytesEqual(a.communityShareId, b.communityShareId)) {
          const members = [...a.members];
          for (const m of b.members) if (!members.some((x) => sameAddr(x, m))) members.push(m);
          value = encodeCommunityMembers({ communityShareId: a.communityShareId, members, updatedAt: a.updatedAt > b.updatedAt ? a.updatedAt : b.updatedAt });
          log.storesMerged++;
        }
      } catch {
        /* not two community records: replace */
      }
    }
    ref.dht.set(k, { key: st.key.slice(), value, ttlSecs: st.ttlSecs });
    return ok(env, 202);
  });
  return log;
}

/** The reference's member list as it holds it now. */
export function refCommunityMembers(ref: RefServer, communityId: Uint8Array): PeerAddr[] {
  const v = ref.dht.get(toHex(communityInfoKey(communityId)));
  return v ? decodeCommunityMembers(v.value).members : [];
}
