/**
 * Signatures and the verification rules: any single-bit change to a signed manifest or share head fails
 * verification; expiry windows; token and relay-announcement rules; Ed25519 agreement between node:crypto and
 * @noble/curves; ed25519Verify never throws.
 */
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import * as p from '../../src/protocol/index.js';
import * as A from './arbitraries.js';

const seed = new Uint8Array(32).map((_, i) => i * 7 + 1);
const kp = p.keypairFromSeed(seed);
const shareId = p.shareIdFromPubkey(kp.publicKey);
const NOW = 1_700_000_000n;

const validManifest = A.manifest.map((m) => ({
  ...m,
  sharePubkey: kp.publicKey,
  shareId,
  createdAt: NOW - 10n,
  expiresAt: m.expiresAt === null ? null : NOW + 1000n,
}));

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = b.slice();
  const i = Math.floor(bit / 8) % out.length;
  out[i]! ^= 1 << bit % 8;
  return out;
}

describe('manifest signatures', () => {
  it('sign → verify; any single-bit change to the signed encoding fails (or decodes to the same manifest)', () => {
    fc.assert(
      fc.property(validManifest, fc.nat(), (m0, bit) => {
        const m = p.signManifest(m0, seed);
        expect(p.verifyManifest(m, NOW).manifestId).toEqual(p.manifestId(m));
        const enc = p.encodeManifest(m);
        let changed: p.ManifestV1;
        try {
          changed = p.decodeManifest(flipBit(enc, bit % (enc.length * 8)));
        } catch (e) {
          expect(e).toBeInstanceOf(p.ProtocolError);
          return;
        }
        // A flip can hit a key whose field then takes the same default (e.g. a null title's key): nothing changed.
        if (p.toHex(p.manifestIdBytes(changed)) === p.toHex(p.manifestIdBytes(m))) return;
        expect(p.checkManifest(changed, NOW)).not.toBeNull();
      }),
      { numRuns: 400 },
    );
  });
  it('any single-bit change to the unsigned bytes or the signature fails the signature check', () => {
    fc.assert(
      fc.property(validManifest, fc.nat(), (m0, bit) => {
        const m = p.signManifest(m0, seed);
        const msg = p.manifestUnsignedBytes(m);
        expect(p.ed25519Verify(kp.publicKey, flipBit(msg, bit % (msg.length * 8)), m.signature!)).toBe(false);
        expect(p.checkManifest({ ...m, signature: flipBit(m.signature!, bit % 512) }, NOW)).toBe('bad_signature');
      }),
      { numRuns: 200 },
    );
  });
  it('expiry: valid through expires_at, expired one second later; expires_at ≤ created_at refused', () => {
    const m = p.signManifest({ ...fc.sample(validManifest, 1)[0]!, createdAt: 100n, expiresAt: 200n }, seed);
    expect(p.checkManifest(m, 200)).toBeNull();
    expect(p.checkManifest(m, 201)).toBe('expired');
    expect(() => p.verifyManifest(m, 201)).toThrow(expect.objectContaining({ code: 'VERIFY_FAILED', details: { reason: 'expired' } }));
    const same = p.signManifest({ ...m, signature: null, expiresAt: 100n }, seed);
    expect(p.checkManifest(same, 50)).toBe('expiry_not_after_creation');
    const never = p.signManifest({ ...m, signature: null, expiresAt: null }, seed);
    expect(p.checkManifest(never, 2n ** 64n - 1n)).toBeNull();
  });
  it('unsigned, wrong share id, invalid point are refused with reasons', () => {
    const m = p.signManifest(fc.sample(validManifest, 1)[0]!, seed);
    expect(p.checkManifest({ ...m, signature: null }, NOW)).toBe('unsigned');
    expect(p.checkManifest({ ...m, signature: m.signature!.subarray(0, 63) }, NOW)).toBe('bad_signature_length');
    expect(p.checkManifest({ ...m, shareId: new Uint8Array(32) }, NOW)).toBe('share_id_mismatch');
    // y = 2 is not on the curve
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    expect(p.isValidEd25519Point(notAPoint)).toBe(false);
    expect(p.checkManifest({ ...m, sharePubkey: notAPoint }, NOW)).toBe('bad_share_pubkey');
  });
  it('signManifest refuses a seed that does not own the share', () => {
    const m = fc.sample(validManifest, 1)[0]!;
    expect(() => p.signManifest(m, new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
  it('checkManifestLimits: 3,000 items and 100,000 chunks', () => {
    const it0 = fc.sample(A.item, 1)[0]!;
    const base = fc.sample(validManifest, 1)[0]!;
    expect(() => p.checkManifestLimits({ ...base, items: Array(3000).fill({ ...it0, chunkCount: 33 }) })).not.toThrow();
    expect(() => p.checkManifestLimits({ ...base, items: Array(3001).fill({ ...it0, chunkCount: 0 }) })).toThrow(expect.objectContaining({ code: 'LIMIT' }));
    expect(() => p.checkManifestLimits({ ...base, items: [{ ...it0, chunkCount: 100_001 }] })).toThrow(expect.objectContaining({ code: 'LIMIT' }));
  });
});

describe('share head signatures', () => {
  const heads = fc.record({ latestSeq: A.u64, latestManifestId: A.b32, updatedAt: A.u64 }).map((f) => p.signShareHead({ shareId, ...f }, seed));
  it('verifies; any single-bit change to its encoding fails', () => {
    fc.assert(
      fc.property(heads, fc.nat(), (h, bit) => {
        expect(p.verifyShareHead(h, kp.publicKey)).toBe(true);
        const enc = p.encodeShareHead(h);
        let changed: p.ShareHead;
        try {
          changed = p.decodeShareHead(flipBit(enc, bit % (enc.length * 8)));
        } catch (e) {
          expect(e).toBeInstanceOf(p.ProtocolError);
          return;
        }
        expect(p.checkShareHead(changed, kp.publicKey)).not.toBeNull();
      }),
      { numRuns: 400 },
    );
  });
  it('wrong key and short signature are refused with reasons', () => {
    const h = fc.sample(heads, 1)[0]!;
    const other = p.keypairFromSeed(new Uint8Array(32).fill(9)).publicKey;
    expect(p.checkShareHead(h, other)).toBe('share_id_mismatch');
    expect(p.checkShareHead({ ...h, sig: h.sig.subarray(1) }, kp.publicKey)).toBe('bad_signature_length');
    expect(() => p.verifyShareHead({ ...h, latestSeq: h.latestSeq ^ 1n }, kp.publicKey)).toThrow(expect.objectContaining({ code: 'VERIFY_FAILED' }));
  });
  it('betterShareHead: higher seq wins, then newer updated_at, ties keep the current', () => {
    const h = fc.sample(heads, 1)[0]!;
    const mk = (seq: bigint, at: bigint) => ({ ...h, latestSeq: seq, updatedAt: at });
    const a = mk(5n, 10n);
    expect(p.betterShareHead(a, mk(6n, 1n)).latestSeq).toBe(6n);
    expect(p.betterShareHead(a, mk(4n, 99n))).toBe(a);
    expect(p.betterShareHead(a, mk(5n, 11n)).updatedAt).toBe(11n);
    const tie = mk(5n, 10n);
    expect(p.betterShareHead(a, tie)).toBe(a);
  });
});

describe('Ed25519 and X25519 primitives', () => {
  it('node:crypto and @noble/curves produce identical keys and signatures; both verify', () => {
    fc.assert(
      fc.property(A.b32, fc.uint8Array({ maxLength: 200 }), (s, msg) => {
        const pub = p.keypairFromSeed(s).publicKey;
        expect(pub).toEqual(ed25519.getPublicKey(s));
        const sig = p.ed25519Sign(s, msg);
        expect(sig).toEqual(ed25519.sign(msg, s));
        expect(p.ed25519Verify(pub, msg, sig)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
  it('ed25519Verify never throws on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 70 }), (pub, msg, sig) => {
        expect(p.ed25519Verify(pub, msg, sig)).toBe(false);
      }),
      { numRuns: 300 },
    );
    expect(p.ed25519Verify(null as unknown as Uint8Array, new Uint8Array(), new Uint8Array(64))).toBe(false);
  });
  it('x25519 agrees both ways and matches noble; a low-order peer key gives zeros like x25519-dalek', async () => {
    const { x25519 } = await import('@noble/curves/ed25519.js');
    fc.assert(
      fc.property(A.b32, A.b32, (a, b) => {
        const ka = p.x25519KeypairFromSecret(a);
        const kb = p.x25519KeypairFromSecret(b);
        expect(ka.publicKey).toEqual(x25519.getPublicKey(a));
        expect(p.x25519SharedSecret(a, kb.publicKey)).toEqual(p.x25519SharedSecret(b, ka.publicKey));
      }),
      { numRuns: 50 },
    );
    expect(p.x25519SharedSecret(new Uint8Array(32).fill(0x11), new Uint8Array(32))).toEqual(new Uint8Array(32));
  });
  it('ids, distances and lookup targets', () => {
    const a = p.fromHex('00'.repeat(19) + '01');
    const b = p.fromHex('00'.repeat(19) + '03');
    const t = new Uint8Array(20);
    expect(p.xorDistance(a, b)).toEqual(p.fromHex('00'.repeat(19) + '02'));
    expect(p.compareDistance(t, a, b)).toBe(-1);
    expect(p.compareDistance(t, b, a)).toBe(1);
    expect(p.compareDistance(t, a, a)).toBe(0);
    expect(p.bucketIndex(t, a)).toBe(159);
    expect(p.bucketIndex(t, t)).toBeNull();
    const key = p.shareHeadKey(shareId);
    expect(p.lookupTarget(key)).toEqual(key.subarray(0, 20));
  });
});

describe('relay announcements', () => {
  const relaySeed = new Uint8Array(32).fill(0x55);
  const relayPub = p.keypairFromSeed(relaySeed).publicKey;
  const base = {
    relayPubkey: relayPub,
    relayAddrs: [{ ip: '198.51.100.1', port: 7001, transport: 'tcp' as const, pubkeyHint: null }],
    capabilities: { ...p.NO_CAPABILITIES, relay: true },
    capacity: { ...p.DEFAULT_RELAY_CAPACITY },
    issuedAt: NOW,
    expiresAt: NOW + 21_600n,
  };
  it('valid at issue, expired at expires_at, and each structural rule has its reason', () => {
    const a = p.signRelayAnnouncement(base, relaySeed);
    expect(p.checkRelayAnnouncement(a, NOW)).toBeNull();
    expect(p.checkRelayAnnouncement(a, NOW + 21_600n)).toBe('expired');
    const re = (over: Partial<typeof base>) => p.checkRelayAnnouncement(p.signRelayAnnouncement({ ...base, ...over }, relaySeed), NOW);
    expect(re({ capabilities: p.NO_CAPABILITIES })).toBe('not_a_relay');
    expect(re({ expiresAt: NOW })).toBe('expiry_not_after_issue');
    expect(re({ expiresAt: NOW + 21_601n })).toBe('ttl_too_long');
    expect(re({ relayAddrs: [] })).toBe('no_addresses');
    expect(re({ relayAddrs: [{ ...base.relayAddrs[0]!, relayVia: { relayAddr: base.relayAddrs[0]!, slotId: 1n } }] })).toBe('address_has_relay_via');
    expect(p.checkRelayAnnouncement({ ...a, issuedAt: a.issuedAt + 1n }, NOW + 5n)).toBe('bad_signature');
  });
  it('rendezvous keys: both slots of bucket(issued_at) ± 1 match, others do not', () => {
    const a = p.signRelayAnnouncement(base, relaySeed);
    const bucket = p.rendezvousBucket(NOW);
    for (const b of [bucket - 1n, bucket, bucket + 1n]) {
      for (const s of p.relayRendezvousSlots(relayPub, b)) expect(p.relayAnnouncementKeyMatches(p.relayRendezvousKey(b, s), a)).toBe(true);
    }
    const [s0, s1] = p.relayRendezvousSlots(relayPub, bucket + 2n);
    const far = [0, 1, 2].find((x) => x !== s0 && x !== s1)!;
    expect(p.relayAnnouncementKeyMatches(p.relayRendezvousKey(bucket + 5n, far), a)).toBe(false);
  });
  it('strict verification refuses a small-order key that loose verification might accept', () => {
    const identity = p.fromHex('01' + '00'.repeat(31)); // the neutral point: small order
    expect(p.isValidEd25519Point(identity)).toBe(true);
    expect(p.ed25519VerifyStrict(identity, new Uint8Array(), new Uint8Array(64))).toBe(false);
  });
});

describe('community tokens and members', () => {
  const cSeed = new Uint8Array(32).fill(0x77);
  const cPub = p.keypairFromSeed(cSeed).publicKey;
  const cid = p.shareIdFromPubkey(cPub);
  it('token verifies; expiry when a time is given; wrong community key refused', () => {
    const t = p.signMembershipToken({ communityShareId: cid, memberNodePubkey: kp.publicKey, issuedAt: 10n, expiresAt: 20n }, cSeed);
    expect(p.verifyMembershipToken(t, cPub, 20)).toBe(true);
    expect(p.verifyMembershipToken(t, cPub)).toBe(true);
    expect(p.checkMembershipToken(t, cPub, 21)).toBe('expired');
    expect(p.checkMembershipToken(t, kp.publicKey, 15)).toBe('community_id_mismatch');
    expect(p.checkMembershipToken({ ...t, memberNodePubkey: cPub }, cPub, 15)).toBe('bad_signature');
    expect(p.decodeMembershipToken(p.encodeMembershipToken(t))).toEqual(t);
  });
  it('merge appends new members in order, skips exact duplicates, keeps the max updated_at', () => {
    fc.assert(
      fc.property(A.communityMembers, A.communityMembers, (x, y) => {
        const a = { ...x, communityShareId: cid };
        const b = { ...y, communityShareId: cid };
        const m = p.mergeCommunityMembers(a, b);
        expect(m.members.slice(0, a.members.length)).toEqual(a.members);
        for (const q of b.members) expect(m.members.some((r) => p.peerAddrEquals(r, q))).toBe(true);
        expect(m.updatedAt).toBe(a.updatedAt > b.updatedAt ? a.updatedAt : b.updatedAt);
        expect(p.mergeCommunityMembers(m, b).members).toHaveLength(m.members.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('content description', () => {
  it('streaming equals one-shot for random data and split points; chunk ranges and verifyChunk agree', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * p.CHUNK_SIZE + 5 }), fc.array(fc.integer({ min: 1, max: 400_000 }), { maxLength: 5 }), (size, cuts) => {
        const data = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
        const one = p.describeContent(data);
        const c = new p.ContentDescriber();
        let o = 0;
        for (const n of cuts) {
          c.update(data.subarray(o, Math.min(size, o + n)));
          o = Math.min(size, o + n);
        }
        c.update(data.subarray(o));
        const two = c.finish();
        expect(two).toEqual(one);
        expect(one.chunkCount).toBe(p.chunkCountForSize(size));
        expect(one.size).toBe(BigInt(size));
        one.chunkHashes.forEach((hsh, i) => {
          const r = p.chunkRange(i, size);
          expect(p.verifyChunk(hsh, data.subarray(r.start, r.end))).toBe(true);
        });
        expect(p.chunkListHash(one.chunkHashes)).toEqual(one.chunkListHash);
      }),
      { numRuns: 25 },
    );
    expect(() => p.chunkRange(1, p.CHUNK_SIZE)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});

describe('secrets at rest', () => {
  let n = 0;
  const random = (len: number) => new Uint8Array(len).fill(++n);
  it('passphrase round trip (real 600k iterations once), wrong passphrase → VERIFY_FAILED', () => {
    const s = p.encryptSecret('correct horse', seed, random);
    expect(s.ciphertext.length).toBe(32 + 16);
    const back = p.decodeEncryptedSecret(p.encodeEncryptedSecret(s));
    expect(p.decryptSecret('correct horse', back)).toEqual(seed);
    expect(() => p.decryptSecret('wrong', back, 1)).toThrow(expect.objectContaining({ code: 'VERIFY_FAILED' }));
  });
  it('publisher auto-protect mode: zero salt, key from the node seed', () => {
    const key = p.publisherKeyProtectionKey(seed);
    const s = p.encryptWithKey(key, seed, random);
    expect(s.salt).toEqual(new Uint8Array(16));
    expect(p.decryptWithKey(key, s)).toEqual(seed);
    const tampered = { ...s, ciphertext: s.ciphertext.map((x, i) => (i === 0 ? x ^ 1 : x)) };
    expect(() => p.decryptWithKey(key, tampered)).toThrow(expect.objectContaining({ code: 'VERIFY_FAILED' }));
  });
});

describe('invalid points are named as such wherever a key is checked', () => {
  const notAPoint = p.fromHex('02' + '00'.repeat(31));
  it('hello, head, token', () => {
    const hello = p.signHello(
      { nodePubkey: notAPoint, capabilities: p.NO_CAPABILITIES, nonce: new Uint8Array(32), echoedNonce: null, timestampUnixSecs: NOW, protocolVersion: 1, ephemeralPubkey: null },
      seed,
    );
    expect(p.verifyHello(hello, NOW)).toMatchObject({ ok: false, reason: 'bad_pubkey' });
    const head = p.signShareHead({ shareId, latestSeq: 1n, latestManifestId: new Uint8Array(32), updatedAt: 1n }, seed);
    expect(p.checkShareHead({ ...head, shareId: p.shareIdFromPubkey(notAPoint) }, notAPoint)).toBe('bad_share_pubkey');
    expect(p.checkShareHead(head, notAPoint)).toBe('bad_share_pubkey');
    expect(p.ed25519Verify(notAPoint, new Uint8Array(1), new Uint8Array(64))).toBe(false);
  });
});
