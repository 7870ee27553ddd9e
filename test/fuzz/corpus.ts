/**
 * The seed corpus the mutators start from: every request envelope and payload in the conformance vectors
 * (vectors/*.json, including the reference transcript), envelopes generated from the fast-check arbitraries
 * of every request codec (test/protocol/wire-arbitraries.ts), requests that name the real data behind the
 * in-process owners (our manifest id, our content id: they reach the deep paths), and traffic recorded from a
 * real exchange between two connection cores (handshake frames, PEX, DHT, manifest and chunk requests).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ConnectionCore } from '../../src/actors/session/connection-core.js';
import { fromHex } from '../../src/protocol/bytes.js';
import { encodeEnvelope, type Envelope } from '../../src/protocol/envelope.js';
import { findNodeCodec, findValueCodec, storeCodec } from '../../src/protocol/dht-messages.js';
import { MessageType, REQUEST_CODECS, isRequestType } from '../../src/protocol/registry.js';
import { NO_CAPABILITIES } from '../../src/protocol/peer-addr.js';
import { pexOfferCodec, pexRequestCodec } from '../../src/protocol/pex.js';
import { getChunkCodec, getChunkHashesCodec, getManifestCodec, haveContentCodec } from '../../src/protocol/transfer-messages.js';
import { listPublicSharesCodec } from '../../src/protocol/share-messages.js';
import { relayConnectCodec, relayListRequestCodec, relayRegisterCodec, relayStreamCodec } from '../../src/protocol/relay-messages.js';
import { MESSAGE_ARBS } from '../protocol/wire-arbitraries.js';
import { seededBytes } from '../actors/session/pair.js';
import { tryEnvelope } from './mutate.js';
import type { RealData } from './owners.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const vectors = (name: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(root, 'vectors', name), 'utf8')) as Record<string, unknown>;

/** Codec name (wire-codecs.ts) → the request type it is the payload of. */
const REQUEST_CODEC_TYPES: Record<string, number> = {
  PexOffer: MessageType.PEX_OFFER,
  PexRequest: MessageType.PEX_REQUEST,
  FindNode: MessageType.FIND_NODE,
  FindValue: MessageType.FIND_VALUE,
  Store: MessageType.STORE,
  GetManifest: MessageType.GET_MANIFEST,
  ListPublicShares: MessageType.LIST_PUBLIC_SHARES,
  GetCommunityStatus: MessageType.GET_COMMUNITY_STATUS,
  ListCommunityPublicShares: MessageType.LIST_COMMUNITY_PUBLIC_SHARES,
  RelayRegister: MessageType.RELAY_REGISTER,
  RelayConnect: MessageType.RELAY_CONNECT,
  RelayStream: MessageType.RELAY_STREAM,
  RelayListRequest: MessageType.RELAY_LIST_REQUEST,
  HaveContent: MessageType.HAVE_CONTENT,
  GetChunk: MessageType.GET_CHUNK,
  GetChunkHashes: MessageType.GET_CHUNK_HASHES,
};

export interface Corpus {
  /** Request envelopes (flags 0) to mutate. */
  envelopes: Envelope[];
  /** Handshake frame bodies recorded from a real handshake, by step. */
  handshake: { clientHello: Uint8Array[]; serverHello: Uint8Array[]; clientAck: Uint8Array[] };
  /** Every frame body recorded from the real exchange (both directions). */
  recorded: Uint8Array[];
}

function env(type: number, payload: Uint8Array, reqId = 1): Envelope {
  return { type, reqId, flags: 0, payload };
}

function fromVectors(): Envelope[] {
  const out: Envelope[] = [];
  const wire = vectors('wire-reference.json') as { envelopes: Record<string, { hex: string }>; payloads: Record<string, { hex: string }> };
  for (const v of Object.values(wire.envelopes)) {
    const e = tryEnvelope(fromHex(v.hex));
    if (e && (e.flags & 1) === 0) out.push(e);
  }
  for (const [name, v] of Object.entries(wire.payloads)) {
    const t = REQUEST_CODEC_TYPES[name];
    if (t !== undefined) out.push(env(t, fromHex(v.hex)));
  }
  const msgs = (vectors('messages.json') as { messages: Record<string, { codec: string; hex: string }> }).messages;
  for (const v of Object.values(msgs)) {
    const t = REQUEST_CODEC_TYPES[v.codec];
    if (t !== undefined) out.push(env(t, fromHex(v.hex)));
    if (v.codec === 'Envelope') {
      const e = tryEnvelope(fromHex(v.hex));
      if (e) out.push({ ...e, flags: 0 });
    }
  }
  const transcript = vectors('transcript.json') as { envelopes?: unknown };
  for (const hex of hexStrings(transcript.envelopes)) {
    const b = fromHex(hex);
    const e = tryEnvelope(b.length > 4 && (b[0]! | b[1]!) === 0 ? b.subarray(4) : b) ?? tryEnvelope(b);
    if (e) out.push({ ...e, flags: 0 });
  }
  return out;
}

