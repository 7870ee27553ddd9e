/**
 * Structure-aware mutations of wire bytes, driven by a seeded Random so a campaign replays exactly from its
 * seed. Three layers, because a decoder rejects most blind garbage at its first byte: `mutateCbor` damages a
 * CBOR body the way a hostile encoder would (bit flips, truncation, type confusion, huge or indefinite counts,
 * splices), `mutateEnvelope` keeps a valid envelope around a damaged or foreign payload (so the payload
 * decoders behind routing are reached), and `mutateFrame` lies in the 4-byte length prefix itself.
 */
import type { Random } from '../../src/actors/runtime/random.js';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../../src/protocol/envelope.js';
import { MessageType } from '../../src/protocol/registry.js';
import { CommunityExtMessageType } from '../../src/protocol/community-ext.js';

/** Head bytes a CBOR decoder treats specially: boundaries of each additional-info width, indefinite, break. */
const INTERESTING_BYTES = [0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x3f, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xd8, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfa, 0xfb, 0xff];

/** Every type number a peer could name: the registry's, the extension's, and their neighbours. */
export const KNOWN_TYPES: readonly number[] = [...new Set([...Object.values(MessageType), ...Object.values(CommunityExtMessageType)])].sort((a, b) => a - b);

export type MutationName =
  | 'bit-flip'
  | 'interesting-byte'
  | 'truncate'
  | 'extend'
  | 'type-confusion'
  | 'huge-count'
  | 'indefinite'
  | 'splice'
  | 'duplicate-range'
  | 'delete-range'
  | 'random-bytes';

const CBOR_MUTATIONS: readonly MutationName[] = [
  'bit-flip',
  'interesting-byte',
  'truncate',
  'extend',
  'type-confusion',
  'huge-count',
  'indefinite',
  'splice',
  'duplicate-range',
  'delete-range',
  'random-bytes',
];

