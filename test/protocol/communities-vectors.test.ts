/**
 * Our communities-extension vectors (vectors/communities.json, docs/COMMUNITIES.md §5): the generator run against
 * src/ reproduces the file byte for byte; every record and message re-encodes to its bytes and decodes back to its
 * value; the records verify and pass the directory's acceptance rules at their time; the envelopes decode to what
 * a peer would see.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as p from '../../src/protocol/index.js';
// @ts-ignore — plain .mjs generators shared with `npm run vectors`
import { codecs, generate } from '../../scripts/vectors/communities.mjs';
// @ts-ignore
import { reviveValue } from '../../scripts/vectors/messages.mjs';

interface RecordEntry {
  value: unknown;
  signableBytes: string;
  signature: string;
  map: string;
}
const V = JSON.parse(readFileSync(join(import.meta.dirname, '../../vectors/communities.json'), 'utf8')) as {
  community: { seed: string; pubkey: string; id: string };
  members: { joinSeed: string; tombstoneSeed: string; token: string };
  records: { join: RecordEntry; tombstone: RecordEntry };
  messages: Record<string, { codec: string; value: unknown; hex: string }>;
  envelopes: Record<'probe' | 'answer' | 'referenceUnknownType', string>;
  deltaCursor: { epoch: string; seq: string; bytes: string };
  rendezvous: { communityInfoKey: string; value: string };
};
const h = (s: string): Uint8Array => p.fromHex(s);
const C = codecs(p) as Record<string, p.MessageCodec<unknown>>;

describe('vectors/communities.json', () => {
  it('is reproduced byte for byte from src/', () => {
    expect(generate(p)).toEqual(V);
  });

  it('covers every extension codec', () => {
    const used = new Set(Object.values(V.messages).map((m) => m.codec));
    expect(Object.keys(C).filter((c) => !used.has(c))).toEqual([]);
  });

  for (const [name, r] of Object.entries({ join: () => V.records.join, tombstone: () => V.records.tombstone })) {
    it(`member record (${name}): struct map, domain-tagged signed bytes, signature, acceptance`, () => {
      const e = r();
      const value = reviveValue(e.value) as p.CommunityMemberRecord;
      expect(p.toHex(p.encodeMemberRecord(value))).toBe(e.map);
      expect(p.decodeMemberRecord(h(e.map))).toEqual(value);
      const signable = p.memberRecordSignableBytes(value);
      expect(p.toHex(signable)).toBe(e.signableBytes);
      // array(8), text(25) header, then the domain text: disjoint from every other thing a node key signs
      expect(e.signableBytes.startsWith('887819' + Buffer.from(p.MEMBER_RECORD_DOMAIN).toString('hex'))).toBe(true);
      expect(p.ed25519Verify(value.memberNodePubkey, signable, h(e.signature))).toBe(true);
      const check = { communityShareId: h(V.community.id), communityPubkey: h(V.community.pubkey), strict: true };
      expect(p.checkMemberRecord(value, { ...check, nowUnix: value.issuedAt })).toBeNull();
      expect(p.checkMemberRecord(value, { ...check, nowUnix: value.expiresAt })).toBe('stale');
      const flipped = h(e.map);
      flipped[flipped.length - 1]! ^= 1; // last signature byte
      expect(p.checkMemberRecord(p.decodeMemberRecord(flipped), { ...check, nowUnix: value.issuedAt })).toBe('bad_signature');
    });
  }

  it('the join record carries the token the community key issued for that member', () => {
    const rec = reviveValue(V.records.join.value) as p.CommunityMemberRecord;
    expect(p.toHex(rec.membershipProof!)).toBe(V.members.token);
    expect(p.tokenAdmits(rec.membershipProof!, h(V.community.pubkey), p.publicKeyFromSeed(h(V.members.joinSeed)), 1_700_000_000)).toBe(true);
    expect(p.toHex(p.shareIdFromPubkey(h(V.community.pubkey)))).toBe(V.community.id);
  });

  for (const [name, m] of Object.entries(V.messages)) {
    it(name, () => {
      const codec = C[m.codec]!;
      const value = reviveValue(m.value);
      expect(p.toHex(codec.encode(value as never))).toBe(m.hex);
      expect(codec.decode(h(m.hex))).toEqual(value);
    });
  }

  it('envelopes: our probe, an extension answer, and the reference peer’s error answer', () => {
    const probe = p.decodeEnvelope(h(V.envelopes.probe));
    expect({ type: probe.type, reqId: probe.reqId, flags: probe.flags }).toEqual({ type: 4080, reqId: 1_000_000, flags: 0 });
    expect(p.decodeRequestPayload(4080, probe.payload)).toMatchObject({ type: 4080, payload: { maxEntries: 500, cursor: null } });
    const answer = p.decodeEnvelope(h(V.envelopes.answer));
    expect({ type: answer.type, flags: answer.flags }).toEqual({ type: 4080, flags: p.FLAG_RESPONSE });
    expect(p.communityMembersPageResultCodec.decode(answer.payload).nextCursor).toBeNull();
    const ref = p.decodeEnvelope(h(V.envelopes.referenceUnknownType));
    expect({ type: ref.type, reqId: ref.reqId, flags: ref.flags, text: new TextDecoder().decode(ref.payload) }).toEqual({
      type: 4080,
      reqId: 1_000_000,
      flags: p.FLAGS_ERROR_RESPONSE,
      text: 'unknown message type 4080',
    });
  });

  it('delta cursor layout: u64_be(epoch) ‖ u64_be(seq)', () => {
    const b = h(V.deltaCursor.bytes);
    expect(b.length).toBe(16);
    const dv = new DataView(b.buffer, b.byteOffset, 16);
    expect(dv.getBigUint64(0)).toBe(BigInt(V.deltaCursor.epoch));
    expect(dv.getBigUint64(8)).toBe(BigInt(V.deltaCursor.seq));
  });

  it('rendezvous: the classic community:info key and value the extension starts from', () => {
    expect(p.toHex(p.communityInfoKey(h(V.community.id)))).toBe(V.rendezvous.communityInfoKey);
    const v = p.decodeCommunityMembers(h(V.rendezvous.value));
    expect(p.toHex(v.communityShareId)).toBe(V.community.id);
    expect(p.toHex(p.encodeCommunityMembers(v))).toBe(V.rendezvous.value);
  });
});
