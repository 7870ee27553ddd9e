/**
 * Inbound requests the index owns (PROTOCOL.md §3.1, routed by the session): GET_MANIFEST (400) and
 * LIST_PUBLIC_SHARES (402). One function per type: payload bytes in, response payload or the reference's
 * error text out. A payload that does not decode is answered with the error text of the decoder (the session
 * decides what a malformed request costs the peer).
 */
import type { WireReply, WireRequest } from '../../messages/wire.js';
import { toHex } from '../../protocol/bytes.js';
import { ErrorText, MessageType, unknownMessageTypeText } from '../../protocol/registry.js';
import { listPublicSharesCodec, publicShareListCodec } from '../../protocol/share-messages.js';
import { getManifestCodec, manifestDataCodec } from '../../protocol/transfer-messages.js';
import type { OwnShareRecord } from './own-shares.js';
import { publicShareList } from './own-shares.js';

export interface WireState {
  manifestBytes(manifestIdHex: string): Uint8Array | undefined;
  ownShares(): readonly OwnShareRecord[];
}

export function handleGetManifest(state: WireState, payload: Uint8Array): WireReply {
  const { manifestId } = getManifestCodec.decode(payload);
  const bytes = state.manifestBytes(toHex(manifestId));
  if (!bytes) return { error: ErrorText.MANIFEST_NOT_FOUND };
  return { payload: manifestDataCodec.encode({ manifestId, bytes }) };
}

export function handleListPublicShares(state: WireState, payload: Uint8Array): WireReply {
  const { maxEntries } = listPublicSharesCodec.decode(payload);
  return { payload: publicShareListCodec.encode({ shares: publicShareList(state.ownShares(), maxEntries) }) };
}

export function handleWire(state: WireState, req: Pick<WireRequest, 'messageType' | 'payload'>): WireReply {
  try {
    switch (req.messageType) {
      case MessageType.GET_MANIFEST:
        return handleGetManifest(state, req.payload);
      case MessageType.LIST_PUBLIC_SHARES:
        return handleListPublicShares(state, req.payload);
      default:
        return { error: unknownMessageTypeText(req.messageType) };
    }
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}
