/**
 * Every named codec of the wire layer in one table, for vector generators and conformance tests (a vector
 * names its codec, so the test can re-encode and re-decode it without a switch per message).
 */
import { envelopeCodec } from './envelope.js';
import { findNodeCodec, findNodeResultCodec, findValueCodec, findValueResultCodec, storeCodec } from './dht-messages.js';
import { lanAnnouncementCodec } from './lan.js';
import { pexOfferCodec, pexRequestCodec } from './pex.js';
import {
  relayConnectCodec,
  relayListRequestCodec,
  relayListResponseCodec,
  relayRegisterCodec,
  relayRegisteredCodec,
  relayStreamCodec,
} from './relay-messages.js';
import {
  communityPublicShareListCodec,
  communityStatusCodec,
  getCommunityStatusCodec,
  listCommunityPublicSharesCodec,
  listPublicSharesCodec,
  publicShareListCodec,
} from './share-messages.js';
import {
  chunkDataCodec,
  chunkHashListCodec,
  getChunkCodec,
  getChunkHashesCodec,
  getManifestCodec,
  haveContentCodec,
  manifestDataCodec,
  providersCodec,
} from './transfer-messages.js';

export const WIRE_CODECS = Object.freeze({
  Envelope: envelopeCodec,
  PexOffer: pexOfferCodec,
  PexRequest: pexRequestCodec,
  FindNode: findNodeCodec,
  FindNodeResult: findNodeResultCodec,
  FindValue: findValueCodec,
  FindValueResult: findValueResultCodec,
  Store: storeCodec,
  GetManifest: getManifestCodec,
  ManifestData: manifestDataCodec,
  ListPublicShares: listPublicSharesCodec,
  PublicShareList: publicShareListCodec,
  GetCommunityStatus: getCommunityStatusCodec,
  CommunityStatus: communityStatusCodec,
  ListCommunityPublicShares: listCommunityPublicSharesCodec,
  CommunityPublicShareList: communityPublicShareListCodec,
  RelayRegister: relayRegisterCodec,
  RelayRegistered: relayRegisteredCodec,
  RelayConnect: relayConnectCodec,
  RelayStream: relayStreamCodec,
  RelayListRequest: relayListRequestCodec,
  RelayListResponse: relayListResponseCodec,
  Providers: providersCodec,
  HaveContent: haveContentCodec,
  GetChunk: getChunkCodec,
  ChunkData: chunkDataCodec,
  GetChunkHashes: getChunkHashesCodec,
  ChunkHashList: chunkHashListCodec,
  LanDiscoveryAnnouncement: lanAnnouncementCodec,
});

export type WireCodecName = keyof typeof WIRE_CODECS;
