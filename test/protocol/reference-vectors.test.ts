/**
 * Every reference vector of PROTOCOL.md §16 (vectors/reference.json, fixed facts: never regenerated), plus the
 * serializer examples quoted in §6. A failure here means we are not byte-compatible with the Rust reference.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chunkListHash,
  communityInfoKey,
  contentProviderKey,
  decodeHello,
  decodeManifest,
  decodeShareHead,
  describeContent,
  ContentDescriber,
  DEFAULT_RELAY_CAPACITY,
  encodeHandshakeFrame,
  encodeHello,
  encodeManifest,
  encodeShareHead,
  fromHex,
  handshakeSignableBytes,
  keypairFromSeed,
  manifestId,
  manifestIdBytes,
  manifestLocKey,
  manifestUnsignedBytes,
  nodeIdFromPubkey,
  publisherKeyProtectionKey,
  relayAnnouncementSignableBytes,
  relayRendezvousKey,
  relayRendezvousSlots,
  rendezvousBucket,
  sessionSecret,
  shareHeadKey,
  shareHeadSignableBytes,
  shareIdFromPubkey,
  signHello,
  signManifest,
  signShareHead,
  toHex,
  verifyHello,
  verifyManifest,
  verifyShareHead,
  x25519KeypairFromSecret,
  x25519SharedSecret,
  decodeItem,
  decodeCbor,
  CborWriter,
  writeItemMap,
  type ManifestV1,
} from '../../src/protocol/index.js';

const R = JSON.parse(readFileSync(join(import.meta.dirname, '../../vectors/reference.json'), 'utf8'));
const h = (s: string): Uint8Array => fromHex(s);

export function conformanceManifest(): ManifestV1 {
  const kp = keypairFromSeed(h(R.signing.seed));
  const i = R.manifest.input;
  return {
    version: i.version,
    sharePubkey: kp.publicKey,
    shareId: shareIdFromPubkey(kp.publicKey),
    seq: BigInt(i.seq),
    createdAt: BigInt(i.createdAt),
    expiresAt: BigInt(i.expiresAt),
    title: i.title,
    description: i.description,
    visibility: i.visibility,
    communities: [],
    items: i.items.map((it: Record<string, unknown>) => ({
      contentId: h(it.contentId as string),
      size: BigInt(it.size as number),
      name: it.name,
      path: it.path,
      mime: it.mime,
      tags: it.tags,
      chunkCount: it.chunkCount,
      chunkListHash: h(it.chunkListHash as string),
    })),
    recommendedShares: i.recommendedShares.map(h),
    signature: null,
  };
}

describe('§16.1 ids and keys', () => {
  it('ShareId, NodeId and share head key', () => {
    const pub = h(R.ids.pubkey);
    expect(toHex(shareIdFromPubkey(pub))).toBe(R.ids.shareId);
    expect(toHex(nodeIdFromPubkey(pub))).toBe(R.ids.nodeId);
    expect(toHex(shareHeadKey(h(R.shareHeadKey.shareId)))).toBe(R.shareHeadKey.key);
  });
  it('signing key seed → public key → share id', () => {
    const kp = keypairFromSeed(h(R.signing.seed));
    expect(toHex(kp.publicKey)).toBe(R.signing.pubkey);
    expect(toHex(kp.secretKey)).toBe(R.signing.seed);
    expect(toHex(shareIdFromPubkey(kp.publicKey))).toBe(R.signing.shareId);
  });
});

describe('§16.1/16.2 manifest', () => {
  it('item chunk_list_hash = BLAKE3(08×32 ‖ 09×32)', () => {
    expect(toHex(chunkListHash(R.manifest.itemChunkHashes.map(h)))).toBe(R.manifest.input.items[0].chunkListHash);
  });
  it('unsigned bytes (12-array)', () => {
    expect(toHex(manifestUnsignedBytes(conformanceManifest()))).toBe(R.manifest.unsignedBytes);
  });
  it('signature, verify at 1,700,000,001, manifest ids signed and unsigned', () => {
    const unsigned = conformanceManifest();
    expect(toHex(manifestId(unsigned))).toBe(R.manifest.manifestIdUnsigned);
    expect(toHex(manifestIdBytes(unsigned)).endsWith('f6')).toBe(true);
    const signed = signManifest(unsigned, h(R.signing.seed));
    expect(toHex(signed.signature!)).toBe(R.manifest.signature);
    expect(toHex(manifestId(signed))).toBe(R.manifest.manifestIdSigned);
    expect(toHex(manifestIdBytes(signed)).startsWith('8d0198200318a1')).toBe(true);
    expect(toHex(verifyManifest(signed, R.manifest.verifyAt).manifestId)).toBe(R.manifest.manifestIdSigned);
  });
  it('struct map encodes and decodes byte-exactly', () => {
    const signed = signManifest(conformanceManifest(), h(R.signing.seed));
    expect(toHex(encodeManifest(signed))).toBe(R.manifest.structMap);
    const back = decodeManifest(h(R.manifest.structMap));
    expect(back).toEqual(signed);
    expect(toHex(manifestId(back))).toBe(R.manifest.manifestIdSigned);
  });
});

describe('§16.1 share head', () => {
  it('signable bytes and signature', () => {
    const kp = keypairFromSeed(h(R.signing.seed));
    const fields = {
      shareId: shareIdFromPubkey(kp.publicKey),
      latestSeq: BigInt(R.shareHead.latestSeq),
      latestManifestId: h(R.manifest.manifestIdSigned),
      updatedAt: BigInt(R.shareHead.updatedAt),
    };
    expect(toHex(shareHeadSignableBytes(fields))).toBe(R.shareHead.signableBytes);
    const head = signShareHead(fields, h(R.signing.seed));
    expect(toHex(head.sig)).toBe(R.shareHead.signature);
    expect(verifyShareHead(head, kp.publicKey)).toBe(true);
    expect(decodeShareHead(encodeShareHead(head))).toEqual(head);
  });
});

describe('§16.1/16.2 content', () => {
  const input = new Uint8Array(R.chunking.inputLength);
  for (let i = 0; i < input.length; i++) input[i] = i % 251;
  it('content id, chunk hashes, chunk list hash', () => {
    const d = describeContent(input);
    expect(toHex(d.contentId)).toBe(R.chunking.contentId);
    expect(d.chunkHashes.map(toHex)).toEqual(R.chunking.chunkHashes);
    expect(d.chunkCount).toBe(2);
    expect(toHex(d.chunkListHash)).toBe(R.chunking.chunkListHash);
  });
  it('streaming in odd slice sizes gives the same answer', () => {
    for (const step of [1, 7, 4096, 100_000, 262_143, 262_144, 262_145]) {
      const c = new ContentDescriber();
      for (let o = 0; o < input.length; o += step) c.update(input.subarray(o, Math.min(o + step, input.length)));
      const d = c.finish();
      expect(toHex(d.contentId)).toBe(R.chunking.contentId);
      expect(d.chunkHashes.map(toHex)).toEqual(R.chunking.chunkHashes);
    }
  });
  it('empty content: BLAKE3("") id, no chunks, BLAKE3("") list hash', () => {
    const d = describeContent(new Uint8Array(0));
    expect(toHex(d.contentId)).toBe(R.chunking.emptyHash);
    expect(d.chunkCount).toBe(0);
    expect(toHex(d.chunkListHash)).toBe(R.chunking.emptyHash);
  });
});

describe('§16.3 handshake', () => {
  const HS = R.handshake;
  const fields = {
    nodePubkey: keypairFromSeed(h(HS.seed)).publicKey,
    capabilities: HS.capabilities,
    nonce: h(HS.nonce),
    echoedNonce: null,
    timestampUnixSecs: BigInt(HS.timestamp),
    protocolVersion: HS.protocolVersion,
    ephemeralPubkey: h(HS.ephemeralPubkey),
  };
  it('signable 7-array, signature, full frame', () => {
    expect(toHex(handshakeSignableBytes(fields))).toBe(HS.signableBytes);
    const hello = signHello(fields, h(HS.seed));
    expect(toHex(hello.signature)).toBe(HS.signature);
    expect(toHex(encodeHandshakeFrame(encodeHello(hello)))).toBe(HS.frame);
    const body = h(HS.frame).subarray(4);
    expect(decodeHello(body)).toEqual(hello);
    expect(verifyHello(hello, HS.timestamp)).toEqual({ ok: true });
    // "a real peer would reject it today because of the ±300 s clock-skew rule"
    expect(verifyHello(hello, HS.timestamp + 301)).toMatchObject({ ok: false, reason: 'clock_skew' });
  });
  it('X25519 public keys, shared secret and session secret', () => {
    const S = R.sessionSecret;
    const i = x25519KeypairFromSecret(h(S.initiatorSecret));
    const r = x25519KeypairFromSecret(h(S.responderSecret));
    expect(toHex(i.publicKey)).toBe(S.initiatorPublic);
    expect(toHex(r.publicKey)).toBe(S.responderPublic);
    expect(toHex(x25519SharedSecret(i.secretKey, r.publicKey))).toBe(S.dh);
    expect(toHex(x25519SharedSecret(r.secretKey, i.publicKey))).toBe(S.dh);
    expect(toHex(sessionSecret(h(S.dh), h(S.initiatorNonce), h(S.responderNonce)))).toBe(S.sessionSecret);
  });
});

describe('§16.4 other keys and derivations', () => {
  it('manifest loc, content provider, community info keys', () => {
    expect(toHex(manifestLocKey(h(R.dhtKeys.manifestLoc.id)))).toBe(R.dhtKeys.manifestLoc.key);
    expect(toHex(contentProviderKey(h(R.dhtKeys.contentProvider.id)))).toBe(R.dhtKeys.contentProvider.key);
    expect(toHex(communityInfoKey(h(R.dhtKeys.communityInfo.id)))).toBe(R.dhtKeys.communityInfo.key);
  });
  it('rendezvous bucket, keys and relay slots', () => {
    const Z = R.rendezvous;
    const bucket = rendezvousBucket(Z.unix);
    expect(bucket).toBe(BigInt(Z.bucket));
    expect(toHex(relayRendezvousKey(bucket, 0))).toBe(Z.slot0Key);
    expect(toHex(relayRendezvousKey(bucket, 15))).toBe(Z.slot15Key);
    expect(relayRendezvousSlots(h(Z.relayPubkey), bucket)).toEqual(Z.slots);
  });
  it('publisher-key protection key', () => {
    expect(toHex(publisherKeyProtectionKey(h(R.publisherKey.nodeSeed)))).toBe(R.publisherKey.key);
  });
});

describe('§6 serializer examples', () => {
  const E = R.examples;
  const item = {
    contentId: h(E.itemNoPath.contentId),
    size: BigInt(E.itemNoPath.size),
    name: E.itemNoPath.name,
    path: null as string | null,
    mime: null,
    tags: [],
    chunkCount: E.itemNoPath.chunkCount,
    chunkListHash: h(E.itemNoPath.chunkListHash),
  };
  const enc = (it: typeof item): string => {
    const w = new CborWriter();
    writeItemMap(w, it);
    return toHex(w.finish());
  };
  it('ItemV1 without and with path', () => {
    expect(enc(item)).toBe(E.itemNoPath.hex);
    const withPath = { ...item, path: E.itemPathInsert.path };
    // The path pair goes right after the name pair (key "name" = 646e616d65, value "a.txt" = 65612e747874).
    const namePair = '646e616d6565612e747874';
    const nameEnd = E.itemNoPath.hex.indexOf(namePair) + namePair.length;
    const hex = 'a8' + E.itemNoPath.hex.slice(2, nameEnd) + E.itemPathInsert.insertAfterName + E.itemNoPath.hex.slice(nameEnd);
    expect(enc(withPath)).toBe(hex);
    expect(decodeItem(decodeCbor(h(hex)), 'item')).toEqual(withPath);
  });
  it('ShareHead map with sig as 64 ints', () => {
    const S = E.shareHeadMap;
    const head = { shareId: h(S.shareId), latestSeq: BigInt(S.latestSeq), latestManifestId: h(S.latestManifestId), updatedAt: BigInt(S.updatedAt), sig: h(S.sig) };
    expect(toHex(encodeShareHead(head))).toBe(S.hex);
    expect(decodeShareHead(h(S.hex))).toEqual(head);
  });
  it('RelayAnnouncement signing bytes', () => {
    const A = E.relayAnnouncementSignable;
    const bytes = relayAnnouncementSignableBytes({
      relayPubkey: h(A.relayPubkey),
      relayAddrs: [{ ip: A.addr.ip, port: A.addr.port, transport: A.addr.transport, pubkeyHint: null }],
      capabilities: { dht: false, store: false, relay: true, contentSeed: false, mobileLight: false },
      capacity: { ...DEFAULT_RELAY_CAPACITY },
      issuedAt: BigInt(A.issuedAt),
      expiresAt: BigInt(A.expiresAt),
    });
    expect(toHex(bytes)).toBe(A.hex);
  });
});
