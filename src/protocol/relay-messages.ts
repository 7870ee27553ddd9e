/**
 * Relay messages (PROTOCOL.md §3.2, §9): slot registration, connect, the RELAY_STREAM that carries a whole
 * inner envelope through a relay tunnel, and Relay-PEX (RELAY_LIST_REQUEST / RELAY_LIST_RESPONSE).
 *
 * Slot ids are random full-range u64, so they are bigint (0x8000000000000001 encodes as `1b8000000000000001`).
 */
import { ScpError } from '../errors.js';
import { anyBytes, asMap, bool, list, oneOf, opt, req, u16, u32, u64 } from './cbor-fields.js';
import { defineMessageCodec, bytesIn, listIn, u64In, uintIn } from './message-codec.js';
import { decodeRelayAnnouncementValue, writeRelayAnnouncement, type RelayAnnouncement } from './relay-announcement.js';
import { MAX_ENVELOPE_PAYLOAD_BYTES, MAX_RELAY_ANNOUNCEMENTS } from './limits.js';

export type RelayPayloadKind = 'control' | 'content';
export const RELAY_PAYLOAD_KINDS: readonly RelayPayloadKind[] = ['control', 'content'];

export interface RelayRegister {
  /** null asks for a new slot; an existing id renews it (keep-alive). Written as null, never omitted. */
  relaySlotId: bigint | null;
  /** Turn this connection into a tunnel the relay forwards requests over (§9.3). */
  tunnel: boolean;
}

export interface RelayRegistered {
  relaySlotId: bigint;
  expiresAt: bigint;
}

export interface RelayConnect {
  relaySlotId: bigint;
}

export interface RelayStream {
  relaySlotId: bigint;
  streamId: number;
  kind: RelayPayloadKind;
  /** In tunnel mode: the complete CBOR of the inner request (or response) envelope. */
  payload: Uint8Array;
}

export interface RelayListRequest {
  maxCount: number;
}

export interface RelayListResponse {
  announcements: RelayAnnouncement[];
}

function kindIn(k: unknown): RelayPayloadKind {
  if (k !== 'control' && k !== 'content') throw ScpError.badInput('RelayStream.kind must be "control" or "content"');
  return k;
}

export const relayRegisterCodec = defineMessageCodec<RelayRegister>(
  'RelayRegister',
  (w, v) => {
    w.map(2).text('relay_slot_id');
    if (v.relaySlotId === null || v.relaySlotId === undefined) w.null();
    else w.uint(u64In(v.relaySlotId, 'RelayRegister.relaySlotId'));
    w.text('tunnel').bool(v.tunnel === true);
  },
  (v, where) => {
    const m = asMap(v, where);
    const slot = opt(m, 'relay_slot_id');
    const tunnel = opt(m, 'tunnel');
    // Both fields have serde defaults: `{}` is a valid "new slot, no tunnel" request.
    return {
      relaySlotId: slot === undefined ? null : u64(slot, `${where}.relay_slot_id`),
      tunnel: tunnel === undefined ? false : bool(tunnel, `${where}.tunnel`),
    };
  },
  48,
);

export const relayRegisteredCodec = defineMessageCodec<RelayRegistered>(
  'RelayRegistered',
  (w, v) => {
    w.map(2)
      .text('relay_slot_id').uint(u64In(v.relaySlotId, 'RelayRegistered.relaySlotId'))
      .text('expires_at').uint(u64In(v.expiresAt, 'RelayRegistered.expiresAt'));
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      relaySlotId: u64(req(m, 'relay_slot_id', where), `${where}.relay_slot_id`),
      expiresAt: u64(req(m, 'expires_at', where), `${where}.expires_at`),
    };
  },
  64,
);

export const relayConnectCodec = defineMessageCodec<RelayConnect>(
  'RelayConnect',
  (w, v) => {
    w.map(1).text('relay_slot_id').uint(u64In(v.relaySlotId, 'RelayConnect.relaySlotId'));
  },
  (v, where) => {
    const m = asMap(v, where);
    return { relaySlotId: u64(req(m, 'relay_slot_id', where), `${where}.relay_slot_id`) };
  },
  32,
);

export const relayStreamCodec = defineMessageCodec<RelayStream>(
  'RelayStream',
  (w, v) => {
    const payload = bytesIn(v.payload, 'RelayStream.payload', undefined, MAX_ENVELOPE_PAYLOAD_BYTES);
    w.map(4)
      .text('relay_slot_id').uint(u64In(v.relaySlotId, 'RelayStream.relaySlotId'))
      .text('stream_id').uint(uintIn(v.streamId, 32, 'RelayStream.streamId'))
      .text('kind').text(kindIn(v.kind))
      .text('payload').bytes(payload);
  },
  (v, where) => {
    const m = asMap(v, where);
    const kind = opt(m, 'kind');
    return {
      relaySlotId: u64(req(m, 'relay_slot_id', where), `${where}.relay_slot_id`),
      streamId: u32(req(m, 'stream_id', where), `${where}.stream_id`),
      // serde default: a missing kind is "control".
      kind: kind === undefined ? 'control' : oneOf(kind, RELAY_PAYLOAD_KINDS, `${where}.kind`),
      payload: anyBytes(req(m, 'payload', where), `${where}.payload`, MAX_ENVELOPE_PAYLOAD_BYTES),
    };
  },
  1024,
);

export const relayListRequestCodec = defineMessageCodec<RelayListRequest>(
  'RelayListRequest',
  (w, v) => {
    w.map(1).text('max_count').uint(uintIn(v.maxCount, 16, 'RelayListRequest.maxCount'));
  },
  (v, where) => {
    const m = asMap(v, where);
    return { maxCount: u16(req(m, 'max_count', where), `${where}.max_count`) };
  },
  16,
);

export const relayListResponseCodec = defineMessageCodec<RelayListResponse>(
  'RelayListResponse',
  (w, v) => {
    const anns = listIn<RelayAnnouncement>(v.announcements, 'RelayListResponse.announcements', MAX_RELAY_ANNOUNCEMENTS);
    w.map(1).text('announcements').array(anns.length);
    for (const a of anns) writeRelayAnnouncement(w, a);
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      announcements: list(req(m, 'announcements', where), `${where}.announcements`, MAX_RELAY_ANNOUNCEMENTS, (x, at) =>
        decodeRelayAnnouncementValue(x, at),
      ),
    };
  },
  1024,
);
