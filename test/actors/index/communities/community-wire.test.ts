import { describe, expect, it } from 'vitest';
import { joinDecision, issueToken, type CommunityRecord } from '../../../../src/actors/index/communities/community-book.js';
import { handleCommunityWire, PROOF_REJECTED_TEXT, PROOF_REQUIRED_TEXT, type CommunityWireState } from '../../../../src/actors/index/communities/community-wire.js';
import type { OwnShareRecord } from '../../../../src/actors/index/own-shares.js';
import type { PeerRef } from '../../../../src/messages/wire.js';
import { fromHex, toHex } from '../../../../src/protocol/bytes.js';
import {
  CommunityExtMessageType as X,
  communityMemberAnnounceCodec,
  communityMemberAnnounceResultCodec,
  communityMembersDeltaCodec,
  communityMembersDeltaResultCodec,
  communityMembersPageCodec,
  communityMembersPageResultCodec,
} from '../../../../src/protocol/community-ext.js';
import { publicKeyFromSeed } from '../../../../src/protocol/keys.js';
import { MessageType } from '../../../../src/protocol/registry.js';
import {
  communityPublicShareListCodec,
  communityStatusCodec,
  getCommunityStatusCodec,
  listCommunityPublicSharesCodec,
} from '../../../../src/protocol/share-messages.js';
import { NOW, communityId, communityIdHex, communityPubkey, communitySeed, directory, nodeSeed, record, tokenFor } from './helpers.js';

const own = (n: number, visibility: 'public' | 'private', manifestId: string): OwnShareRecord => ({
  shareId: String(n).repeat(64).slice(0, 64),
  sharePubkey: 'ab'.repeat(32),
  publisher: `p${n}`,
  seq: '1',
  manifestId,
  title: `share ${n}`,
  description: null,
  visibility,
  items: 1,
  updatedAt: String(NOW + n),
  head: new Uint8Array(0),
  files: [],
  active: true,
});

const MID_IN = '11'.repeat(32);
const MID_PRIV_IN = '22'.repeat(32);
const MID_OUT = '33'.repeat(32);

function state(c: Partial<CommunityRecord> | null): CommunityWireState {
  const rec: CommunityRecord | undefined = c
    ? { communityId: communityIdHex, sharePubkey: toHex(communityPubkey), name: 'makers', token: null, strict: false, owner: false, joinedAt: String(NOW), ...c }
    : undefined;
  const dir = directory(rec?.strict ?? false);
  return {
    community: (id) => (id === communityIdHex ? rec : undefined),
    directory: (id) => (id === communityIdHex && rec ? dir : undefined),
    ownShares: () => [own(1, 'public', MID_IN), own(2, 'private', MID_PRIV_IN), own(3, 'public', MID_OUT)],
    manifestCommunities: (mid) => (mid === MID_IN || mid === MID_PRIV_IN ? [communityIdHex] : []),
    nowUnix: () => NOW,
  };
}

const from = (seed: Uint8Array): PeerRef => ({
  nodeId: '', pubkey: toHex(publicKeyFromSeed(seed)), remote: '127.0.0.1:1', transport: 'tcp', relayed: false, addr: null,
  capabilities: { dht: false, store: false, relay: false, contentSeed: false, mobileLight: false },
});

const list406 = (s: CommunityWireState, requester?: Uint8Array, proof?: Uint8Array, f?: PeerRef) =>
  handleCommunityWire(s, {
    messageType: MessageType.LIST_COMMUNITY_PUBLIC_SHARES,
    payload: listCommunityPublicSharesCodec.encode({ communityShareId: communityId, communitySharePubkey: communityPubkey, maxEntries: 64, requesterNodePubkey: requester ?? null, requesterMembershipProof: proof ?? null }),
    ...(f ? { from: f } : {}),
  });

const sharesOf = (r: ReturnType<typeof list406>): string[] => ('payload' in r ? communityPublicShareListCodec.decode(r.payload).shares.map((x) => toHex(x.shareId)) : [`error: ${r.error}`]);