function hexStrings(v: unknown): string[] {
  if (typeof v === 'string') return /^([0-9a-f]{2})+$/.test(v) ? [v] : [];
  if (Array.isArray(v)) return v.flatMap(hexStrings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(hexStrings);
  return [];
}

function fromArbitraries(perCodec: number, seed: number): Envelope[] {
  const out: Envelope[] = [];
  for (const [name, t] of Object.entries(REQUEST_CODEC_TYPES)) {
    const arb = MESSAGE_ARBS[name];
    if (!arb || !isRequestType(t)) continue;
    const codec = REQUEST_CODECS[t] as { encode(v: unknown): Uint8Array };
    for (const v of fc.sample(arb, { numRuns: perCodec, seed: seed + t })) {
      try {
        out.push(env(t, codec.encode(v), 1 + (out.length % 1000)));
      } catch {
        // a sample the encoder refuses (over a limit) is no seed
      }
    }
  }
  return out;
}

/** What the corpus aims at: the ids of real data behind the target (in process, or a live node's publication). */
export type AimData = Pick<RealData, 'manifestId' | 'contentId' | 'shareId'> & { manifestBytes?: Uint8Array };

/** Requests that hit the target's real data, so mutations start one step from a successful answer. */
function aimedAt(d: AimData): Envelope[] {
  const T = MessageType;
  return [
    env(T.GET_MANIFEST, getManifestCodec.encode({ manifestId: d.manifestId })),
    env(T.GET_CHUNK, getChunkCodec.encode({ contentId: d.contentId, chunkIndex: 0 })),
    env(T.GET_CHUNK, getChunkCodec.encode({ contentId: d.contentId, chunkIndex: 3 })),
    env(T.GET_CHUNK_HASHES, getChunkHashesCodec.encode({ contentId: d.contentId })),
    env(T.HAVE_CONTENT, haveContentCodec.encode({ contentId: d.contentId })),
    env(T.LIST_PUBLIC_SHARES, listPublicSharesCodec.encode({ maxEntries: 10 })),
    env(T.FIND_NODE, findNodeCodec.encode({ targetNodeId: d.shareId.subarray(0, 20) })),
    env(T.FIND_VALUE, findValueCodec.encode({ key: d.shareId })),
    env(T.STORE, storeCodec.encode({ key: d.shareId, value: (d.manifestBytes ?? d.shareId).subarray(0, 200), ttlSecs: 3600n })),
    env(T.PEX_REQUEST, pexRequestCodec.encode({ maxPeers: 64 })),
    env(T.PEX_OFFER, pexOfferCodec.encode({ peers: [{ ip: '198.51.100.4', port: 7000, transport: 'tcp', pubkeyHint: null }] })),
    env(T.RELAY_REGISTER, relayRegisterCodec.encode({ relaySlotId: null, tunnel: false })),
    env(T.RELAY_CONNECT, relayConnectCodec.encode({ relaySlotId: 1n })),
    env(T.RELAY_STREAM, relayStreamCodec.encode({ relaySlotId: 1n, streamId: 1, kind: 'content', payload: new Uint8Array(8) })),
    env(T.RELAY_LIST_REQUEST, relayListRequestCodec.encode({ maxCount: 8 })),
  ];
}

/** Frame bodies of a real exchange between two cores: the handshake, then requests and their answers. */
function recordExchange(d: AimData): Corpus['handshake'] & { recorded: Uint8Array[] } {
  const a = recordingCore('initiator');
  const b = recordingCore('responder');
  const wires: Uint8Array[][] = [[], []];
  const now = RECORD_T0;
  b.start(now);
  a.start(now);
  const shuttle = (): void => {
    for (let moved = true; moved; ) {
      moved = false;
      for (const [i, from, to] of [[0, a, b], [1, b, a]] as const) {
        for (let t = from.pollTransmit(); t; t = from.pollTransmit()) {
          wires[i]!.push(t);
          to.handle({ kind: 'bytes', data: t }, now);
          moved = true;
        }
        for (let e = from.pollEffect(); e; e = from.pollEffect()) {
          if (e.kind === 'inbound-request') from.respond(e.id, { payload: new Uint8Array(0) }, now);
        }
      }
    }
  };
  shuttle();
  for (const e of aimedAt(d)) a.request({ type: e.type, payload: e.payload }, now);
  shuttle();
  const bodies = (chunks: Uint8Array[]): Uint8Array[] => chunks.filter((c) => c.length >= 4).map((c) => c.subarray(4));
  const [aw, bw] = [bodies(wires[0]!), bodies(wires[1]!)];
  return { clientHello: aw.slice(0, 1), clientAck: aw.slice(1, 2), serverHello: bw.slice(0, 1), recorded: [...aw.slice(2), ...bw.slice(1)] };
}

/** The recorded handshake is deterministic, so a core built the same way accepts the recorded peer messages. */
export const RECORD_T0 = 1_700_000_000_000;

export function recordingCore(role: 'initiator' | 'responder'): ConnectionCore {
  return role === 'initiator'
    ? new ConnectionCore({ randomBytes: seededBytes(11) }, { role, nodeSeed: new Uint8Array(32).fill(1), capabilities: NO_CAPABILITIES })
    : new ConnectionCore({ randomBytes: seededBytes(12) }, { role, nodeSeed: new Uint8Array(32).fill(2), capabilities: { ...NO_CAPABILITIES, dht: true }, responderRequests: 'always' });
}

export function buildCorpus(d: AimData, seed = 1): Corpus {
  const rec = recordExchange(d);
  const recordedEnvelopes = rec.recorded.map(tryEnvelope).filter((e): e is Envelope => e !== undefined && (e.flags & 1) === 0);
  const envelopes = [...fromVectors(), ...fromArbitraries(24, seed), ...aimedAt(d), ...aimedAt(d), ...recordedEnvelopes];
  return { envelopes, handshake: { clientHello: rec.clientHello, serverHello: rec.serverHello, clientAck: rec.clientAck }, recorded: rec.recorded };
}

export { encodeEnvelope };
