/**
 * The envelope every request and response travels in (PROTOCOL.md §2.2): a string-keyed map with exactly
 * `type`, `req_id`, `flags`, `payload` in that order. The payload is a CBOR byte string holding the message
 * body, or UTF-8 error text when the ERROR flag is set.
 *
 * Envelopes carry 256 KiB chunks, so both directions avoid copies: encoding sizes the output exactly and
 * copies the payload once (straight into a frame with `encodeEnvelopeFrame`); decoding returns the payload
 * as a subarray of the input.
 */
import { ScpError } from '../errors.js';
import { CborMap, decodeCbor } from './cbor.js';
import { anyBytes, fail, req, u16, u32 } from './cbor-fields.js';
import { guardDecode, bytesIn, headSize, putHead, putRaw, uintIn } from './message-codec.js';
import { MAX_ENVELOPE_FRAME_BYTES, MAX_ENVELOPE_PAYLOAD_BYTES } from './limits.js';
import { writeFramePrefix } from './frame.js';

export interface Envelope {
  /** Message type number (u16), see `MessageType`. */
  type: number;
  /** Request id (u32) chosen by the requester and echoed in the response. */
  reqId: number;
  /** Bit field (u16): FLAG_RESPONSE, FLAG_ERROR. */
  flags: number;
  payload: Uint8Array;
}

export const FLAG_RESPONSE = 0x0001;
export const FLAG_ERROR = 0x0002;
/** What the reference puts on every error envelope. */
export const FLAGS_ERROR_RESPONSE = FLAG_RESPONSE | FLAG_ERROR;

const ASCII = new TextEncoder();
const KEY_TYPE = ASCII.encode('\x64type');
const KEY_REQ_ID = ASCII.encode('\x66req_id');
const KEY_FLAGS = ASCII.encode('\x65flags');
const KEY_PAYLOAD = ASCII.encode('\x67payload');

function checkEnvelope(env: Envelope): void {
  if (env === null || typeof env !== 'object') throw ScpError.badInput('envelope must be an object');
  uintIn(env.type, 16, 'Envelope.type');
  uintIn(env.reqId, 32, 'Envelope.reqId');
  uintIn(env.flags, 16, 'Envelope.flags');
  bytesIn(env.payload, 'Envelope.payload', undefined, MAX_ENVELOPE_PAYLOAD_BYTES);
}

/** Size of the encoded envelope map. */
export function envelopeSize(env: Envelope): number {
  return (
    1 +
    KEY_TYPE.length + headSize(env.type) +
    KEY_REQ_ID.length + headSize(env.reqId) +
    KEY_FLAGS.length + headSize(env.flags) +
    KEY_PAYLOAD.length + headSize(env.payload.length) + env.payload.length
  );
}

/** Writes everything of the envelope up to (not including) the payload bytes; returns the end position. */
function writeEnvelopeHead(out: Uint8Array, pos: number, env: Envelope): number {
  out[pos++] = 0xa4;
  pos = putRaw(out, pos, KEY_TYPE);
  pos = putHead(out, pos, 0, env.type);
  pos = putRaw(out, pos, KEY_REQ_ID);
  pos = putHead(out, pos, 0, env.reqId);
  pos = putRaw(out, pos, KEY_FLAGS);
  pos = putHead(out, pos, 0, env.flags);
  pos = putRaw(out, pos, KEY_PAYLOAD);
  return putHead(out, pos, 2, env.payload.length);
}

function writeEnvelope(out: Uint8Array, pos: number, env: Envelope): number {
  pos = writeEnvelopeHead(out, pos, env);
  out.set(env.payload, pos);
  return pos + env.payload.length;
}

export function encodeEnvelope(env: Envelope): Uint8Array {
  checkEnvelope(env);
  const out = new Uint8Array(envelopeSize(env));
  writeEnvelope(out, 0, env);
  return out;
}

/** Length prefix + envelope in one allocation: what goes on the stream, with a single copy of the payload. */
export function encodeEnvelopeFrame(env: Envelope): Uint8Array {
  checkEnvelope(env);
  const n = envelopeSize(env);
  const out = new Uint8Array(4 + n);
  writeFramePrefix(out, n);
  writeEnvelope(out, 4, env);
  return out;
}

/**
 * Length prefix + envelope up to its payload bytes: followed on the stream by `env.payload` itself, this is
 * exactly `encodeEnvelopeFrame(env)` without copying the payload (for large payloads written as two pieces).
 */
export function encodeEnvelopeFrameHead(env: Envelope): Uint8Array {
  checkEnvelope(env);
  const n = envelopeSize(env);
  const out = new Uint8Array(4 + n - env.payload.length);
  writeFramePrefix(out, n);
  writeEnvelopeHead(out, 4, env);
  return out;
}

/**
 * Decodes one envelope (a frame body). Keys may come in any order and unknown keys are ignored, as in the
 * reference. The payload is a zero-copy view of `bytes` when it is a definite-length byte string.
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  return guardDecode('Envelope', () => {
    if (bytes.length > MAX_ENVELOPE_FRAME_BYTES) fail('Envelope', `envelope of ${bytes.length} bytes exceeds ${MAX_ENVELOPE_FRAME_BYTES}`);
    const v = decodeCbor(bytes, 'Envelope');
    if (!(v instanceof CborMap)) return fail('Envelope', 'expected a map');
    const payload = req(v, 'payload', 'Envelope');
    if (payload instanceof Uint8Array && payload.length > MAX_ENVELOPE_PAYLOAD_BYTES) {
      fail('Envelope.payload', `payload of ${payload.length} bytes exceeds ${MAX_ENVELOPE_PAYLOAD_BYTES}`);
    }
    return {
      type: u16(req(v, 'type', 'Envelope'), 'Envelope.type'),
      reqId: u32(req(v, 'req_id', 'Envelope'), 'Envelope.req_id'),
      flags: u16(req(v, 'flags', 'Envelope'), 'Envelope.flags'),
      // The reference also accepts an int array for a byte-string field (§1.4).
      payload: anyBytes(payload, 'Envelope.payload', MAX_ENVELOPE_PAYLOAD_BYTES),
    };
  });
}

export const envelopeCodec = { name: 'Envelope', encode: encodeEnvelope, decode: decodeEnvelope } as const;

// ---------------------------------------------------------------------------------------------------------
// Building and reading responses

/** A successful response: the request's req_id, flags RESPONSE. `type` is the registry's response type. */
export function responseEnvelope(type: number, reqId: number, payload: Uint8Array = new Uint8Array(0)): Envelope {
  return { type, reqId, flags: FLAG_RESPONSE, payload };
}

/** The reference's error reply: the *request's* type number, same req_id, flags 3, raw UTF-8 text. */
export function errorEnvelope(reqType: number, reqId: number, text: string): Envelope {
  return { type: reqType, reqId, flags: FLAGS_ERROR_RESPONSE, payload: ASCII.encode(text) };
}

export function isResponse(env: Envelope): boolean {
  return (env.flags & FLAG_RESPONSE) !== 0;
}

export function isError(env: Envelope): boolean {
  return (env.flags & FLAG_ERROR) !== 0;
}

const LOSSY_UTF8 = new TextDecoder('utf-8');

/** The error text of an error envelope (invalid UTF-8 is replaced, as the reference's client does lossily). */
export function errorText(env: Envelope): string {
  return LOSSY_UTF8.decode(env.payload);
}

