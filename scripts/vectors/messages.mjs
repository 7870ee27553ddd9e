// Our own conformance vectors for every wire message (vectors/messages.json): each entry names its codec in
// WIRE_CODECS, the input value and the encoded hex; envelopes and frames too. `generate(p)` takes the protocol
// module (dist/ from scripts/vectors.mjs, src/ from test/protocol/messages-vectors.test.ts). Values are JSON
// with two tags: {"$bytes": hex} for Uint8Array and {"$u64": decimal} for bigint; `reviveValue` undoes them.
// Inputs deliberately cross the 2^32, 2^53 and 2^63 boundaries and use both "absent" forms (null and omitted).

export const file = 'messages.json';

const fill = (n, v) => new Uint8Array(n).fill(v);
const seq = (n, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i * 7) & 0xff);

export function tagValue(v) {
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
  if (typeof v === 'bigint') return { $u64: v.toString() };
  if (Array.isArray(v)) return v.map(tagValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tagValue(x)]));
  return v;
}

export function reviveValue(v) {
  if (Array.isArray(v)) return v.map(reviveValue);
  if (v && typeof v === 'object') {
    if (typeof v.$bytes === 'string') return new Uint8Array(Buffer.from(v.$bytes, 'hex'));
    if (typeof v.$u64 === 'string') return BigInt(v.$u64);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reviveValue(x)]));
  }
  return v;
}

const V4_QUIC = { ip: '192.168.1.2', port: 7000, transport: 'quic', pubkeyHint: null };
const V6_HINT = { ip: 'fe80::1:2', port: 65535, transport: 'tcp', pubkeyHint: seq(32, 200) };
const RELAYED = {
  ip: '10.1.2.3',
  port: 7001,
  transport: 'tcp',
  pubkeyHint: null,
  relayVia: { relayAddr: { ip: '203.0.113.9', port: 7001, transport: 'tcp', pubkeyHint: fill(32, 0x5a) }, slotId: 0x8000_0000_0000_0001n },
};
const CAPS_RELAY = { dht: true, store: false, relay: true, contentSeed: false, mobileLight: false };

