/**
 * The reference's own bytes (vectors/wire-reference.json, copied from PROTOCOL.md §1.5, §2.2, §3.4, §13):
 * every codec must encode these inputs to exactly these bytes and decode the bytes back to the inputs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CborWriter,
  decodeCapabilities,
  decodeCbor,
  decodeEnvelope,
  decodePeerAddr,
  encodeCapabilities,
  encodeEnvelope,
  encodeEnvelopeFrame,
  encodeFrame,
  encodePeerAddr,
  errorEnvelope,
  MessageType,
  WIRE_CODECS,
  type Capabilities,
  type MessageCodec,
  type PeerAddr,
} from '../../src/protocol/index.js';

interface Vec {
  case: string;
  hex: string;
  frame_prefix?: string;
}
const ref = JSON.parse(readFileSync(new URL('../../vectors/wire-reference.json', import.meta.url), 'utf8')) as {
  cbor: Record<string, Vec>;
  envelopes: Record<string, Vec>;
  payloads: Record<string, Vec>;
  lan: Record<string, Vec>;
};

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const fill = (b: number, n: number): Uint8Array => new Uint8Array(n).fill(b);

const QUIC_PEER: PeerAddr = { ip: '192.168.1.2', port: 7000, transport: 'quic', pubkeyHint: null };
const ALL_FALSE: Capabilities = { dht: false, store: false, relay: false, contentSeed: false, mobileLight: false };

describe('reference CBOR examples (§1.5)', () => {
  const peers: Record<string, PeerAddr> = {
    'PeerAddr/v4-quic': QUIC_PEER,
    'PeerAddr/v4-tcp-hint': { ip: '10.0.0.5', port: 7001, transport: 'tcp', pubkeyHint: fill(1, 32) },
    'PeerAddr/v6': { ip: '2001:db8::1', port: 7000, transport: 'quic', pubkeyHint: null },
    'PeerAddr/relay-via': {
      ip: '192.168.1.5',
      port: 7000,
      transport: 'tcp',
      pubkeyHint: null,
      relayVia: { relayAddr: { ip: '10.0.0.1', port: 8000, transport: 'tcp', pubkeyHint: null }, slotId: 42n },
    },
  };
  for (const [name, p] of Object.entries(peers)) {
    it(name, () => {
      const w = new CborWriter();
      encodePeerAddr(w, p);
      expect(hex(w.finish())).toBe(ref.cbor[name]!.hex);
      expect(decodePeerAddr(decodeCbor(unhex(ref.cbor[name]!.hex)), 'PeerAddr')).toEqual(p);
    });
  }
  it('Capabilities', () => {
    const c: Capabilities = { dht: true, store: true, relay: false, contentSeed: true, mobileLight: false };
    const w = new CborWriter();
    encodeCapabilities(w, c);
    expect(hex(w.finish())).toBe(ref.cbor['Capabilities']!.hex);
    expect(decodeCapabilities(decodeCbor(unhex(ref.cbor['Capabilities']!.hex)), 'Capabilities')).toEqual(c);
  });
});

describe('reference envelopes and frames (§2.2)', () => {
  const cases = {
    'Envelope/pex-request': { type: MessageType.PEX_REQUEST, reqId: 7, flags: 0, payload: unhex('a1696d61785f70656572731820') },
    'Envelope/get-chunk': {
      type: MessageType.GET_CHUNK,
      reqId: 10_000,
      flags: 0,
      payload: WIRE_CODECS.GetChunk.encode({ contentId: fill(0x0c, 32), chunkIndex: 2 }),
    },
    'Envelope/error': errorEnvelope(200, 1_000_000, 'rate'),
  };
  for (const [name, env] of Object.entries(cases)) {
    it(name, () => {
      const v = ref.envelopes[name]!;
      expect(hex(encodeEnvelope(env))).toBe(v.hex);
      expect(decodeEnvelope(unhex(v.hex))).toEqual(env);
      if (v.frame_prefix) {
        expect(hex(encodeFrame(unhex(v.hex)))).toBe(v.frame_prefix + v.hex);
        expect(hex(encodeEnvelopeFrame(env))).toBe(v.frame_prefix + v.hex);
      }
    });
  }
});

/** Typed inputs for every §3.4 row, keyed like the JSON. */
const PAYLOADS: Record<string, [codec: keyof typeof WIRE_CODECS, value: unknown]> = {
  PexRequest: ['PexRequest', { maxPeers: 32 }],
  PexOffer: ['PexOffer', { peers: [QUIC_PEER] }],
  FindNode: ['FindNode', { targetNodeId: fill(0xaa, 20) }],
  FindNodeResult: ['FindNodeResult', { peers: [QUIC_PEER] }],
  FindValue: ['FindValue', { key: fill(0x02, 32) }],
  Store: ['Store', { key: fill(0x03, 32), value: unhex('010203'), ttlSecs: 86_400n }],
  'FindValueResult/none': ['FindValueResult', { value: null, closerPeers: [] }],
  'FindValueResult/some': [
    'FindValueResult',
    { value: { key: fill(0x03, 32), value: unhex('010203'), ttlSecs: 86_400n }, closerPeers: [QUIC_PEER] },
  ],
  GetManifest: ['GetManifest', { manifestId: fill(0x04, 32) }],
  ManifestData: ['ManifestData', { manifestId: fill(0x05, 32), bytes: unhex('090807') }],
  ListPublicShares: ['ListPublicShares', { maxEntries: 25 }],
  'CommunityStatus/minimal': ['CommunityStatus', { communityShareId: fill(4, 32), joined: true, membershipProof: null, name: null }],
  'CommunityStatus/full': ['CommunityStatus', { communityShareId: fill(4, 32), joined: true, membershipProof: unhex('0102'), name: 'N' }],
  'ListCommunityPublicShares/minimal': [
    'ListCommunityPublicShares',
    { communityShareId: fill(6, 32), communitySharePubkey: fill(7, 32), maxEntries: 12, requesterNodePubkey: null, requesterMembershipProof: null },
  ],
  'ListCommunityPublicShares/requester': [
    'ListCommunityPublicShares',
    {
      communityShareId: fill(6, 32),
      communitySharePubkey: fill(7, 32),
      maxEntries: 12,
      requesterNodePubkey: fill(8, 32),
      requesterMembershipProof: unhex('0102'),
    },
  ],
  'RelayRegister/new-tunnel': ['RelayRegister', { relaySlotId: null, tunnel: true }],
  'RelayRegister/renew': ['RelayRegister', { relaySlotId: 42n, tunnel: false }],
  RelayRegistered: ['RelayRegistered', { relaySlotId: 7n, expiresAt: 99n }],
  RelayConnect: ['RelayConnect', { relaySlotId: 11n }],
  RelayStream: ['RelayStream', { relaySlotId: 11n, streamId: 0, kind: 'content', payload: unhex('050403') }],
  RelayListRequest: ['RelayListRequest', { maxCount: 16 }],
  HaveContent: ['HaveContent', { contentId: fill(0x0b, 32) }],
  Providers: ['Providers', { contentId: fill(0x0a, 32), providers: [QUIC_PEER], updatedAt: 321n }],
  GetChunk: ['GetChunk', { contentId: fill(0x0c, 32), chunkIndex: 2 }],
  ChunkData: ['ChunkData', { contentId: fill(0x0d, 32), chunkIndex: 2, bytes: unhex('060606') }],
  GetChunkHashes: ['GetChunkHashes', { contentId: fill(0x0e, 32) }],
  ChunkHashList: ['ChunkHashList', { contentId: fill(0x0e, 32), hashes: [fill(1, 32)] }],
};

