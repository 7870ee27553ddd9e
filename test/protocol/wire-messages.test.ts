/** Leniency, omitted-vs-null rules, bounds and u64 boundaries of the message codecs. */
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import {
  CborWriter,
  isForeignLanAnnouncement,
  LAN_MAX_PACKET_BYTES,
  MAX_PEX_PEERS,
  WIRE_CODECS,
  type PeerAddr,
} from '../../src/protocol/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const cbor = (f: (w: CborWriter) => unknown): Uint8Array => {
  const w = new CborWriter();
  f(w);
  return w.finish();
};
const PEER: PeerAddr = { ip: '10.0.0.1', port: 1, transport: 'tcp', pubkeyHint: null };

describe('u64 boundaries', () => {
  const cases: [bigint, string][] = [
    [2n ** 32n - 1n, '1affffffff'],
    [2n ** 32n, '1b0000000100000000'],
    [2n ** 53n - 1n, '1b001fffffffffffff'],
    [2n ** 53n, '1b0020000000000000'],
    [2n ** 53n + 1n, '1b0020000000000001'],
    [0x8000_0000_0000_0001n, '1b8000000000000001'],
    [2n ** 64n - 1n, '1bffffffffffffffff'],
  ];
  for (const [v, head] of cases) {
    it(`relay_slot_id ${v}`, () => {
      const b = WIRE_CODECS.RelayConnect.encode({ relaySlotId: v });
      expect(hex(b)).toBe('a16d72656c61795f736c6f745f6964' + head);
      expect(WIRE_CODECS.RelayConnect.decode(b).relaySlotId).toBe(v);
    });
  }
  it('rejects u64 input out of range and a ttl the reference would write negative', () => {
    expect(() => WIRE_CODECS.RelayConnect.encode({ relaySlotId: 2n ** 64n })).toThrow(/2\^64/);
    expect(() => WIRE_CODECS.RelayConnect.encode({ relaySlotId: -1 })).toThrow();
    expect(() => WIRE_CODECS.RelayConnect.encode({ relaySlotId: 1.5 })).toThrow();
    expect(() => WIRE_CODECS.Store.encode({ key: new Uint8Array(32), value: new Uint8Array(0), ttlSecs: 2n ** 63n })).toThrow(/2\^63/);
  });
});

describe('leniency (§1.4)', () => {
  it('string-keyed ids accept a byte string; integer-keyed ids insist on one', () => {
    const m = WIRE_CODECS.GetManifest.decode(cbor((w) => w.map(1).text('manifest_id').bytes(new Uint8Array(32).fill(4))));
    expect(m.manifestId).toEqual(new Uint8Array(32).fill(4));
    expect(() => WIRE_CODECS.GetChunk.decode(cbor((w) => w.map(2).uint(0).intArray(new Uint8Array(32)).uint(1).uint(0)))).toThrow(
      /GetChunk\.0: expected bytes/,
    );
    expect(() => WIRE_CODECS.FindNode.decode(cbor((w) => w.map(1).uint(0).bytes(new Uint8Array(32))))).toThrow(/expected 20 bytes/);
  });

  it('integer-keyed maps: any key order, extra keys ignored', () => {
    const b = cbor((w) => w.map(3).uint(9).text('x').uint(1).uint(7).uint(0).bytes(new Uint8Array(32)));
    expect(WIRE_CODECS.GetChunk.decode(b)).toEqual({ contentId: new Uint8Array(32), chunkIndex: 7 });
  });

  it('RelayRegister {} is a new-slot, no-tunnel request; RelayStream without kind is control', () => {
    expect(WIRE_CODECS.RelayRegister.decode(Uint8Array.of(0xa0))).toEqual({ relaySlotId: null, tunnel: false });
    const s = cbor((w) => w.map(3).text('relay_slot_id').uint(1).text('stream_id').uint(2).text('payload').bytes(Uint8Array.of(1)));
    expect(WIRE_CODECS.RelayStream.decode(s)).toEqual({ relaySlotId: 1n, streamId: 2, kind: 'control', payload: Uint8Array.of(1) });
  });

  it('FindValueResult: null, undefined or a missing key 0 all mean no value', () => {
    for (const f of [(w: CborWriter) => w.null(), (w: CborWriter) => w.raw(Uint8Array.of(0xf7))]) {
      expect(WIRE_CODECS.FindValueResult.decode(cbor((w) => { w.map(2).uint(0); f(w); w.uint(1).array(0); }))).toEqual({ value: null, closerPeers: [] });
    }
    expect(WIRE_CODECS.FindValueResult.decode(cbor((w) => w.map(1).uint(1).array(0)))).toEqual({ value: null, closerPeers: [] });
    expect(() => WIRE_CODECS.FindValueResult.decode(cbor((w) => w.map(1).uint(0).null()))).toThrow(/FindValueResult\.1: missing/);
  });

  it('CommunityStatus: name omitted when absent, explicit null also accepted', () => {
    const minimal = { communityShareId: new Uint8Array(32), joined: false, membershipProof: null, name: null };
    const b = WIRE_CODECS.CommunityStatus.encode(minimal);
    expect(b[0]).toBe(0xa3);
    expect(hex(b)).not.toContain(hex(new TextEncoder().encode('name')));
    const withNull = cbor((w) =>
      w.map(4).text('community_share_id').intArray(new Uint8Array(32)).text('joined').bool(false).text('membership_proof').null().text('name').null(),
    );
    expect(WIRE_CODECS.CommunityStatus.decode(withNull)).toEqual(minimal);
  });
});

