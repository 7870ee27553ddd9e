import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import {
  ErrorText,
  REQUEST_CODECS,
  REQUESTS,
  RESPONSE_CODECS,
  RESPONSE_ONLY_TYPES,
  MessageType,
  decodeRequestPayload,
  decodeResponsePayload,
  isRequestType,
  rateClassOf,
  rateLimitText,
  responseTypeFor,
  unknownMessageTypeText,
  WIRE_CODECS,
} from '../../src/protocol/index.js';

function protocolError(f: () => unknown): ProtocolError {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  throw new Error('expected a ProtocolError');
}

describe('registry', () => {
  it('has exactly the numbers of PROTOCOL.md §3.1', () => {
    expect(MessageType).toEqual({
      PEX_OFFER: 100, PEX_REQUEST: 101, FIND_NODE: 200, FIND_VALUE: 201, STORE: 202,
      GET_MANIFEST: 400, MANIFEST_DATA: 401, LIST_PUBLIC_SHARES: 402, PUBLIC_SHARE_LIST: 403,
      GET_COMMUNITY_STATUS: 404, COMMUNITY_STATUS: 405, LIST_COMMUNITY_PUBLIC_SHARES: 406, COMMUNITY_PUBLIC_SHARE_LIST: 407,
      RELAY_REGISTER: 450, RELAY_REGISTERED: 451, RELAY_CONNECT: 452, RELAY_STREAM: 453,
      RELAY_LIST_REQUEST: 460, RELAY_LIST_RESPONSE: 461, PROVIDERS: 498, HAVE_CONTENT: 499,
      GET_CHUNK: 500, CHUNK_DATA: 501, GET_CHUNK_HASHES: 502, CHUNK_HASH_LIST: 503,
    });
  });

  it('every type is either a request or response-only', () => {
    for (const t of Object.values(MessageType)) expect(isRequestType(t) !== RESPONSE_ONLY_TYPES.has(t)).toBe(true);
    expect(Object.keys(REQUESTS).sort()).toEqual(Object.keys(REQUEST_CODECS).sort());
    expect(Object.keys(REQUESTS).sort()).toEqual(Object.keys(RESPONSE_CODECS).sort());
  });

  it('answers reuse the request number where the reference does', () => {
    const T = MessageType;
    expect(responseTypeFor(T.PEX_REQUEST)).toBe(T.PEX_OFFER);
    expect(responseTypeFor(T.PEX_OFFER)).toBe(T.PEX_OFFER);
    for (const t of [T.FIND_NODE, T.FIND_VALUE, T.STORE, T.RELAY_CONNECT, T.RELAY_STREAM, T.HAVE_CONTENT]) expect(responseTypeFor(t)).toBe(t);
    expect(responseTypeFor(T.GET_MANIFEST)).toBe(T.MANIFEST_DATA);
    expect(responseTypeFor(T.GET_CHUNK)).toBe(T.CHUNK_DATA);
    expect(responseTypeFor(T.GET_CHUNK_HASHES)).toBe(T.CHUNK_HASH_LIST);
    expect(responseTypeFor(T.RELAY_REGISTER)).toBe(T.RELAY_REGISTERED);
    expect(responseTypeFor(T.RELAY_LIST_REQUEST)).toBe(T.RELAY_LIST_RESPONSE);
  });

  it('rate classes (§14)', () => {
    const T = MessageType;
    expect([T.FIND_NODE, T.FIND_VALUE, T.STORE].map(rateClassOf)).toEqual(['dht', 'dht', 'dht']);
    expect([T.GET_MANIFEST, T.LIST_PUBLIC_SHARES, T.GET_COMMUNITY_STATUS, T.LIST_COMMUNITY_PUBLIC_SHARES, T.GET_CHUNK_HASHES].map(rateClassOf))
      .toEqual(['fetch', 'fetch', 'fetch', 'fetch', 'fetch']);
    expect(rateClassOf(T.GET_CHUNK)).toBe('chunk');
    expect([T.RELAY_REGISTER, T.RELAY_CONNECT, T.RELAY_STREAM].map(rateClassOf)).toEqual(['relay', 'relay', 'relay']);
    expect([T.PEX_OFFER, T.PEX_REQUEST, T.HAVE_CONTENT, T.RELAY_LIST_REQUEST, 999].map(rateClassOf)).toEqual(['other', 'other', 'other', 'other', 'other']);
    expect(rateLimitText('dht')).toBe('dht request rate limit exceeded');
    expect(rateLimitText('fetch')).toBe('fetch request rate limit exceeded');
    expect(rateLimitText('relay')).toBe('relay request rate limit exceeded');
    expect(rateLimitText('chunk')).toBe('chunk request rate limit exceeded');
    expect(rateLimitText('other')).toBe('request rate limit exceeded');
  });

  it('error texts', () => {
    expect(ErrorText.MANIFEST_NOT_FOUND).toBe('manifest not found');
    expect(ErrorText.CHUNK_NOT_FOUND).toBe('chunk not found');
    expect(ErrorText.CHUNK_HASHES_NOT_FOUND).toBe('chunk hashes not found');
    expect(ErrorText.UNSUPPORTED_MESSAGE_TYPE).toBe('unsupported message type');
    expect(unknownMessageTypeText(999)).toBe('unknown message type 999');
  });
});

describe('decodeRequestPayload', () => {
  it('decodes by type', () => {
    const payload = WIRE_CODECS.GetChunk.encode({ contentId: new Uint8Array(32).fill(1), chunkIndex: 5 });
    const d = decodeRequestPayload(500, payload);
    expect(d.type).toBe(500);
    if (d.type === MessageType.GET_CHUNK) expect(d.payload.chunkIndex).toBe(5);
  });

  it('unknown type → "unknown message type N"', () => {
    const e = protocolError(() => decodeRequestPayload(999, new Uint8Array(0)));
    expect(e.wireText).toBe('unknown message type 999');
  });

  it('response-only types → "unsupported message type"', () => {
    for (const t of RESPONSE_ONLY_TYPES) {
      expect(protocolError(() => decodeRequestPayload(t, new Uint8Array(0))).wireText).toBe('unsupported message type');
    }
  });

  it('a malformed payload → ProtocolError with a wire text naming the field', () => {
    const e = protocolError(() => decodeRequestPayload(MessageType.FIND_NODE, Uint8Array.of(0xa1, 0x00, 0x80)));
    expect(e.where).toBe('FindNode.0');
    expect(e.wireText).toMatch(/FindNode\.0.*expected bytes/);
    expect(protocolError(() => decodeRequestPayload(MessageType.PEX_REQUEST, new Uint8Array(0))).wireText).toBeTruthy();
  });

  it('response payloads decode by the request they answer', () => {
    expect(decodeResponsePayload(MessageType.STORE, new Uint8Array(0))).toBeNull();
    expect(decodeResponsePayload(MessageType.PEX_OFFER, new Uint8Array(0))).toBeNull();
    const offer = WIRE_CODECS.PexOffer.encode({ peers: [] });
    expect(decodeResponsePayload(MessageType.PEX_REQUEST, offer)).toEqual({ peers: [] });
  });
});
