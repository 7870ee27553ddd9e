/** fast-check arbitraries for the signed records (shared by the property tests). */
import fc from 'fast-check';
import {
  ipFromBytes,
  type BlocklistRules,
  type Capabilities,
  type CommunityMembers,
  type CommunityMembershipToken,
  type EncryptedSecret,
  type HandshakeHello,
  type ItemV1,
  type ManifestV1,
  type PeerAddr,
  type RelayAnnouncement,
  type ShareHead,
} from '../../src/protocol/index.js';

export const U64_EDGES = [0n, 23n, 24n, 255n, 256n, 65_535n, 65_536n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];

export const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
export const b32 = bytes(32);
export const u64 = fc.oneof(fc.constantFrom(...U64_EDGES), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
export const u32 = fc.oneof(fc.constantFrom(0, 1, 23, 24, 255, 256, 65_535, 65_536, 4_294_967_295), fc.integer({ min: 0, max: 4_294_967_295 }));
export const str = fc.string({ unit: 'grapheme', maxLength: 24 });
export const optStr = fc.option(str, { nil: null });

export const capabilities: fc.Arbitrary<Capabilities> = fc.record({
  dht: fc.boolean(),
  store: fc.boolean(),
  relay: fc.boolean(),
  contentSeed: fc.boolean(),
  mobileLight: fc.boolean(),
});

const ip = fc.oneof(bytes(4), bytes(16)).map(ipFromBytes);
const plainAddr: fc.Arbitrary<PeerAddr> = fc.record({
  ip,
  port: fc.integer({ min: 0, max: 65_535 }),
  transport: fc.constantFrom('quic' as const, 'tcp' as const),
  pubkeyHint: fc.option(b32, { nil: null }),
});
export const peerAddr: fc.Arbitrary<PeerAddr> = fc.oneof(
  plainAddr,
  fc.record({ relayAddr: plainAddr, slotId: u64 }).chain((relayVia) => plainAddr.map((a) => ({ ...a, relayVia }))),
);

export const item: fc.Arbitrary<ItemV1> = fc.record({
  contentId: b32,
  size: u64,
  name: str,
  path: optStr,
  mime: optStr,
  tags: fc.array(str, { maxLength: 3 }),
  chunkCount: u32,
  chunkListHash: b32,
});

export const manifest: fc.Arbitrary<ManifestV1> = fc.record({
  version: fc.integer({ min: 0, max: 255 }),
  sharePubkey: b32,
  shareId: b32,
  seq: u64,
  createdAt: u64,
  expiresAt: fc.option(u64, { nil: null }),
  title: optStr,
  description: optStr,
  visibility: fc.constantFrom('private' as const, 'public' as const),
  communities: fc.array(b32, { maxLength: 2 }),
  items: fc.array(item, { maxLength: 3 }),
  recommendedShares: fc.array(b32, { maxLength: 2 }),
  signature: fc.option(bytes(64), { nil: null }),
});

export const shareHead: fc.Arbitrary<ShareHead> = fc.record({
  shareId: b32,
  latestSeq: u64,
  latestManifestId: b32,
  updatedAt: u64,
  sig: bytes(64),
});

export const hello: fc.Arbitrary<HandshakeHello> = fc.record({
  nodePubkey: b32,
  capabilities,
  nonce: b32,
  echoedNonce: fc.option(b32, { nil: null }),
  timestampUnixSecs: u64,
  protocolVersion: fc.integer({ min: 0, max: 65_535 }),
  ephemeralPubkey: fc.option(b32, { nil: null }),
  signature: bytes(64),
});

export const relayAnnouncement: fc.Arbitrary<RelayAnnouncement> = fc.record({
  relayPubkey: b32,
  relayAddrs: fc.array(peerAddr, { maxLength: 3 }),
  capabilities,
  capacity: fc.record({
    maxTunnels: fc.integer({ min: 0, max: 65_535 }),
    bandwidthClass: fc.constantFrom('Low' as const, 'Medium' as const, 'High' as const),
    maxBytesPerTunnel: fc.option(u64, { nil: null }),
  }),
  issuedAt: u64,
  expiresAt: u64,
  signature: bytes(64),
});

export const token: fc.Arbitrary<CommunityMembershipToken> = fc.record({
  communityShareId: b32,
  memberNodePubkey: b32,
  issuedAt: u64,
  expiresAt: u64,
  signature: bytes(64),
});

export const communityMembers: fc.Arbitrary<CommunityMembers> = fc.record({
  communityShareId: b32,
  members: fc.array(peerAddr, { maxLength: 4 }),
  updatedAt: u64,
});

export const blocklist: fc.Arbitrary<BlocklistRules> = fc.record({
  blockedShareIds: fc.array(b32, { maxLength: 3 }),
  blockedContentIds: fc.array(b32, { maxLength: 3 }),
});

export const encryptedSecret: fc.Arbitrary<EncryptedSecret> = fc.record({
  salt: bytes(16),
  nonce: bytes(24),
  ciphertext: fc.uint8Array({ maxLength: 80 }),
});
