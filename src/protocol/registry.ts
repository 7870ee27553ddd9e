/**
 * The message-type registry (PROTOCOL.md §3.1, §14): explicit type numbers (never positional), which type
 * answers each request, each request's rate class, the response-only types, the reference's error texts,
 * and one codec map for request payloads and one for response payloads so a dispatcher can decode any
 * inbound payload by its type number.
 *
 * Response codecs are keyed by the *request* type: type 100 answers both PEX_REQUEST (a PexOffer) and a
 * pushed PEX_OFFER (an empty ack), so the response type alone does not say what the payload is.
 */
import { ProtocolError } from '../errors.js';
import { guardDecode, type MessageCodec } from './message-codec.js';
import { findNodeCodec, findNodeResultCodec, findValueCodec, findValueResultCodec, storeCodec } from './dht-messages.js';
import type { FindNode, FindNodeResult, FindValue, FindValueResult, Store } from './dht-messages.js';
import { pexOfferCodec, pexRequestCodec, type PexOffer, type PexRequest } from './pex.js';
import {
  chunkDataCodec,
  chunkHashListCodec,
  getChunkCodec,
  getChunkHashesCodec,
  getManifestCodec,
  haveContentCodec,
  manifestDataCodec,
} from './transfer-messages.js';
import type { ChunkData, ChunkHashList, GetChunk, GetChunkHashes, GetManifest, HaveContent, ManifestData } from './transfer-messages.js';
import {
  relayConnectCodec,
  relayListRequestCodec,
  relayListResponseCodec,
  relayRegisterCodec,
  relayRegisteredCodec,
  relayStreamCodec,
} from './relay-messages.js';
import type { RelayConnect, RelayListRequest, RelayListResponse, RelayRegister, RelayRegistered, RelayStream } from './relay-messages.js';
import {
  communityPublicShareListCodec,
  communityStatusCodec,
  getCommunityStatusCodec,
  listCommunityPublicSharesCodec,
  listPublicSharesCodec,
  publicShareListCodec,
} from './share-messages.js';
import type {
  CommunityPublicShareList,
  CommunityStatus,
  GetCommunityStatus,
  ListCommunityPublicShares,
  ListPublicShares,
  PublicShareList,
} from './share-messages.js';
// community extension (docs/COMMUNITIES.md): numbers outside the reference's registry, answered under their own number
import {
  CommunityExtMessageType,
  communityMemberAnnounceCodec,
  communityMemberAnnounceResultCodec,
  communityMembersDeltaCodec,
  communityMembersDeltaResultCodec,
  communityMembersPageCodec,
  communityMembersPageResultCodec,
} from './community-ext.js';
import type {
  CommunityMemberAnnounce,
  CommunityMemberAnnounceResult,
  CommunityMembersDelta,
  CommunityMembersDeltaResult,
  CommunityMembersPage,
  CommunityMembersPageResult,
} from './community-ext.js';
const X = CommunityExtMessageType;
// end community extension
// dial-back reachability extension (src/protocol/reachability-ext.ts)
import { ReachabilityExtMessageType, reachabilityProbeCodec, reachabilityResultCodec, type ReachabilityProbe, type ReachabilityResult } from './reachability-ext.js';
const RX = ReachabilityExtMessageType;

