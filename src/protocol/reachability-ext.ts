/**
 * The dial-back reachability check (our extension, docs/ARCHITECTURE.md "relay as built"): a node asks a connected
 * peer to open a fresh connection to the addresses it advertises and say whether one completed a handshake. A
 * node that nobody can dial registers a relay tunnel (PROTOCOL.md §9.3). Message number 4090 is outside the
 * reference's closed registry (a reference peer answers "unknown message type 4090", and the asker tries another
 * peer); the answer reuses the request number with the RESPONSE flag, as the community extension does. CBOR
 * follows the reference's conventions: string-keyed struct maps.
 *
 * The asked peer dials only addresses on the asker's own socket IP (so it cannot be used to probe third parties)
 * and at most REACHABILITY_MAX_ADDRS of them.
 */
import { asMap, bool, list, req } from './cbor-fields.js';
import { defineMessageCodec, listIn } from './message-codec.js';
import { decodePeerAddr, encodePeerAddr, type PeerAddr } from './peer-addr.js';

export const ReachabilityExtMessageType = {
  REACHABILITY_PROBE: 4090,
} as const;

export const REACHABILITY_MAX_ADDRS = 4;

export interface ReachabilityProbe {
  /** The asker's advertised direct addresses (with its pubkey hint). */
  addrs: PeerAddr[];
}

export interface ReachabilityResult {
  /** True when a handshake with the asker's key completed on one of the addresses. */
  reachable: boolean;
}

export const reachabilityProbeCodec = defineMessageCodec<ReachabilityProbe>(
  'ReachabilityProbe',
  (w, v) => {
    const addrs = listIn<PeerAddr>(v.addrs, 'ReachabilityProbe.addrs', REACHABILITY_MAX_ADDRS);
    w.map(1).text('addrs').array(addrs.length);
    for (const a of addrs) encodePeerAddr(w, a);
  },
  (v, where) => {
    const m = asMap(v, where);
    return { addrs: list(req(m, 'addrs', where), `${where}.addrs`, REACHABILITY_MAX_ADDRS, (x, at) => decodePeerAddr(x, at)) };
  },
  256,
);

export const reachabilityResultCodec = defineMessageCodec<ReachabilityResult>(
  'ReachabilityResult',
  (w, v) => {
    w.map(1).text('reachable').bool(v.reachable === true);
  },
  (v, where) => {
    const m = asMap(v, where);
    return { reachable: bool(req(m, 'reachable', where), `${where}.reachable`) };
  },
  16,
);