function randomBytes(r: Random, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r.int(256);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A position that holds a CBOR head of a sized item (bytes, text, array, map), or any position. */
function pickHead(r: Random, b: Uint8Array): number {
  for (let tries = 0; tries < 8; tries++) {
    const i = r.int(b.length);
    const major = b[i]! >> 5;
    if (major >= 2 && major <= 5) return i;
  }
  return r.int(b.length);
}

/** One named mutation of `b` (never returns `b` itself). `donor` is other valid bytes to splice from. */
export function mutateCbor(r: Random, b: Uint8Array, donor: Uint8Array, name: MutationName = CBOR_MUTATIONS[r.int(CBOR_MUTATIONS.length)]!): Uint8Array {
  if (b.length === 0) return randomBytes(r, 1 + r.int(16));
  const c = b.slice();
  switch (name) {
    case 'bit-flip': {
      const flips = 1 + r.int(4);
      for (let k = 0; k < flips; k++) {
        const i = r.int(c.length);
        c[i] = c[i]! ^ (1 << r.int(8));
      }
      return c;
    }
    case 'interesting-byte':
      c[r.int(c.length)] = INTERESTING_BYTES[r.int(INTERESTING_BYTES.length)]!;
      return c;
    case 'truncate':
      return c.subarray(0, r.int(c.length));
    case 'extend':
      return concat(c, randomBytes(r, 1 + r.int(32)));
    case 'type-confusion': {
      // Same additional info under another major type: an id array read as a map, a text as bytes, an int as a tag...
      const i = r.int(c.length);
      c[i] = (c[i]! & 0x1f) | (r.int(8) << 5);
      return c;
    }
    case 'huge-count': {
      // A sized item claiming 2^32-1 or 2^64-1 elements/bytes: the decoder must refuse before allocating.
      const i = pickHead(r, c);
      const major = (c[i]! >> 5) & 7;
      const wide = r.int(2) === 0;
      const head = wide ? Uint8Array.from([(major << 5) | 27, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) : Uint8Array.from([(major << 5) | 26, 0xff, 0xff, 0xff, r.int(256)]);
      return concat(c.subarray(0, i), head, c.subarray(i + 1));
    }
    case 'indefinite': {
      const i = pickHead(r, c);
      c[i] = (c[i]! & 0xe0) | 31;
      return c;
    }
    case 'splice': {
      if (donor.length === 0) return concat(c, randomBytes(r, 4));
      const at = r.int(c.length + 1);
      const from = r.int(donor.length);
      const len = 1 + r.int(Math.min(64, donor.length - from));
      return concat(c.subarray(0, at), donor.subarray(from, from + len), c.subarray(at + r.int(len + 1)));
    }
    case 'duplicate-range': {
      const from = r.int(c.length);
      const len = 1 + r.int(Math.min(48, c.length - from));
      const times = 1 + r.int(8);
      const rep = concat(...Array.from({ length: times }, () => c.subarray(from, from + len)));
      return concat(c.subarray(0, from), rep, c.subarray(from));
    }
    case 'delete-range': {
      const from = r.int(c.length);
      return concat(c.subarray(0, from), c.subarray(from + 1 + r.int(Math.min(32, c.length - from))));
    }
    case 'random-bytes':
      return randomBytes(r, r.int(96));
  }
}

/** Applies 1..3 stacked CBOR mutations. */
export function mutateBytes(r: Random, b: Uint8Array, donor: Uint8Array): Uint8Array {
  let out = b;
  const n = 1 + r.int(3);
  for (let k = 0; k < n; k++) out = mutateCbor(r, out, donor);
  return out;
}

/**
 * A valid envelope around a damaged payload, a payload of another message type (type confusion at the
 * message level), or damaged header fields (flags, req_id, type).
 */
export function mutateEnvelope(r: Random, env: Envelope, donor: Envelope): Envelope {
  switch (r.int(6)) {
    case 0:
    case 1:
    case 2:
      return { ...env, payload: mutateBytes(r, env.payload, donor.payload) };
    case 3:
      // Another type's payload under this type number (or this payload under another number).
      return r.int(2) === 0 ? { ...env, payload: donor.payload } : { ...env, type: KNOWN_TYPES[r.int(KNOWN_TYPES.length)]! };
    case 4: {
      // Mostly request flags (a set RESPONSE bit with nothing outstanding ends the connection: kept rare).
      const flags = r.int(16) === 0 ? r.int(0x10000) : r.int(0x10000) & ~1;
      return { ...env, flags, reqId: r.int(2) === 0 ? env.reqId : r.int(0x1_0000_0000) };
    }
    default:
      return { ...env, type: r.int(2) === 0 ? r.int(0x10000) : KNOWN_TYPES[r.int(KNOWN_TYPES.length)]! + (r.int(3) - 1) };
  }
}

export function prefixed(body: Uint8Array, claimed = body.length): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, claimed >>> 0);
  out.set(body, 4);
  return out;
}

/** Length-prefix lies and raw damage on a whole frame: shorter, longer, at and past the 2 MiB cap, 2^32-1. */
export function mutateFrame(r: Random, body: Uint8Array, donor: Uint8Array): Uint8Array {
  switch (r.int(5)) {
    case 0: {
      const lies = [0, 1, body.length - 1, body.length + 1, body.length + 1 + r.int(4096), 2 * 1024 * 1024, 2 * 1024 * 1024 + 1, 0xffff_ffff, 0x8000_0000];
      return prefixed(body, Math.max(0, lies[r.int(lies.length)]!));
    }
    case 1:
      return prefixed(mutateBytes(r, body, donor));
    case 2:
      return mutateCbor(r, prefixed(body), donor);
    case 3:
      return prefixed(body).subarray(0, r.int(body.length + 4));
    default:
      return prefixed(randomBytes(r, r.int(128)));
  }
}

/** The envelope in `body`, or undefined when it does not decode. */
export function tryEnvelope(body: Uint8Array): Envelope | undefined {
  try {
    return decodeEnvelope(body);
  } catch {
    return undefined;
  }
}

export { encodeEnvelope };
