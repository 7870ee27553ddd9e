/**
 * LAN discovery datagram (PROTOCOL.md §13): `{version, instance_id: [16 ints], tcp_port, capabilities}`
 * broadcast to UDP 46123 every 3 s. Version 2 always writes `capabilities` (null when unknown); version 1
 * packets have no such key and are still accepted. Receivers ignore version 0 and their own instance id.
 */
import { asMap, fixed, opt, req, u16, u8, fail } from './cbor-fields.js';
import { decodeCapabilities, encodeCapabilities, type Capabilities } from './peer-addr.js';
import { bytesEqual } from './bytes.js';
import { bytesIn, defineMessageCodec, uintIn, type MessageCodec } from './message-codec.js';
import { LAN_MAX_PACKET_BYTES } from './limits.js';

export const LAN_INSTANCE_ID_BYTES = 16;
/** The version this node sends. */
export const LAN_ANNOUNCEMENT_VERSION = 2;

export interface LanDiscoveryAnnouncement {
  version: number;
  /** 16 random bytes chosen per process start, so a node recognises its own broadcasts. */
  instanceId: Uint8Array;
  tcpPort: number;
  capabilities: Capabilities | null;
}

const inner = defineMessageCodec<LanDiscoveryAnnouncement>(
  'LanDiscoveryAnnouncement',
  (w, v) => {
    const version = uintIn(v.version, 8, 'LanDiscoveryAnnouncement.version');
    // Version 1 predates the capabilities key; writing it would not be a version-1 packet.
    const withCaps = version >= 2;
    w.map(withCaps ? 4 : 3)
      .text('version').uint(version)
      .text('instance_id').intArray(bytesIn(v.instanceId, 'LanDiscoveryAnnouncement.instanceId', LAN_INSTANCE_ID_BYTES))
      .text('tcp_port').uint(uintIn(v.tcpPort, 16, 'LanDiscoveryAnnouncement.tcpPort'));
    if (withCaps) {
      w.text('capabilities');
      if (v.capabilities === null || v.capabilities === undefined) w.null();
      else encodeCapabilities(w, v.capabilities);
    }
  },
  (v, where) => {
    const m = asMap(v, where);
    const caps = opt(m, 'capabilities');
    return {
      version: u8(req(m, 'version', where), `${where}.version`),
      instanceId: fixed(req(m, 'instance_id', where), LAN_INSTANCE_ID_BYTES, `${where}.instance_id`),
      tcpPort: u16(req(m, 'tcp_port', where), `${where}.tcp_port`),
      capabilities: caps === undefined ? null : decodeCapabilities(caps, `${where}.capabilities`),
    };
  },
  128,
);

export const lanAnnouncementCodec: MessageCodec<LanDiscoveryAnnouncement> = {
  name: inner.name,
  encode: inner.encode,
  decode(bytes) {
    // The reference reads into a 1,024-byte buffer: anything longer arrives truncated and fails to decode.
    if (bytes.length > LAN_MAX_PACKET_BYTES) fail('LanDiscoveryAnnouncement', `datagram of ${bytes.length} bytes exceeds ${LAN_MAX_PACKET_BYTES}`);
    return inner.decode(bytes);
  },
};

/** The receive-side filter: version 0 and our own broadcasts are ignored. */
export function isForeignLanAnnouncement(a: LanDiscoveryAnnouncement, ownInstanceId: Uint8Array): boolean {
  return a.version !== 0 && !bytesEqual(a.instanceId, ownInstanceId);
}