describe('classic community wire handlers (PROTOCOL.md §10.2–10.3)', () => {
  it('GET_COMMUNITY_STATUS: joined with the local name; id/pubkey mismatch is the reference error', () => {
    const r = handleCommunityWire(state({}), { messageType: MessageType.GET_COMMUNITY_STATUS, payload: getCommunityStatusCodec.encode({ communityShareId: communityId, communitySharePubkey: communityPubkey }) });
    expect('payload' in r && communityStatusCodec.decode(r.payload)).toMatchObject({ joined: true, name: 'makers', membershipProof: null });
    const no = handleCommunityWire(state(null), { messageType: MessageType.GET_COMMUNITY_STATUS, payload: getCommunityStatusCodec.encode({ communityShareId: communityId, communitySharePubkey: communityPubkey }) });
    expect('payload' in no && communityStatusCodec.decode(no.payload).joined).toBe(false);
    const bad = handleCommunityWire(state({}), { messageType: MessageType.GET_COMMUNITY_STATUS, payload: getCommunityStatusCodec.encode({ communityShareId: communityId, communitySharePubkey: new Uint8Array(32).fill(1) }) });
    expect(bad).toEqual({ error: 'community share_id does not match share_pubkey' });
  });

  it('LIST_COMMUNITY_PUBLIC_SHARES: only public shares published into this community; never private ones', () => {
    expect(sharesOf(list406(state({})))).toEqual([own(1, 'public', MID_IN).shareId]);
    expect(sharesOf(list406(state(null)))).toEqual([]); // not joined: empty
  });

  it('strict mode: no token → refused; forged or stolen token → refused; valid token → listed', () => {
    const s = state({ strict: true });
    const mSeed = nodeSeed(1);
    const m = publicKeyFromSeed(mSeed);
    expect(list406(s)).toEqual({ error: PROOF_REQUIRED_TEXT });
    expect(list406(s, m, tokenFor(m, new Uint8Array(32).fill(9)))).toEqual({ error: PROOF_REJECTED_TEXT }); // forged: wrong signer
    expect(list406(s, m, tokenFor(publicKeyFromSeed(nodeSeed(2))))).toEqual({ error: PROOF_REJECTED_TEXT }); // someone else's token
    const expired = tokenFor(m, communitySeed, communityId, -10);
    expect(list406(s, m, expired)).toEqual({ error: PROOF_REJECTED_TEXT });
    // a valid token presented by a different authenticated node (replay) is refused
    expect(list406(s, m, tokenFor(m), from(nodeSeed(3)))).toEqual({ error: PROOF_REJECTED_TEXT });
    expect(sharesOf(list406(s, m, tokenFor(m), from(mSeed)))).toEqual([own(1, 'public', MID_IN).shareId]);
  });
});