describe('bounds', () => {
  it('PEX offers above 64 peers are refused both ways', () => {
    const many = Array.from({ length: MAX_PEX_PEERS + 1 }, () => PEER);
    expect(() => WIRE_CODECS.PexOffer.encode({ peers: many })).toThrow(/at most 64/);
    const b = WIRE_CODECS.FindNodeResult.encode({ peers: many }).subarray(2); // the array, reused under "peers"
    const offer = cbor((w) => w.map(1).text('peers').raw(b));
    expect(() => WIRE_CODECS.PexOffer.decode(offer)).toThrow(ProtocolError);
  });

  it('a huge claimed list length is refused without allocating for it', () => {
    const b = Uint8Array.of(0xa2, 0x00, 0x58, 0x20, ...new Uint8Array(32), 0x01, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    expect(() => WIRE_CODECS.ChunkHashList.decode(b)).toThrow(ProtocolError);
  });

  it('CHUNK_DATA: chunk ≤ 256 KiB, decoded as a view', () => {
    const chunk = new Uint8Array(262_144).fill(3);
    const b = WIRE_CODECS.ChunkData.encode({ contentId: new Uint8Array(32), chunkIndex: 70_000, bytes: chunk });
    const d = WIRE_CODECS.ChunkData.decode(b);
    expect(d.bytes.buffer).toBe(b.buffer);
    expect(d.chunkIndex).toBe(70_000);
    expect(d.bytes).toEqual(chunk);
    expect(() => WIRE_CODECS.ChunkData.encode({ contentId: new Uint8Array(32), chunkIndex: 0, bytes: new Uint8Array(262_145) })).toThrow();
  });
});

describe('LAN announcements (§13)', () => {
  it('version 1 has no capabilities key and decodes with null', () => {
    const v1 = { version: 1, instanceId: new Uint8Array(16).fill(1), tcpPort: 7001, capabilities: null };
    const b = WIRE_CODECS.LanDiscoveryAnnouncement.encode(v1);
    expect(b[0]).toBe(0xa3);
    expect(WIRE_CODECS.LanDiscoveryAnnouncement.decode(b)).toEqual(v1);
  });
  it('receive filter and size limit', () => {
    const own = new Uint8Array(16).fill(1);
    const a = { version: 2, instanceId: own, tcpPort: 1, capabilities: null };
    expect(isForeignLanAnnouncement(a, own)).toBe(false);
    expect(isForeignLanAnnouncement(a, new Uint8Array(16))).toBe(true);
    expect(isForeignLanAnnouncement({ ...a, version: 0 }, new Uint8Array(16))).toBe(false);
    expect(() => WIRE_CODECS.LanDiscoveryAnnouncement.decode(new Uint8Array(LAN_MAX_PACKET_BYTES + 1))).toThrow(ProtocolError);
  });
});
