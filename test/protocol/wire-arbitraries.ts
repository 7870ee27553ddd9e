/** fast-check arbitraries for every wire message (shared by the wire property tests). */
import fc from 'fast-check';
import { ipFromBytes, type PeerAddr, type Capabilities } from '../../src/protocol/index.js';

export const U64_EDGES = [
  0n,
  1n,
  23n,
  24n,
  255n,
  256n,
  65_535n,
  65_536n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  0x8000_0000_0000_0001n,
  2n ** 64n - 1n,
];

export const u64 = (max = 2n ** 64n - 1n): fc.Arbitrary<bigint> =>
  fc.oneof(fc.constantFrom(...U64_EDGES.filter((x) => x <= max)), fc.bigInt({ min: 0n, max }));
export const u32 = fc.oneof(fc.constantFrom(0, 23, 24, 255, 256, 65_535, 65_536, 0xffff_ffff), fc.nat({ max: 0xffff_ffff }));
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u8 = fc.integer({ min: 0, max: 0xff });
export const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
export const anyBytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
export const id32 = bytes(32);
export const text = fc.string({ unit: 'grapheme', maxLength: 24 });

export const ip = fc.oneof(bytes(4), bytes(16)).map(ipFromBytes);

const basePeer = fc.record({
  ip,
  port: u16,
  transport: fc.constantFrom('quic' as const, 'tcp' as const),
  pubkeyHint: fc.option(id32, { nil: null }),
});

export const peerAddr: fc.Arbitrary<PeerAddr> = fc
  .tuple(basePeer, fc.option(fc.record({ relayAddr: basePeer, slotId: u64() }), { nil: null }))
  .map(([p, relay]) => (relay === null ? p : { ...p, relayVia: relay }));

export const peers = (max: number): fc.Arbitrary<PeerAddr[]> => fc.array(peerAddr, { maxLength: max });

export const capabilities: fc.Arbitrary<Capabilities> = fc.record({
  dht: fc.boolean(),
  store: fc.boolean(),
  relay: fc.boolean(),
  contentSeed: fc.boolean(),
  mobileLight: fc.boolean(),
});

const store = fc.record({ key: id32, value: anyBytes(300), ttlSecs: u64(2n ** 63n - 1n) });

const summary = fc.record({
  shareId: id32,
  sharePubkey: id32,
  latestSeq: u64(),
  latestManifestId: id32,
  title: fc.option(text, { nil: null }),
  description: fc.option(text, { nil: null }),
});

const announcement = fc.record({
  relayPubkey: id32,
  relayAddrs: fc.array(peerAddr, { maxLength: 3 }),
  capabilities,
  capacity: fc.record({
    maxTunnels: u16,
    bandwidthClass: fc.constantFrom('Low' as const, 'Medium' as const, 'High' as const),
    maxBytesPerTunnel: fc.option(u64(), { nil: null }),
  }),
  issuedAt: u64(),
  expiresAt: u64(),
  signature: bytes(64),
});

/** One arbitrary per WIRE_CODECS entry (values as the decoder returns them). */
export const MESSAGE_ARBS: Record<string, fc.Arbitrary<unknown>> = {
  Envelope: fc.record({ type: u16, reqId: u32, flags: u16, payload: anyBytes(600) }),
  PexOffer: fc.record({ peers: peers(8) }),
  PexRequest: fc.record({ maxPeers: u8 }),
  FindNode: fc.record({ targetNodeId: bytes(20) }),
  FindNodeResult: fc.record({ peers: peers(8) }),
  FindValue: fc.record({ key: id32 }),
  FindValueResult: fc.record({ value: fc.option(store, { nil: null }), closerPeers: peers(6) }),
  Store: store,
  GetManifest: fc.record({ manifestId: id32 }),
  ManifestData: fc.record({ manifestId: id32, bytes: anyBytes(600) }),
  ListPublicShares: fc.record({ maxEntries: u16 }),
  PublicShareList: fc.record({ shares: fc.array(summary, { maxLength: 4 }) }),
  GetCommunityStatus: fc.record({ communityShareId: id32, communitySharePubkey: id32 }),
  CommunityStatus: fc.record({
    communityShareId: id32,
    joined: fc.boolean(),
    membershipProof: fc.option(anyBytes(300), { nil: null }),
    name: fc.option(text, { nil: null }),
  }),
  ListCommunityPublicShares: fc.record({
    communityShareId: id32,
    communitySharePubkey: id32,
    maxEntries: u16,
    requesterNodePubkey: fc.option(id32, { nil: null }),
    requesterMembershipProof: fc.option(anyBytes(300), { nil: null }),
  }),
  CommunityPublicShareList: fc.record({ communityShareId: id32, shares: fc.array(summary, { maxLength: 4 }) }),
  RelayRegister: fc.record({ relaySlotId: fc.option(u64(), { nil: null }), tunnel: fc.boolean() }),
  RelayRegistered: fc.record({ relaySlotId: u64(), expiresAt: u64() }),
  RelayConnect: fc.record({ relaySlotId: u64() }),
  RelayStream: fc.record({
    relaySlotId: u64(),
    streamId: u32,
    kind: fc.constantFrom('control' as const, 'content' as const),
    payload: anyBytes(600),
  }),
  RelayListRequest: fc.record({ maxCount: u16 }),
  RelayListResponse: fc.record({ announcements: fc.array(announcement, { maxLength: 3 }) }),
  Providers: fc.record({ contentId: id32, providers: peers(6), updatedAt: u64() }),
  HaveContent: fc.record({ contentId: id32 }),
  GetChunk: fc.record({ contentId: id32, chunkIndex: u32 }),
  ChunkData: fc.record({ contentId: id32, chunkIndex: u32, bytes: anyBytes(2_000) }),
  GetChunkHashes: fc.record({ contentId: id32 }),
  ChunkHashList: fc.record({ contentId: id32, hashes: fc.array(id32, { maxLength: 6 }) }),
  LanDiscoveryAnnouncement: fc.oneof(
    fc.record({ version: fc.integer({ min: 2, max: 255 }), instanceId: bytes(16), tcpPort: u16, capabilities: fc.option(capabilities, { nil: null }) }),
    fc.record({ version: fc.constantFrom(0, 1), instanceId: bytes(16), tcpPort: u16, capabilities: fc.constant(null) }),
  ),
};

/** Replaces every bigint that fits a safe integer by a number: encoders must accept both. */
export function withNumberU64s(v: unknown): unknown {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (v instanceof Uint8Array || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(withNumberU64s);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withNumberU64s(x)]));
}