export const MessageType = {
  PEX_OFFER: 100,
  PEX_REQUEST: 101,
  FIND_NODE: 200,
  FIND_VALUE: 201,
  STORE: 202,
  GET_MANIFEST: 400,
  MANIFEST_DATA: 401,
  LIST_PUBLIC_SHARES: 402,
  PUBLIC_SHARE_LIST: 403,
  GET_COMMUNITY_STATUS: 404,
  COMMUNITY_STATUS: 405,
  LIST_COMMUNITY_PUBLIC_SHARES: 406,
  COMMUNITY_PUBLIC_SHARE_LIST: 407,
  RELAY_REGISTER: 450,
  RELAY_REGISTERED: 451,
  RELAY_CONNECT: 452,
  RELAY_STREAM: 453,
  RELAY_LIST_REQUEST: 460,
  RELAY_LIST_RESPONSE: 461,
  PROVIDERS: 498,
  HAVE_CONTENT: 499,
  GET_CHUNK: 500,
  CHUNK_DATA: 501,
  GET_CHUNK_HASHES: 502,
  CHUNK_HASH_LIST: 503,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const NAMES = new Map<number, string>(
  [...Object.entries(MessageType), ...Object.entries(CommunityExtMessageType), ...Object.entries(ReachabilityExtMessageType)].map(([k, v]) => [v, k]),
);

export function isKnownMessageType(type: number): type is MessageType {
  return NAMES.has(type);
}

/** "GET_CHUNK" for 500, "unknown(999)" for numbers outside the registry (for logs). */
export function messageTypeName(type: number): string {
  return NAMES.get(type) ?? `unknown(${type})`;
}

// ---------------------------------------------------------------------------------------------------------
// Error texts, exactly as the reference writes them into error envelopes (flags 3, UTF-8 payload).

export const ErrorText = {
  MANIFEST_NOT_FOUND: 'manifest not found',
  CHUNK_NOT_FOUND: 'chunk not found',
  CHUNK_HASHES_NOT_FOUND: 'chunk hashes not found',
  RATE_LIMITED: 'request rate limit exceeded',
  DHT_RATE_LIMITED: 'dht request rate limit exceeded',
  FETCH_RATE_LIMITED: 'fetch request rate limit exceeded',
  RELAY_RATE_LIMITED: 'relay request rate limit exceeded',
  CHUNK_RATE_LIMITED: 'chunk request rate limit exceeded',
  UNSUPPORTED_MESSAGE_TYPE: 'unsupported message type',
  RELAY_SLOT_NOT_FOUND: 'relay slot not found',
  RELAY_SLOT_OWNER_MISMATCH: 'relay slot owner mismatch',
  COMMUNITY_ID_MISMATCH: 'community share_id does not match share_pubkey',
} as const;

export function unknownMessageTypeText(type: number): string {
  return `unknown message type ${type}`;
}

// ---------------------------------------------------------------------------------------------------------
// Requests: their answers and rate classes

export type RateClass = 'dht' | 'fetch' | 'relay' | 'chunk' | 'other';

export type RequestType =
  | typeof MessageType.PEX_OFFER
  | typeof MessageType.PEX_REQUEST
  | typeof MessageType.FIND_NODE
  | typeof MessageType.FIND_VALUE
  | typeof MessageType.STORE
  | typeof MessageType.GET_MANIFEST
  | typeof MessageType.LIST_PUBLIC_SHARES
  | typeof MessageType.GET_COMMUNITY_STATUS
  | typeof MessageType.LIST_COMMUNITY_PUBLIC_SHARES
  | typeof MessageType.RELAY_REGISTER
  | typeof MessageType.RELAY_CONNECT
  | typeof MessageType.RELAY_STREAM
  | typeof MessageType.RELAY_LIST_REQUEST
  | typeof MessageType.HAVE_CONTENT
  | typeof MessageType.GET_CHUNK
  | typeof MessageType.GET_CHUNK_HASHES
  // community extension
  | typeof X.COMMUNITY_MEMBERS_PAGE
  | typeof X.COMMUNITY_MEMBERS_DELTA
  | typeof X.COMMUNITY_MEMBER_ANNOUNCE
  // reachability extension
  | typeof RX.REACHABILITY_PROBE;

interface RequestInfo {
  /** The type number of a successful answer (several requests are answered under their own number). */
  readonly responseType: MessageType | RequestType;
  readonly rateClass: RateClass;
}

const T = MessageType;

export const REQUESTS: Readonly<Record<RequestType, RequestInfo>> = Object.freeze({
  [T.PEX_OFFER]: { responseType: T.PEX_OFFER, rateClass: 'other' },
  [T.PEX_REQUEST]: { responseType: T.PEX_OFFER, rateClass: 'other' },
  [T.FIND_NODE]: { responseType: T.FIND_NODE, rateClass: 'dht' },
  [T.FIND_VALUE]: { responseType: T.FIND_VALUE, rateClass: 'dht' },
  [T.STORE]: { responseType: T.STORE, rateClass: 'dht' },
  [T.GET_MANIFEST]: { responseType: T.MANIFEST_DATA, rateClass: 'fetch' },
  [T.LIST_PUBLIC_SHARES]: { responseType: T.PUBLIC_SHARE_LIST, rateClass: 'fetch' },
  [T.GET_COMMUNITY_STATUS]: { responseType: T.COMMUNITY_STATUS, rateClass: 'fetch' },
  [T.LIST_COMMUNITY_PUBLIC_SHARES]: { responseType: T.COMMUNITY_PUBLIC_SHARE_LIST, rateClass: 'fetch' },
  [T.RELAY_REGISTER]: { responseType: T.RELAY_REGISTERED, rateClass: 'relay' },
  [T.RELAY_CONNECT]: { responseType: T.RELAY_CONNECT, rateClass: 'relay' },
  [T.RELAY_STREAM]: { responseType: T.RELAY_STREAM, rateClass: 'relay' },
  [T.RELAY_LIST_REQUEST]: { responseType: T.RELAY_LIST_RESPONSE, rateClass: 'other' },
  [T.HAVE_CONTENT]: { responseType: T.HAVE_CONTENT, rateClass: 'other' },
  [T.GET_CHUNK]: { responseType: T.CHUNK_DATA, rateClass: 'chunk' },
  [T.GET_CHUNK_HASHES]: { responseType: T.CHUNK_HASH_LIST, rateClass: 'fetch' },
  // community extension
  [X.COMMUNITY_MEMBERS_PAGE]: { responseType: X.COMMUNITY_MEMBERS_PAGE, rateClass: 'fetch' },
  [X.COMMUNITY_MEMBERS_DELTA]: { responseType: X.COMMUNITY_MEMBERS_DELTA, rateClass: 'fetch' },
  [X.COMMUNITY_MEMBER_ANNOUNCE]: { responseType: X.COMMUNITY_MEMBER_ANNOUNCE, rateClass: 'fetch' },
  // reachability extension: a dial per request, so the scarce class
  [RX.REACHABILITY_PROBE]: { responseType: RX.REACHABILITY_PROBE, rateClass: 'other' },
});

/** Types that are only ever answers (or, for PROVIDERS, a DHT value); received as a request → error envelope. */
export const RESPONSE_ONLY_TYPES: ReadonlySet<number> = new Set<number>([
  T.MANIFEST_DATA,
  T.PUBLIC_SHARE_LIST,
  T.COMMUNITY_STATUS,
  T.COMMUNITY_PUBLIC_SHARE_LIST,
  T.RELAY_REGISTERED,
  T.RELAY_LIST_RESPONSE,
  T.PROVIDERS,
  T.CHUNK_DATA,
  T.CHUNK_HASH_LIST,
]);

export function isRequestType(type: number): type is RequestType {
  return Object.prototype.hasOwnProperty.call(REQUESTS, type);
}

export function responseTypeFor(requestType: RequestType): MessageType | RequestType {
  return REQUESTS[requestType].responseType;
}

/**
 * The rate class of an inbound type. Types that are not requests (response-only, unknown) count as "other":
 * they add to the total but are never rejected for their class.
 */
export function rateClassOf(type: number): RateClass {
  return isRequestType(type) ? REQUESTS[type].rateClass : 'other';
}

/** The reference's text for a request rejected by the limiter of `cls` ("other" means the total limit). */
export function rateLimitText(cls: RateClass): string {
  switch (cls) {
    case 'dht':
      return ErrorText.DHT_RATE_LIMITED;
    case 'fetch':
      return ErrorText.FETCH_RATE_LIMITED;
    case 'relay':
      return ErrorText.RELAY_RATE_LIMITED;
    case 'chunk':
      return ErrorText.CHUNK_RATE_LIMITED;
    default:
      return ErrorText.RATE_LIMITED;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Payload codecs

/** An empty-payload acknowledgement (STORE, PEX_OFFER, HAVE_CONTENT, RELAY_CONNECT answers). */
export type Ack = null;

/**
 * Acks are written empty. On decode any payload is accepted: the reference's clients never look inside an
 * ack, so rejecting a non-empty one would only make us stricter than the peers we talk to.
 */
export const ackCodec: MessageCodec<Ack> = {
  name: 'Ack',
  encode: () => new Uint8Array(0),
  decode: () => null,
};

export interface RequestPayloads {
  [T.PEX_OFFER]: PexOffer;
  [T.PEX_REQUEST]: PexRequest;
  [T.FIND_NODE]: FindNode;
  [T.FIND_VALUE]: FindValue;
  [T.STORE]: Store;
  [T.GET_MANIFEST]: GetManifest;
  [T.LIST_PUBLIC_SHARES]: ListPublicShares;
  [T.GET_COMMUNITY_STATUS]: GetCommunityStatus;
  [T.LIST_COMMUNITY_PUBLIC_SHARES]: ListCommunityPublicShares;
  [T.RELAY_REGISTER]: RelayRegister;
  [T.RELAY_CONNECT]: RelayConnect;
  [T.RELAY_STREAM]: RelayStream;
  [T.RELAY_LIST_REQUEST]: RelayListRequest;
  [T.HAVE_CONTENT]: HaveContent;
  [T.GET_CHUNK]: GetChunk;
  [T.GET_CHUNK_HASHES]: GetChunkHashes;
  [X.COMMUNITY_MEMBERS_PAGE]: CommunityMembersPage;
  [X.COMMUNITY_MEMBERS_DELTA]: CommunityMembersDelta;
  [X.COMMUNITY_MEMBER_ANNOUNCE]: CommunityMemberAnnounce;
  [RX.REACHABILITY_PROBE]: ReachabilityProbe;
}

/** Keyed by the request type they answer. */
export interface ResponsePayloads {
  [T.PEX_OFFER]: Ack;
  [T.PEX_REQUEST]: PexOffer;
  [T.FIND_NODE]: FindNodeResult;
  [T.FIND_VALUE]: FindValueResult;
  [T.STORE]: Ack;
  [T.GET_MANIFEST]: ManifestData;
  [T.LIST_PUBLIC_SHARES]: PublicShareList;
  [T.GET_COMMUNITY_STATUS]: CommunityStatus;
  [T.LIST_COMMUNITY_PUBLIC_SHARES]: CommunityPublicShareList;
  [T.RELAY_REGISTER]: RelayRegistered;
  [T.RELAY_CONNECT]: Ack;
  [T.RELAY_STREAM]: RelayStream;
  [T.RELAY_LIST_REQUEST]: RelayListResponse;
  [T.HAVE_CONTENT]: Ack;
  [T.GET_CHUNK]: ChunkData;
  [T.GET_CHUNK_HASHES]: ChunkHashList;
  [X.COMMUNITY_MEMBERS_PAGE]: CommunityMembersPageResult;
  [X.COMMUNITY_MEMBERS_DELTA]: CommunityMembersDeltaResult;
  [X.COMMUNITY_MEMBER_ANNOUNCE]: CommunityMemberAnnounceResult;
  [RX.REACHABILITY_PROBE]: ReachabilityResult;
}

export const REQUEST_CODECS: { readonly [K in RequestType]: MessageCodec<RequestPayloads[K]> } = Object.freeze({
  [T.PEX_OFFER]: pexOfferCodec,
  [T.PEX_REQUEST]: pexRequestCodec,
  [T.FIND_NODE]: findNodeCodec,
  [T.FIND_VALUE]: findValueCodec,
  [T.STORE]: storeCodec,
  [T.GET_MANIFEST]: getManifestCodec,
  [T.LIST_PUBLIC_SHARES]: listPublicSharesCodec,
  [T.GET_COMMUNITY_STATUS]: getCommunityStatusCodec,
  [T.LIST_COMMUNITY_PUBLIC_SHARES]: listCommunityPublicSharesCodec,
  [T.RELAY_REGISTER]: relayRegisterCodec,
  [T.RELAY_CONNECT]: relayConnectCodec,
  [T.RELAY_STREAM]: relayStreamCodec,
  [T.RELAY_LIST_REQUEST]: relayListRequestCodec,
  [T.HAVE_CONTENT]: haveContentCodec,
  [T.GET_CHUNK]: getChunkCodec,
  [T.GET_CHUNK_HASHES]: getChunkHashesCodec,
  [X.COMMUNITY_MEMBERS_PAGE]: communityMembersPageCodec,
  [X.COMMUNITY_MEMBERS_DELTA]: communityMembersDeltaCodec,
  [X.COMMUNITY_MEMBER_ANNOUNCE]: communityMemberAnnounceCodec,
  [RX.REACHABILITY_PROBE]: reachabilityProbeCodec,
});

export const RESPONSE_CODECS: { readonly [K in RequestType]: MessageCodec<ResponsePayloads[K]> } = Object.freeze({
  [T.PEX_OFFER]: ackCodec,
  [T.PEX_REQUEST]: pexOfferCodec,
  [T.FIND_NODE]: findNodeResultCodec,
  [T.FIND_VALUE]: findValueResultCodec,
  [T.STORE]: ackCodec,
  [T.GET_MANIFEST]: manifestDataCodec,
  [T.LIST_PUBLIC_SHARES]: publicShareListCodec,
  [T.GET_COMMUNITY_STATUS]: communityStatusCodec,
  [T.LIST_COMMUNITY_PUBLIC_SHARES]: communityPublicShareListCodec,
  [T.RELAY_REGISTER]: relayRegisteredCodec,
  [T.RELAY_CONNECT]: ackCodec,
  [T.RELAY_STREAM]: relayStreamCodec,
  [T.RELAY_LIST_REQUEST]: relayListResponseCodec,
  [T.HAVE_CONTENT]: ackCodec,
  [T.GET_CHUNK]: chunkDataCodec,
  [T.GET_CHUNK_HASHES]: chunkHashListCodec,
  [X.COMMUNITY_MEMBERS_PAGE]: communityMembersPageResultCodec,
  [X.COMMUNITY_MEMBERS_DELTA]: communityMembersDeltaResultCodec,
  [X.COMMUNITY_MEMBER_ANNOUNCE]: communityMemberAnnounceResultCodec,
  [RX.REACHABILITY_PROBE]: reachabilityResultCodec,
});

export type DecodedRequest = { [K in RequestType]: { type: K; payload: RequestPayloads[K] } }[RequestType];
export type DecodedResponse = { [K in RequestType]: { requestType: K; payload: ResponsePayloads[K] } }[RequestType];

/**
 * Decodes an inbound request payload by its envelope type. Every failure is a ProtocolError whose `wireText`
 * is what the reference answers with: "unknown message type N", "unsupported message type" for response-only
 * types, or the decode error for a malformed payload.
 */
export function decodeRequestPayload(type: number, payload: Uint8Array): DecodedRequest {
  if (!isRequestType(type)) {
    if (RESPONSE_ONLY_TYPES.has(type)) {
      throw new ProtocolError(`${messageTypeName(type)} is only sent as a response`, 'Envelope.type', ErrorText.UNSUPPORTED_MESSAGE_TYPE);
    }
    const text = unknownMessageTypeText(type);
    throw new ProtocolError(text, 'Envelope.type', text);
  }
  const codec = REQUEST_CODECS[type] as MessageCodec<unknown>;
  return { type, payload: decodeWithWireText(codec, payload) } as DecodedRequest;
}

/** Decodes the payload of a successful answer to a request of `requestType`. */
export function decodeResponsePayload<K extends RequestType>(requestType: K, payload: Uint8Array): ResponsePayloads[K] {
  if (!isRequestType(requestType)) {
    throw new ProtocolError(`${messageTypeName(requestType)} is not a request type`, 'Envelope.type');
  }
  return decodeWithWireText(RESPONSE_CODECS[requestType] as MessageCodec<ResponsePayloads[K]>, payload);
}

function decodeWithWireText<T>(codec: MessageCodec<T>, payload: Uint8Array): T {
  try {
    return guardDecode(codec.name, () => codec.decode(payload));
  } catch (e) {
    const pe = e as ProtocolError;
    // The reference answers a payload it cannot decode with the decoder's message; ours names the field.
    throw pe.wireText !== undefined ? pe : new ProtocolError(pe.message.slice(pe.where ? pe.where.length + 2 : 0), pe.where, pe.message);
  }
}

