/**
 * Keyspace validation (PROTOCOL.md §5.5), applied on STORE, before serving a FIND_VALUE hit, on lookup results and
 * before republishing. The value is trial-decoded in the reference's fixed order and the first decode that
 * succeeds decides: ShareHead, Providers, ManifestV1, RelayAnnouncement, CommunityMembers; anything else is
 * rejected. On top of the reference (our additions):
 *  - a ShareHead must verify against the share's pubkey when we know it (`shareKeyFor`), and a replacement may not
 *    roll back `latest_seq` (`checkReplacement`);
 *  - provider and member lists are bounded (decoder caps), contain no duplicate and no port-0 address.
 * Pure: no clock, keys and the relay check are injected.
 */
import { bytesEqual } from '../../protocol/bytes.js';
import { communityInfoKey, contentProviderKey, manifestLocKey, shareHeadKey } from '../../protocol/dht-keys.js';
import { decodeManifest, manifestId } from '../../protocol/manifest.js';
import { peerAddrBytes, type PeerAddr } from '../../protocol/peer-addr.js';
import { checkShareHead, decodeShareHead, type ShareHead } from '../../protocol/share-head.js';
import { toHex } from '../../protocol/bytes.js';
import {
  decodeCommunityMembers,
  decodeProviders,
  type CommunityMembers,
  type Providers,
} from './keyspace-records.js';
import { MAX_VALUE_BYTES } from './value-store.js';

export type Classified =
  /** `verified`: checked against the share key this node knows (without it, anyone can sign such a head). */
  | { kind: 'share-head'; head: ShareHead; verified: boolean }
  | { kind: 'providers'; providers: Providers }
  | { kind: 'manifest' }
  | { kind: 'relay-announcement' }
  | { kind: 'community-members'; members: CommunityMembers };

export type Validation = { ok: true; value: Classified } | { ok: false; reason: string };

/** The reference's text for an unrecognised value. */
export const UNRECOGNIZED_TEXT = 'DHT value does not match any recognized keyspace';

/**
 * Trial 4 (RelayAnnouncement): 'no-decode' lets the next trial run, 'ok' accepts, a string rejects with that
 * reason. Supplied by protocol/relay-announcement.ts through `relayAnnouncementTrial` once bound by the core;
 * without it relay announcements are treated as undecodable (and so rejected by the last rule).
 */
export type RelayTrial = (key: Uint8Array, value: Uint8Array) => 'no-decode' | 'ok' | string;

export interface KeyspaceComponents {
  /** The share pubkey when this node knows it (own shares, subscriptions with a key); heads must then verify. */
  shareKeyFor?: (shareId: Uint8Array) => Uint8Array | undefined;
  relayTrial?: RelayTrial;
}

function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function wellFormedList(addrs: PeerAddr[], what: string): string | null {
  const seen = new Set<string>();
  for (const a of addrs) {
    if (a.port === 0) return `${what} lists an address with port 0`;
    const k = toHex(peerAddrBytes(a));
    if (seen.has(k)) return `${what} lists the same address twice`;
    seen.add(k);
  }
  return null;
}

export function validateDhtValue(key: Uint8Array, value: Uint8Array, c: KeyspaceComponents = {}): Validation {
  if (key.length !== 32) return { ok: false, reason: 'dht key must be 32 bytes' };
  if (value.length > MAX_VALUE_BYTES) return { ok: false, reason: 'dht value exceeds 64KiB' };

  const head = attempt(() => decodeShareHead(value));
  if (head) {
    if (!bytesEqual(shareHeadKey(head.shareId), key)) return { ok: false, reason: 'share head key mismatch' };
    const pub = c.shareKeyFor?.(head.shareId);
    if (pub) {
      const why = checkShareHead(head, pub);
      if (why !== null) return { ok: false, reason: `share head does not verify (${why})` };
    }
    return { ok: true, value: { kind: 'share-head', head, verified: pub !== undefined } };
  }

  const providers = attempt(() => decodeProviders(value));
  if (providers) {
    if (!bytesEqual(contentProviderKey(providers.contentId), key)) return { ok: false, reason: 'providers key mismatch' };
    const bad = wellFormedList(providers.providers, 'providers');
    if (bad) return { ok: false, reason: bad };
    return { ok: true, value: { kind: 'providers', providers } };
  }

  const manifest = attempt(() => decodeManifest(value));
  if (manifest) {
    const id = attempt(() => manifestId(manifest));
    if (!id || !bytesEqual(manifestLocKey(id), key)) return { ok: false, reason: 'manifest key mismatch' };
    return { ok: true, value: { kind: 'manifest' } };
  }

  if (c.relayTrial) {
    const r = c.relayTrial(key, value);
    if (r === 'ok') return { ok: true, value: { kind: 'relay-announcement' } };
    if (r !== 'no-decode') return { ok: false, reason: r };
  }

  const members = attempt(() => decodeCommunityMembers(value));
  if (members) {
    if (!bytesEqual(communityInfoKey(members.communityShareId), key)) return { ok: false, reason: 'community key mismatch' };
    const bad = wellFormedList(members.members, 'members');
    if (bad) return { ok: false, reason: bad };
    return { ok: true, value: { kind: 'community-members', members } };
  }

  return { ok: false, reason: UNRECOGNIZED_TEXT };
}

/**
 * May `incoming` replace `existing` under the same key? Only share heads have a rule: no seq rollback, and at
 * equal seq the newer (or same) `updated_at` wins. Returns a reason when the replacement must be refused.
 */
export function checkReplacement(existing: Classified, incoming: Classified): string | null {
  if (existing.kind !== 'share-head' || incoming.kind !== 'share-head') return null;
  // Only a head we could verify is protected: an unverifiable one (any key can sign a head with seq 2^64-1 for a
  // share we know no key of) would otherwise lock the key against every genuine head (found by test/hostile).
  if (!existing.verified) return null;
  const a = existing.head;
  const b = incoming.head;
  if (b.latestSeq < a.latestSeq) return 'share head seq rollback';
  if (b.latestSeq === a.latestSeq && b.updatedAt < a.updatedAt) return 'share head seq rollback';
  return null;
}
