/**
 * Several labelled publisher identities per node (API.md `publisher` option): each label owns one share key,
 * made on first use and kept; no label means the node's default publisher. Publishing again under a label
 * updates that label's share (seq + 1). Pure logic over a keyring value: the worker persists it (encrypted
 * at rest, PROTOCOL.md §12) and supplies randomness for new seeds.
 */
import { ScpError } from '../../../errors.js';
import { toHex } from '../../../protocol/bytes.js';
import { shareIdFromPubkey } from '../../../protocol/ids.js';
import { keypairFromSeed } from '../../../protocol/keys.js';

export const DEFAULT_PUBLISHER_LABEL = 'default';
export const MAX_PUBLISHER_LABEL_CHARS = 64;
export const MAX_PUBLISHERS = 256;

export interface PublisherIdentity {
  label: string;
  seed: Uint8Array;
  sharePubkey: string;
  shareId: string;
  /** Unix milliseconds. */
  createdAt: bigint;
}

export interface PublisherKeyring {
  defaultLabel: string;
  identities: PublisherIdentity[];
}

/** What callers may see of an identity (never the seed). */
export interface PublisherInfo {
  label: string;
  shareId: string;
  sharePubkey: string;
  isDefault: boolean;
}

export function normalizePublisherLabel(label: unknown): string {
  if (typeof label !== 'string') throw ScpError.badInput('publisher label must be a string');
  const l = label.normalize('NFC').trim();
  if (l === '' || [...l].length > MAX_PUBLISHER_LABEL_CHARS || /\p{Cc}/u.test(l)) {
    throw ScpError.badInput(`publisher label must be 1–${MAX_PUBLISHER_LABEL_CHARS} characters without control characters`);
  }
  return l;
}

export function identityFromSeed(label: string, seed: Uint8Array, nowMs: number | bigint): PublisherIdentity {
  if (seed.length !== 32) throw ScpError.badInput('publisher seed must be 32 bytes');
  const pub = keypairFromSeed(seed).publicKey;
  return { label, seed: seed.slice(), sharePubkey: toHex(pub), shareId: toHex(shareIdFromPubkey(pub)), createdAt: BigInt(nowMs) };
}

/** A keyring whose default publisher uses `defaultSeed` (the node's default share key). */
export function createKeyring(defaultSeed: Uint8Array, nowMs: number | bigint): PublisherKeyring {
  return { defaultLabel: DEFAULT_PUBLISHER_LABEL, identities: [identityFromSeed(DEFAULT_PUBLISHER_LABEL, defaultSeed, nowMs)] };
}

export function findPublisher(ring: PublisherKeyring, label: string): PublisherIdentity | undefined {
  return ring.identities.find((i) => i.label === label);
}

export function findPublisherByShareId(ring: PublisherKeyring, shareId: string): PublisherIdentity | undefined {
  return ring.identities.find((i) => i.shareId === shareId);
}

/**
 * The identity to publish under: the named one (made now from `newSeed()` when it does not exist yet),
 * or the default one when `label` is undefined. Returns the possibly grown keyring.
 */
export function resolvePublisher(
  ring: PublisherKeyring,
  label: string | undefined,
  newSeed: () => Uint8Array,
  nowMs: number | bigint,
): { ring: PublisherKeyring; identity: PublisherIdentity; created: boolean } {
  const name = label === undefined ? ring.defaultLabel : normalizePublisherLabel(label);
  const found = findPublisher(ring, name);
  if (found) return { ring, identity: found, created: false };
  if (ring.identities.length >= MAX_PUBLISHERS) {
    throw ScpError.limit(`a node keeps at most ${MAX_PUBLISHERS} publisher identities; reuse an existing label`);
  }
  const identity = identityFromSeed(name, newSeed(), nowMs);
  if (findPublisherByShareId(ring, identity.shareId)) throw ScpError.internal('new publisher seed collides with an existing identity');
  return { ring: { ...ring, identities: [...ring.identities, identity] }, identity, created: true };
}

export function setDefaultPublisher(ring: PublisherKeyring, label: string): PublisherKeyring {
  const name = normalizePublisherLabel(label);
  if (!findPublisher(ring, name)) throw ScpError.notFound(`no publisher labelled "${name}"; publish under it once to create it`);
  return { ...ring, defaultLabel: name };
}

export function listPublishers(ring: PublisherKeyring): PublisherInfo[] {
  return ring.identities
    .map((i) => ({ label: i.label, shareId: i.shareId, sharePubkey: i.sharePubkey, isDefault: i.label === ring.defaultLabel }))
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}
