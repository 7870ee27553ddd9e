/**
 * Properties of every signed-record codec: decode(encode(x)) = x; arbitrary and mutated bytes only ever give a
 * value or a ProtocolError; u64 values cross the 2^32 and 2^53 boundaries intact.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as p from '../../src/protocol/index.js';
import * as A from './arbitraries.js';

interface Codec<T> {
  name: string;
  arb: fc.Arbitrary<T>;
  encode: (v: T) => Uint8Array;
  decode: (b: Uint8Array) => T;
}

const codecs: Codec<any>[] = [
  { name: 'ManifestV1', arb: A.manifest, encode: p.encodeManifest, decode: p.decodeManifest },
  { name: 'ShareHead', arb: A.shareHead, encode: p.encodeShareHead, decode: p.decodeShareHead },
  { name: 'HandshakeHello', arb: A.hello, encode: p.encodeHello, decode: p.decodeHello },
  { name: 'RelayAnnouncement', arb: A.relayAnnouncement, encode: p.encodeRelayAnnouncement, decode: p.decodeRelayAnnouncement },
  { name: 'CommunityMembershipToken', arb: A.token, encode: p.encodeMembershipToken, decode: p.decodeMembershipToken },
  { name: 'CommunityMembers', arb: A.communityMembers, encode: p.encodeCommunityMembers, decode: p.decodeCommunityMembers },
  { name: 'BlocklistRules', arb: A.blocklist, encode: p.encodeBlocklistRules, decode: p.decodeBlocklistRules },
  { name: 'EncryptedSecret', arb: A.encryptedSecret, encode: p.encodeEncryptedSecret, decode: p.decodeEncryptedSecret },
];

/** Decoding may succeed or throw ProtocolError (or, for the hello, ScpError LIMIT on oversize) — nothing else. */
function decodesOrProtocolError(decode: (b: Uint8Array) => unknown, b: Uint8Array): void {
  try {
    decode(b);
  } catch (e) {
    if (e instanceof p.ProtocolError) return;
    if (e instanceof p.ScpError && e.code === 'LIMIT') return;
    throw e;
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 9 }) }),
);

function mutate(b: Uint8Array, muts: fc.Arbitrary<any> extends never ? never : any[]): Uint8Array {
  let out = b.slice();
  for (const m of muts) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === 'flip') out[at] = (out[at] ?? 0) ^ (1 << m.bit);
    else if (m.kind === 'set') out[at] = m.value;
    else if (m.kind === 'truncate') out = out.slice(0, at);
    else if (m.kind === 'insert') out = p.concatBytes(out.subarray(0, at), m.bytes, out.subarray(at));
    else out = p.concatBytes(out.subarray(0, at), out.subarray(at + m.n));
  }
  return out;
}

describe.each(codecs)('$name codec', (c) => {
  it('decode(encode(x)) = x and encode is stable', () => {
    fc.assert(
      fc.property(c.arb, (x) => {
        const bytes = c.encode(x);
        const back = c.decode(bytes);
        expect(back).toEqual(x);
        expect(c.encode(back)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });
  it('random bytes → a value or a ProtocolError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => decodesOrProtocolError(c.decode, b)), { numRuns: 500 });
  });
  it('mutated valid encodings → a value or a ProtocolError', () => {
    fc.assert(
      fc.property(c.arb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (x, muts) => decodesOrProtocolError(c.decode, mutate(c.encode(x), muts))),
      { numRuns: 500 },
    );
  });
});

describe('decoder bounds and leniency', () => {
  it('errors name the field path', () => {
    const m = fc.sample(A.manifest, 1)[0]!;
    const bad = p.encodeManifest({ ...m, items: [{ ...fc.sample(A.item, 1)[0]!, name: 'x' }] });
    // Replace the item's "name" text value with an integer: items[0].name must be reported.
    const hex = p.toHex(bad).replace('646e616d656178', '646e616d6507');
    expect(() => p.decodeManifest(p.fromHex(hex))).toThrow(/ManifestV1\.items\[0\]\.name/);
  });
  it('defaults for missing visibility, communities, chunk_count, chunk_list_hash; null visibility is an error', () => {
    const w = new p.CborWriter();
    w.map(7).text('version').uint(1).text('share_pubkey').intArray(new Uint8Array(32)).text('share_id').bytes(new Uint8Array(32));
    w.text('seq').uint(1).text('created_at').uint(2);
    w.text('items').array(1).map(4).text('content_id').intArray(new Uint8Array(32)).text('size').uint(3).text('name').text('n').text('tags').array(0);
    w.text('recommended_shares').array(0);
    const m = p.decodeManifest(w.finish());
    expect(m).toMatchObject({ visibility: 'private', communities: [], expiresAt: null, title: null, signature: null });
    expect(m.items[0]).toMatchObject({ chunkCount: 0, chunkListHash: new Uint8Array(32), path: null, mime: null });
    const w2 = new p.CborWriter();
    w2.map(1).text('visibility').null();
    expect(() => p.decodeManifest(w2.finish())).toThrow(p.ProtocolError);
  });
  it('a huge declared array length is refused before any allocation', () => {
    // items: array header claiming 2^32-1 elements followed by nothing.
    const w = new p.CborWriter();
    w.map(1).text('items').raw(Uint8Array.of(0x9a, 0xff, 0xff, 0xff, 0xff));
    expect(() => p.decodeManifest(w.finish())).toThrow(p.ProtocolError);
  });
  it('deep nesting is refused', () => {
    const deep = new Uint8Array(10_000).fill(0x81);
    expect(() => p.decodeManifest(deep)).toThrow(p.ProtocolError);
  });
});

describe('u64 across 2^32 and 2^53', () => {
  it.each(A.U64_EDGES)('seq %s: shortest head, exact round trip', (v) => {
    const m = { ...fc.sample(A.manifest, 1)[0]!, seq: v, expiresAt: v };
    const back = p.decodeManifest(p.encodeManifest(m));
    expect(back.seq).toBe(v);
    expect(typeof back.seq).toBe('bigint');
    const w = new p.CborWriter();
    w.uint(v);
    const head = w.finish()[0]!;
    const expected = v < 24n ? Number(v) : v <= 0xffn ? 0x18 : v <= 0xffffn ? 0x19 : v <= 0xffff_ffffn ? 0x1a : 0x1b;
    expect(head).toBe(expected);
  });
  it('number inputs are accepted where the types allow bigint (signShareHead)', () => {
    const seed = new Uint8Array(32).fill(3);
    const shareId = p.shareIdFromPubkey(p.keypairFromSeed(seed).publicKey);
    const a = p.signShareHead({ shareId, latestSeq: 5 as unknown as bigint, latestManifestId: new Uint8Array(32), updatedAt: 2 ** 40 as unknown as bigint }, seed);
    expect(a.latestSeq).toBe(5n);
    expect(a.updatedAt).toBe(2n ** 40n);
  });
  it('values above 2^64-1 or negative are refused on encode with BAD_INPUT', () => {
    const h = fc.sample(A.shareHead, 1)[0]!;
    expect(() => p.encodeShareHead({ ...h, latestSeq: 2n ** 64n })).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => p.encodeShareHead({ ...h, updatedAt: -1n })).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});