describe('reference payloads (§3.4)', () => {
  it('covers every row of the table', () => {
    expect(Object.keys(ref.payloads).filter((k) => !(k in PAYLOADS)).sort()).toEqual(['RelayStream/u64-slot-field']);
  });
  for (const [name, [codecName, value]] of Object.entries(PAYLOADS)) {
    it(name, () => {
      const codec = WIRE_CODECS[codecName] as MessageCodec<unknown>;
      const want = ref.payloads[name]!.hex;
      expect(hex(codec.encode(value as never))).toBe(want);
      expect(codec.decode(unhex(want))).toEqual(value);
    });
  }
  it('RelayStream slot id 0x8000000000000001 encodes as 1b8000000000000001', () => {
    const field = ref.payloads['RelayStream/u64-slot-field']!.hex;
    const v = { relaySlotId: 0x8000000000000001n, streamId: 1, kind: 'control' as const, payload: new Uint8Array(0) };
    const bytes = WIRE_CODECS.RelayStream.encode(v);
    expect(hex(bytes)).toContain('6d72656c61795f736c6f745f6964' + field);
    expect(WIRE_CODECS.RelayStream.decode(bytes)).toEqual(v);
  });
});

describe('reference LAN announcement (§13)', () => {
  it('version 2', () => {
    const a = { version: 2, instanceId: fill(7, 16), tcpPort: 7001, capabilities: ALL_FALSE };
    const want = ref.lan['LanDiscoveryAnnouncement/v2']!.hex;
    expect(hex(WIRE_CODECS.LanDiscoveryAnnouncement.encode(a))).toBe(want);
    expect(WIRE_CODECS.LanDiscoveryAnnouncement.decode(unhex(want))).toEqual(a);
  });
});