export function generate(p) {
  const store = { key: fill(32, 0x31), value: seq(40, 1), ttlSecs: 2n ** 63n - 1n };
  const summary = {
    shareId: fill(32, 0x41),
    sharePubkey: fill(32, 0x42),
    latestSeq: 2n ** 53n + 1n,
    latestManifestId: fill(32, 0x43),
    title: 'Fotos — ünïcødé',
    description: null,
  };
  const announcement = {
    relayPubkey: fill(32, 0x51),
    relayAddrs: [V4_QUIC, V6_HINT],
    capabilities: CAPS_RELAY,
    capacity: { maxTunnels: 64, bandwidthClass: 'Medium', maxBytesPerTunnel: 2n ** 32n },
    issuedAt: 1_700_000_000n,
    expiresAt: 1_700_021_600n,
    signature: fill(64, 0xee),
  };

  /** [entry name, codec name, value] */
  const cases = [
    ['PexOffer/mixed', 'PexOffer', { peers: [V4_QUIC, V6_HINT, RELAYED] }],
    ['PexOffer/empty', 'PexOffer', { peers: [] }],
    ['PexRequest/max', 'PexRequest', { maxPeers: 255 }],
    ['FindNode', 'FindNode', { targetNodeId: seq(20, 3) }],
    ['FindNodeResult', 'FindNodeResult', { peers: [V4_QUIC, RELAYED] }],
    ['FindValue', 'FindValue', { key: seq(32, 9) }],
    ['FindValueResult/hit', 'FindValueResult', { value: store, closerPeers: [] }],
    ['FindValueResult/miss', 'FindValueResult', { value: null, closerPeers: [V6_HINT] }],
    ['Store/ttl-2^63-1', 'Store', store],
    ['Store/empty-value', 'Store', { key: fill(32, 0), value: new Uint8Array(0), ttlSecs: 86_400n }],
    ['GetManifest', 'GetManifest', { manifestId: seq(32, 17) }],
    ['ManifestData', 'ManifestData', { manifestId: seq(32, 17), bytes: seq(300, 5) }],
    ['ListPublicShares', 'ListPublicShares', { maxEntries: 64 }],
    ['PublicShareList', 'PublicShareList', { shares: [summary, { ...summary, latestSeq: 0n, title: null, description: 'd' }] }],
    ['GetCommunityStatus', 'GetCommunityStatus', { communityShareId: fill(32, 0x61), communitySharePubkey: fill(32, 0x62) }],
    ['CommunityStatus/no-name', 'CommunityStatus', { communityShareId: fill(32, 0x61), joined: false, membershipProof: null, name: null }],
    ['CommunityStatus/full', 'CommunityStatus', { communityShareId: fill(32, 0x61), joined: true, membershipProof: seq(120, 2), name: 'club' }],
    [
      'ListCommunityPublicShares/bare',
      'ListCommunityPublicShares',
      { communityShareId: fill(32, 0x61), communitySharePubkey: fill(32, 0x62), maxEntries: 64, requesterNodePubkey: null, requesterMembershipProof: null },
    ],
    [
      'ListCommunityPublicShares/key-only',
      'ListCommunityPublicShares',
      { communityShareId: fill(32, 0x61), communitySharePubkey: fill(32, 0x62), maxEntries: 0, requesterNodePubkey: fill(32, 0x63), requesterMembershipProof: null },
    ],
    [
      'ListCommunityPublicShares/with-proof',
      'ListCommunityPublicShares',
      { communityShareId: fill(32, 0x61), communitySharePubkey: fill(32, 0x62), maxEntries: 65535, requesterNodePubkey: fill(32, 0x63), requesterMembershipProof: seq(30, 100) },
    ],
    ['CommunityPublicShareList', 'CommunityPublicShareList', { communityShareId: fill(32, 0x61), shares: [summary] }],
    ['RelayRegister/new', 'RelayRegister', { relaySlotId: null, tunnel: true }],
    ['RelayRegister/renew-u64-max', 'RelayRegister', { relaySlotId: 2n ** 64n - 1n, tunnel: false }],
    ['RelayRegistered', 'RelayRegistered', { relaySlotId: 0x8000_0000_0000_0001n, expiresAt: 1_700_000_600n }],
    ['RelayConnect/2^32', 'RelayConnect', { relaySlotId: 2n ** 32n }],
    ['RelayConnect/2^53', 'RelayConnect', { relaySlotId: 2n ** 53n }],
    ['RelayStream/control', 'RelayStream', { relaySlotId: 2n ** 32n - 1n, streamId: 4_294_967_295, kind: 'control', payload: new Uint8Array(0) }],
    [
      'RelayStream/tunnelled-get-chunk',
      'RelayStream',
      {
        relaySlotId: 0x8000_0000_0000_0001n,
        streamId: 0,
        kind: 'content',
        payload: p.encodeEnvelope({ type: 500, reqId: 10_000, flags: 0, payload: p.WIRE_CODECS.GetChunk.encode({ contentId: fill(32, 0x0c), chunkIndex: 2 }) }),
      },
    ],
    ['RelayListRequest', 'RelayListRequest', { maxCount: 16 }],
    ['RelayListResponse', 'RelayListResponse', { announcements: [announcement] }],
    ['RelayListResponse/empty', 'RelayListResponse', { announcements: [] }],
    ['Providers', 'Providers', { contentId: fill(32, 0x71), providers: [V4_QUIC, RELAYED], updatedAt: 2n ** 53n - 1n }],
    ['HaveContent', 'HaveContent', { contentId: fill(32, 0x71) }],
    ['GetChunk/index-u32-max', 'GetChunk', { contentId: fill(32, 0x71), chunkIndex: 4_294_967_295 }],
    ['ChunkData', 'ChunkData', { contentId: fill(32, 0x71), chunkIndex: 256, bytes: seq(600, 11) }],
    ['GetChunkHashes', 'GetChunkHashes', { contentId: fill(32, 0x71) }],
    ['ChunkHashList', 'ChunkHashList', { contentId: fill(32, 0x71), hashes: [fill(32, 0), fill(32, 23), fill(32, 24), fill(32, 255)] }],
    ['LanDiscoveryAnnouncement/v1', 'LanDiscoveryAnnouncement', { version: 1, instanceId: seq(16, 1), tcpPort: 7001, capabilities: null }],
    ['LanDiscoveryAnnouncement/v2-null-caps', 'LanDiscoveryAnnouncement', { version: 2, instanceId: seq(16, 1), tcpPort: 7001, capabilities: null }],
    ['LanDiscoveryAnnouncement/v2-caps', 'LanDiscoveryAnnouncement', { version: 2, instanceId: seq(16, 1), tcpPort: 7001, capabilities: CAPS_RELAY }],
    ['Envelope/request', 'Envelope', { type: 202, reqId: 1_000_000, flags: 0, payload: p.WIRE_CODECS.Store.encode(store) }],
    ['Envelope/ack', 'Envelope', p.responseEnvelope(202, 1_000_000)],
    ['Envelope/error-unknown-type', 'Envelope', p.errorEnvelope(999, 4_294_967_295, p.unknownMessageTypeText(999))],
    ['Envelope/error-rate', 'Envelope', p.errorEnvelope(500, 10_001, p.rateLimitText('chunk'))],
  ];

  const messages = {};
  for (const [name, codec, value] of cases) {
    messages[name] = { codec, value: tagValue(value), hex: Buffer.from(p.WIRE_CODECS[codec].encode(value)).toString('hex') };
  }
  const frames = {
    'handshake-max-prefix': Buffer.from(p.framePrefix(p.HANDSHAKE_MAX_BYTES)).toString('hex'),
    'envelope-max-prefix': Buffer.from(p.framePrefix(p.MAX_ENVELOPE_FRAME_BYTES)).toString('hex'),
    'ack-frame': Buffer.from(p.encodeEnvelopeFrame(p.responseEnvelope(100, 7))).toString('hex'),
  };
  return {
    _note: 'Generated by `npm run vectors` (scripts/vectors/messages.mjs). Ours, not the reference’s: regenerate on purpose only.',
    messages,
    frames,
  };
}
