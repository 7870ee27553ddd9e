// Conformance vectors for the communities-at-scale extension (docs/COMMUNITIES.md §3–§5), vectors/communities.json:
// the per-member record (signed bytes, signature, struct map; a join record and a tombstone), every 4080–4082
// request and answer, the envelopes a peer sees (our request, a reference peer's "unknown message type 4080"
// answer), our delta-cursor layout, and the rendezvous key and value the extension keeps using (it adds no DHT
// keyspace, §2). `generate(p)` takes the protocol module (dist/ from `npm run vectors`, src/ from
// test/protocol/communities-vectors.test.ts). Values use the tags of messages.mjs ($bytes, $u64).
import { tagValue } from './messages.mjs';

export const file = 'communities.json';

const fill = (n, v) => new Uint8Array(n).fill(v);
const seq = (n, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i * 7) & 0xff);
const hex = (b) => Buffer.from(b).toString('hex');

/** The extension's codecs by the names the vectors use (the test resolves them the same way). */
export function codecs(p) {
  return {
    CommunityMembersPage: p.communityMembersPageCodec,
    CommunityMembersPageResult: p.communityMembersPageResultCodec,
    CommunityMembersDelta: p.communityMembersDeltaCodec,
    CommunityMembersDeltaResult: p.communityMembersDeltaResultCodec,
    CommunityMemberAnnounce: p.communityMemberAnnounceCodec,
    CommunityMemberAnnounceResult: p.communityMemberAnnounceResultCodec,
  };
}

/** u64_be(epoch) ‖ u64_be(seq) (§5.2); written here independently of src/ so the layout itself is pinned. */
function deltaCursor(epoch, s) {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, epoch);
  v.setBigUint64(8, s);
  return out;
}

export function generate(p) {
  const communitySeed = fill(32, 0xc3);
  const memberSeed = fill(32, 0xa1);
  const otherSeed = fill(32, 0xb2);
  const communityPubkey = p.publicKeyFromSeed(communitySeed);
  const communityId = p.shareIdFromPubkey(communityPubkey);
  const member = p.publicKeyFromSeed(memberSeed);
  const other = p.publicKeyFromSeed(otherSeed);

  const token = p.encodeMembershipToken(
    p.signMembershipToken({ communityShareId: communityId, memberNodePubkey: member, issuedAt: 1_700_000_000n, expiresAt: 1_702_592_000n }, communitySeed),
  );
  // A join record: two addresses (one relayed, one with a hint), the maximum TTL, a token (strict community).
  const join = p.signMemberRecord(
    {
      communityShareId: communityId,
      memberNodePubkey: member,
      addrs: [
        { ip: '192.0.2.10', port: 7001, transport: 'tcp', pubkeyHint: member },
        { ip: '2001:db8::10', port: 7000, transport: 'quic', pubkeyHint: null, relayVia: { relayAddr: { ip: '203.0.113.9', port: 7001, transport: 'tcp', pubkeyHint: null }, slotId: 2n ** 63n + 5n } },
      ],
      issuedAt: 1_700_000_000n,
      expiresAt: 1_700_021_600n,
      left: false,
      membershipProof: token,
    },
    memberSeed,
  );
  // A tombstone: no addresses, no token, one hour.
  const tomb = p.signMemberRecord(
    { communityShareId: communityId, memberNodePubkey: other, addrs: [], issuedAt: 1_700_000_100n, expiresAt: 1_700_003_700n, left: true, membershipProof: null },
    otherSeed,
  );
  const recordEntry = (r) => ({
    value: tagValue(r),
    signableBytes: hex(p.memberRecordSignableBytes(r)),
    signature: hex(r.signature),
    map: hex(p.encodeMemberRecord(r)),
  });

  const since = deltaCursor(0x0000_018b_cfe5_6800n, 41n);
  /** [entry name, codec name, value] */
  const cases = [
    ['CommunityMembersPage/first', 'CommunityMembersPage', { communityShareId: communityId, communitySharePubkey: communityPubkey, cursor: null, maxEntries: 500, requesterMembershipProof: null }],
    ['CommunityMembersPage/cursor-proof', 'CommunityMembersPage', { communityShareId: communityId, communitySharePubkey: communityPubkey, cursor: member, maxEntries: 65_535, requesterMembershipProof: token }],
    ['CommunityMembersPageResult/more', 'CommunityMembersPageResult', { communityShareId: communityId, members: [join], nextCursor: member, syncCursor: since }],
    ['CommunityMembersPageResult/last-empty', 'CommunityMembersPageResult', { communityShareId: communityId, members: [], nextCursor: null, syncCursor: fill(16, 0) }],
    ['CommunityMembersDelta', 'CommunityMembersDelta', { communityShareId: communityId, communitySharePubkey: communityPubkey, since, maxEntries: 1, requesterMembershipProof: token }],
    ['CommunityMembersDeltaResult/join-and-tombstone', 'CommunityMembersDeltaResult', { communityShareId: communityId, members: [join, tomb], nextCursor: deltaCursor(0x0000_018b_cfe5_6800n, 43n), more: true, reset: false }],
    ['CommunityMembersDeltaResult/reset', 'CommunityMembersDeltaResult', { communityShareId: communityId, members: [], nextCursor: deltaCursor(2n ** 64n - 1n, 0n), more: false, reset: true }],
    ['CommunityMemberAnnounce', 'CommunityMemberAnnounce', { record: tomb }],
    ['CommunityMemberAnnounceResult/accepted', 'CommunityMemberAnnounceResult', { accepted: true, reason: null }],
    ['CommunityMemberAnnounceResult/refused', 'CommunityMemberAnnounceResult', { accepted: false, reason: 'stale' }],
  ];
  const all = codecs(p);
  const messages = {};
  for (const [name, codec, value] of cases) messages[name] = { codec, value: tagValue(value), hex: hex(all[codec].encode(value)) };

  const pageReq = all.CommunityMembersPage.encode(cases[0][2]);
  const envelopes = {
    // Our probe as it goes on the wire (request flags 0), and the two answers it can get.
    probe: hex(p.encodeEnvelope({ type: 4080, reqId: 1_000_000, flags: 0, payload: pageReq })),
    answer: hex(p.encodeEnvelope(p.responseEnvelope(4080, 1_000_000, all.CommunityMembersPageResult.encode(cases[3][2])))),
    referenceUnknownType: hex(p.encodeEnvelope(p.errorEnvelope(4080, 1_000_000, p.unknownMessageTypeText(4080)))),
  };

  const rendezvous = {
    communityInfoKey: hex(p.communityInfoKey(communityId)),
    value: hex(p.encodeCommunityMembers({ communityShareId: communityId, members: [{ ip: '192.0.2.10', port: 7001, transport: 'tcp', pubkeyHint: null }], updatedAt: 1_700_000_000n })),
  };

  return {
    _note: 'Generated by `npm run vectors` (scripts/vectors/communities.mjs). Our extension (docs/COMMUNITIES.md), not the reference’s: regenerate on purpose only.',
    community: { seed: hex(communitySeed), pubkey: hex(communityPubkey), id: hex(communityId) },
    members: { joinSeed: hex(memberSeed), tombstoneSeed: hex(otherSeed), token: hex(token) },
    records: { join: recordEntry(join), tombstone: recordEntry(tomb) },
    messages,
    envelopes,
    deltaCursor: { epoch: '0x0000018bcfe56800', seq: '41', bytes: hex(since) },
    rendezvous,
  };
}
