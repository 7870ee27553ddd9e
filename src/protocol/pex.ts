/**
 * Peer exchange (PROTOCOL.md §7.2): PEX_REQUEST `{max_peers: u8}` is answered by a PEX_OFFER with at most
 * min(max_peers, 64) peers; a pushed PEX_OFFER gets an empty ack. Both are string-keyed struct maps.
 */
import { asMap, req, u8 } from './cbor-fields.js';
import type { PeerAddr } from './peer-addr.js';
import { readPeerList, writePeerList } from './dht-messages.js';
import { defineMessageCodec, uintIn } from './message-codec.js';
import { MAX_PEX_PEERS } from './limits.js';

export interface PexOffer {
  peers: PeerAddr[];
}

export interface PexRequest {
  /** u8; the reference server caps the answer at 64 peers. */
  maxPeers: number;
}

export const pexOfferCodec = defineMessageCodec<PexOffer>(
  'PexOffer',
  (w, v) => {
    w.map(1).text('peers');
    writePeerList(w, v.peers, 'PexOffer.peers', MAX_PEX_PEERS);
  },
  (v, where) => {
    const m = asMap(v, where);
    return { peers: readPeerList(req(m, 'peers', where), `${where}.peers`, MAX_PEX_PEERS) };
  },
  1024,
);

export const pexRequestCodec = defineMessageCodec<PexRequest>(
  'PexRequest',
  (w, v) => {
    w.map(1).text('max_peers').uint(uintIn(v.maxPeers, 8, 'PexRequest.maxPeers'));
  },
  (v, where) => {
    const m = asMap(v, where);
    return { maxPeers: u8(req(m, 'max_peers', where), `${where}.max_peers`) };
  },
  16,
);
