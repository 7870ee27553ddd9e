/**
 * Who answers an inbound request, as data: message type → owning actor. PEX is the session's own; every
 * other request goes to the actor that owns its state over a direct port. Response-only and unknown types are
 * answered here with the reference's error envelope (flags 3, the request's type number, UTF-8 text).
 */
import type { ActorName } from '../../messages/actor-name.js';
import {
  ErrorText,
  MessageType,
  RESPONSE_ONLY_TYPES,
  isRequestType,
  rateClassOf,
  responseTypeFor,
  unknownMessageTypeText,
  type RateClass,
  type RequestType,
} from '../../protocol/registry.js';
import { CommunityExtMessageType as X } from '../../protocol/community-ext.js';
import { ReachabilityExtMessageType as RX } from '../../protocol/reachability-ext.js';

export type RequestOwner = Extract<ActorName, 'session' | 'dht' | 'index' | 'fetcher' | 'relay'>;

const T = MessageType;

/** The routing table. Every request type of the registry appears exactly once (checked by a test). */
export const REQUEST_ROUTES: Readonly<Record<RequestType, RequestOwner>> = Object.freeze({
  [T.PEX_OFFER]: 'session',
  [T.PEX_REQUEST]: 'session',
  [T.FIND_NODE]: 'dht',
  [T.FIND_VALUE]: 'dht',
  [T.STORE]: 'dht',
  [T.GET_MANIFEST]: 'index',
  [T.LIST_PUBLIC_SHARES]: 'index',
  [T.GET_COMMUNITY_STATUS]: 'index',
  [T.LIST_COMMUNITY_PUBLIC_SHARES]: 'index',
  [T.RELAY_REGISTER]: 'relay',
  [T.RELAY_CONNECT]: 'relay',
  [T.RELAY_STREAM]: 'relay',
  [T.RELAY_LIST_REQUEST]: 'relay',
  [T.HAVE_CONTENT]: 'fetcher',
  [T.GET_CHUNK]: 'fetcher',
  [T.GET_CHUNK_HASHES]: 'fetcher',
  // community extension (docs/COMMUNITIES.md)
  [X.COMMUNITY_MEMBERS_PAGE]: 'index',
  [X.COMMUNITY_MEMBERS_DELTA]: 'index',
  [X.COMMUNITY_MEMBER_ANNOUNCE]: 'index',
  // dial-back reachability check (src/protocol/reachability-ext.ts): the session dials
  [RX.REACHABILITY_PROBE]: 'session',
});

export type Route =
  | { kind: 'actor'; owner: RequestOwner; type: RequestType; responseType: number; rateClass: RateClass }
  | { kind: 'refuse'; type: number; wireText: string; rateClass: RateClass };

/** Where an inbound request of `type` goes, or the error text it is refused with. */
export function routeRequest(type: number): Route {
  if (isRequestType(type)) {
    return { kind: 'actor', owner: REQUEST_ROUTES[type], type, responseType: responseTypeFor(type), rateClass: rateClassOf(type) };
  }
  if (RESPONSE_ONLY_TYPES.has(type)) return { kind: 'refuse', type, wireText: ErrorText.UNSUPPORTED_MESSAGE_TYPE, rateClass: 'other' };
  return { kind: 'refuse', type, wireText: unknownMessageTypeText(type), rateClass: 'other' };
}
