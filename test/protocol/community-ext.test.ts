import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { toHex } from '../../src/protocol/bytes.js';
import {
  CommunityExtMessageType as X,
  communityMembersDeltaResultCodec,
  communityMembersPageCodec,
  decodeMemberRecord,
  encodeMemberRecord,
  memberRecordSignableBytes,
} from '../../src/protocol/community-ext.js';
import { MessageType, decodeRequestPayload, isRequestType, responseTypeFor } from '../../src/protocol/registry.js';
import { routeRequest } from '../../src/actors/session/dispatch.js';
import { record } from '../actors/index/communities/helpers.js';

describe('community extension codecs', () => {
  it('numbers sit outside the reference registry and route to the index, answered under their own number', () => {
    const reference = new Set<number>(Object.values(MessageType));
    for (const t of Object.values(X)) {
      expect(reference.has(t)).toBe(false);
      expect(isRequestType(t)).toBe(true);
      expect(responseTypeFor(t as never)).toBe(t);
      expect(routeRequest(t)).toMatchObject({ kind: 'actor', owner: 'index', rateClass: 'fetch' });
    }
  });

  it('member record: round trip, byte string signature, domain-tagged signable 8-array', () => {
    const r = record(3, { token: new Uint8Array([1, 2, 3]) });
    const bytes = encodeMemberRecord(r);
    expect(decodeMemberRecord(bytes)).toEqual(r);
    expect(bytes[0]).toBe(0xa8); // map(8)
    const s = memberRecordSignableBytes(r);
    expect(toHex(s.subarray(0, 2))).toBe('8878'); // array(8), text(25) "scp2p-community-member-v1"
  });

  it('a page request decodes through the registry', () => {
    const p = communityMembersPageCodec.encode({ communityShareId: new Uint8Array(32).fill(1), communitySharePubkey: new Uint8Array(32).fill(2), cursor: null, maxEntries: 9, requesterMembershipProof: null });
    expect(decodeRequestPayload(X.COMMUNITY_MEMBERS_PAGE, p)).toMatchObject({ type: X.COMMUNITY_MEMBERS_PAGE, payload: { maxEntries: 9, cursor: null } });
  });

  it('delta result round trip', () => {
    const v = { communityShareId: new Uint8Array(32).fill(4), members: [record(1), record(2, { left: true })], nextCursor: new Uint8Array(16).fill(7), more: true, reset: false };
    expect(communityMembersDeltaResultCodec.decode(communityMembersDeltaResultCodec.encode(v))).toEqual(v);
  });

  it('arbitrary bytes decode to a value or throw ProtocolError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        for (const dec of [decodeMemberRecord, (x: Uint8Array) => communityMembersPageCodec.decode(x), (x: Uint8Array) => communityMembersDeltaResultCodec.decode(x)]) {
          try {
            dec(b);
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