describe('extension wire handlers (docs/COMMUNITIES.md §5.3)', () => {
  it('announce → page → delta round trip through the codecs', () => {
    const s = state({});
    const ann = (i: number) =>
      handleCommunityWire(s, { messageType: X.COMMUNITY_MEMBER_ANNOUNCE, payload: communityMemberAnnounceCodec.encode({ record: record(i) }) });
    for (let i = 0; i < 5; i++) {
      const r = ann(i);
      expect('payload' in r && communityMemberAnnounceResultCodec.decode(r.payload)).toEqual({ accepted: true, reason: null });
    }
    const forged = { ...record(9), issuedAt: BigInt(NOW + 1) };
    const fr = handleCommunityWire(s, { messageType: X.COMMUNITY_MEMBER_ANNOUNCE, payload: communityMemberAnnounceCodec.encode({ record: forged }) });
    expect('payload' in fr && communityMemberAnnounceResultCodec.decode(fr.payload)).toEqual({ accepted: false, reason: 'bad_signature' });

    const page = handleCommunityWire(s, { messageType: X.COMMUNITY_MEMBERS_PAGE, payload: communityMembersPageCodec.encode({ communityShareId: communityId, communitySharePubkey: communityPubkey, cursor: null, maxEntries: 3, requesterMembershipProof: null }) });
    const p = 'payload' in page ? communityMembersPageResultCodec.decode(page.payload) : null;
    expect(p?.members.length).toBe(3);
    expect(p?.nextCursor?.length).toBe(32);
    ann(7);
    const delta = handleCommunityWire(s, { messageType: X.COMMUNITY_MEMBERS_DELTA, payload: communityMembersDeltaCodec.encode({ communityShareId: communityId, communitySharePubkey: communityPubkey, since: p!.syncCursor, maxEntries: 100, requesterMembershipProof: null }) });
    const d = 'payload' in delta ? communityMembersDeltaResultCodec.decode(delta.payload) : null;
    expect(d?.members.map((m) => toHex(m.memberNodePubkey))).toEqual([toHex(record(7).memberNodePubkey)]);
  });

  it('strict: paging needs a token for the authenticated requester', () => {
    const s = state({ strict: true });
    const payload = (proof: Uint8Array | null) =>
      communityMembersPageCodec.encode({ communityShareId: communityId, communitySharePubkey: communityPubkey, cursor: null, maxEntries: 10, requesterMembershipProof: proof });
    const seed = nodeSeed(4);
    const pub = publicKeyFromSeed(seed);
    expect(handleCommunityWire(s, { messageType: X.COMMUNITY_MEMBERS_PAGE, payload: payload(null), from: from(seed) })).toEqual({ error: PROOF_REQUIRED_TEXT });
    expect(handleCommunityWire(s, { messageType: X.COMMUNITY_MEMBERS_PAGE, payload: payload(tokenFor(pub, new Uint8Array(32).fill(3))), from: from(seed) })).toEqual({ error: PROOF_REJECTED_TEXT });
    expect('payload' in handleCommunityWire(s, { messageType: X.COMMUNITY_MEMBERS_PAGE, payload: payload(tokenFor(pub)), from: from(seed) })).toBe(true);
  });

  it('a non-member answers empty, and announces are refused', () => {
    const s = state(null);
    const page = handleCommunityWire(s, { messageType: X.COMMUNITY_MEMBERS_PAGE, payload: communityMembersPageCodec.encode({ communityShareId: communityId, communitySharePubkey: communityPubkey, cursor: null, maxEntries: 10, requesterMembershipProof: null }) });
    expect('payload' in page && communityMembersPageResultCodec.decode(page.payload).members).toEqual([]);
    const a = handleCommunityWire(s, { messageType: X.COMMUNITY_MEMBER_ANNOUNCE, payload: communityMemberAnnounceCodec.encode({ record: record(1) }) });
    expect('payload' in a && communityMemberAnnounceResultCodec.decode(a.payload).accepted).toBe(false);
  });
});

describe('join decisions', () => {
  const me = publicKeyFromSeed(nodeSeed(1));
  const base = { nodePubkey: me, nowUnix: NOW, count: 0 };
  it('refuses a pubkey that does not hash to the id (BAD_INPUT)', () => {
    expect(() => joinDecision(undefined, { communityId: communityIdHex, sharePubkey: 'ff'.repeat(32) }, base)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => joinDecision(undefined, { communityId: 'xyz', sharePubkey: 'ff'.repeat(32) }, base)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
  it('accepts a valid token for this node, refuses a forged or foreign one', () => {
    const good = issueToken(communitySeed, communityIdHex, toHex(me), NOW);
    const rec = joinDecision(undefined, { communityId: communityIdHex, sharePubkey: toHex(communityPubkey), membershipToken: good, strict: true }, base);
    expect(rec.token && toHex(rec.token)).toBe(good);
    expect(rec.strict).toBe(true);
    const foreign = issueToken(communitySeed, communityIdHex, toHex(publicKeyFromSeed(nodeSeed(2))), NOW);
    expect(() => joinDecision(undefined, { communityId: communityIdHex, sharePubkey: toHex(communityPubkey), membershipToken: foreign }, base)).toThrow(expect.objectContaining({ code: 'VERIFY_FAILED' }));
    const forged = toHex(tokenFor(me, new Uint8Array(32).fill(9)));
    expect(() => joinDecision(undefined, { communityId: communityIdHex, sharePubkey: toHex(communityPubkey), membershipToken: forged }, base)).toThrow(expect.objectContaining({ code: 'VERIFY_FAILED' }));
    expect(fromHex(good).length).toBeGreaterThan(100);
  });
});
