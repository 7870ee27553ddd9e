/**
 * Public-share browsing and community status (PROTOCOL.md §3.2, §10). String-keyed struct maps; note the
 * two kinds of "absent": `membership_proof`, `title` and `description` are written as null, while
 * `CommunityStatus.name` and both `requester_*` fields of LIST_COMMUNITY_PUBLIC_SHARES are omitted.
 * `requester_membership_proof` is an int array (plain Vec<u8>), `membership_proof` a byte string.
 */
import type { CborWriter, CborValue } from './cbor.js';
import { anyBytes, asMap, b32, bool, list, opt, req, text, u16, u64 } from './cbor-fields.js';
import { bytesIn, defineMessageCodec, listIn, u64In, uintIn, type U64Input } from './message-codec.js';
import { ScpError } from '../errors.js';
import { MAX_MEMBERSHIP_PROOF_BYTES, MAX_PUBLIC_SHARES, MAX_WIRE_TEXT_BYTES } from './limits.js';

const ID_LEN = 32;

export interface ListPublicShares {
  maxEntries: number;
}

export interface PublicShareSummary {
  shareId: Uint8Array;
  sharePubkey: Uint8Array;
  latestSeq: bigint;
  latestManifestId: Uint8Array;
  title: string | null;
  description: string | null;
}

export interface PublicShareList {
  shares: PublicShareSummary[];
}

export interface GetCommunityStatus {
  communityShareId: Uint8Array;
  communitySharePubkey: Uint8Array;
}

export interface CommunityStatus {
  communityShareId: Uint8Array;
  joined: boolean;
  /** CBOR of a CommunityMembershipToken; written as null when absent. */
  membershipProof: Uint8Array | null;
  /** The responder's local label; the key is omitted when absent. */
  name: string | null;
}

export interface ListCommunityPublicShares {
  communityShareId: Uint8Array;
  communitySharePubkey: Uint8Array;
  maxEntries: number;
  /** Omitted when absent. */
  requesterNodePubkey: Uint8Array | null;
  /** CBOR of a CommunityMembershipToken as an int array; omitted when absent. */
  requesterMembershipProof: Uint8Array | null;
}

export interface CommunityPublicShareList {
  communityShareId: Uint8Array;
  shares: PublicShareSummary[];
}

function textIn(v: unknown, what: string): string {
  if (typeof v !== 'string') throw ScpError.badInput(`${what} must be a string`);
  if (Buffer.byteLength(v) > MAX_WIRE_TEXT_BYTES) throw ScpError.badInput(`${what} must be at most ${MAX_WIRE_TEXT_BYTES} bytes`);
  return v;
}

function optText(w: CborWriter, v: string | null | undefined, what: string): void {
  if (v === null || v === undefined) w.null();
  else w.text(textIn(v, what));
}

function readOptText(m: ReturnType<typeof asMap>, key: string, where: string): string | null {
  const v = opt(m, key);
  return v === undefined ? null : text(v, `${where}.${key}`, MAX_WIRE_TEXT_BYTES);
}

// ---------- PublicShareSummary

export function writePublicShareSummary(w: CborWriter, s: U64Input<PublicShareSummary>, what: string): void {
  w.map(6)
    .text('share_id').intArray(bytesIn(s.shareId, `${what}.shareId`, ID_LEN))
    .text('share_pubkey').intArray(bytesIn(s.sharePubkey, `${what}.sharePubkey`, ID_LEN))
    .text('latest_seq').uint(u64In(s.latestSeq, `${what}.latestSeq`))
    .text('latest_manifest_id').intArray(bytesIn(s.latestManifestId, `${what}.latestManifestId`, ID_LEN))
    .text('title');
  optText(w, s.title, `${what}.title`);
  w.text('description');
  optText(w, s.description, `${what}.description`);
}

export function readPublicShareSummary(v: CborValue, where: string): PublicShareSummary {
  const m = asMap(v, where);
  return {
    shareId: b32(req(m, 'share_id', where), `${where}.share_id`),
    sharePubkey: b32(req(m, 'share_pubkey', where), `${where}.share_pubkey`),
    latestSeq: u64(req(m, 'latest_seq', where), `${where}.latest_seq`),
    latestManifestId: b32(req(m, 'latest_manifest_id', where), `${where}.latest_manifest_id`),
    title: readOptText(m, 'title', where),
    description: readOptText(m, 'description', where),
  };
}

function writeShares(w: CborWriter, shares: readonly U64Input<PublicShareSummary>[], what: string): void {
  listIn(shares, what, MAX_PUBLIC_SHARES);
  w.array(shares.length);
  shares.forEach((s, i) => writePublicShareSummary(w, s, `${what}[${i}]`));
}

function readShares(v: CborValue | undefined, where: string): PublicShareSummary[] {
  return list(v, where, MAX_PUBLIC_SHARES, readPublicShareSummary);
}

// ---------- codecs

export const listPublicSharesCodec = defineMessageCodec<ListPublicShares>(
  'ListPublicShares',
  (w, v) => {
    w.map(1).text('max_entries').uint(uintIn(v.maxEntries, 16, 'ListPublicShares.maxEntries'));
  },
  (v, where) => {
    const m = asMap(v, where);
    return { maxEntries: u16(req(m, 'max_entries', where), `${where}.max_entries`) };
  },
  24,
);

export const publicShareListCodec = defineMessageCodec<PublicShareList>(
  'PublicShareList',
  (w, v) => {
    w.map(1).text('shares');
    writeShares(w, v.shares, 'PublicShareList.shares');
  },
  (v, where) => {
    const m = asMap(v, where);
    return { shares: readShares(req(m, 'shares', where), `${where}.shares`) };
  },
  1024,
);

export const getCommunityStatusCodec = defineMessageCodec<GetCommunityStatus>(
  'GetCommunityStatus',
  (w, v) => {
    w.map(2)
      .text('community_share_id').intArray(bytesIn(v.communityShareId, 'GetCommunityStatus.communityShareId', ID_LEN))
      .text('community_share_pubkey').intArray(bytesIn(v.communitySharePubkey, 'GetCommunityStatus.communitySharePubkey', ID_LEN));
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      communityShareId: b32(req(m, 'community_share_id', where), `${where}.community_share_id`),
      communitySharePubkey: b32(req(m, 'community_share_pubkey', where), `${where}.community_share_pubkey`),
    };
  },
  160,
);

export const communityStatusCodec = defineMessageCodec<CommunityStatus>(
  'CommunityStatus',
  (w, v) => {
    const hasName = v.name !== null && v.name !== undefined;
    w.map(hasName ? 4 : 3)
      .text('community_share_id').intArray(bytesIn(v.communityShareId, 'CommunityStatus.communityShareId', ID_LEN))
      .text('joined').bool(v.joined === true)
      .text('membership_proof');
    if (v.membershipProof === null || v.membershipProof === undefined) w.null();
    else w.bytes(bytesIn(v.membershipProof, 'CommunityStatus.membershipProof', undefined, MAX_MEMBERSHIP_PROOF_BYTES));
    if (hasName) w.text('name').text(textIn(v.name, 'CommunityStatus.name'));
  },
  (v, where) => {
    const m = asMap(v, where);
    const proof = opt(m, 'membership_proof');
    return {
      communityShareId: b32(req(m, 'community_share_id', where), `${where}.community_share_id`),
      joined: bool(req(m, 'joined', where), `${where}.joined`),
      membershipProof: proof === undefined ? null : anyBytes(proof, `${where}.membership_proof`, MAX_MEMBERSHIP_PROOF_BYTES),
      name: readOptText(m, 'name', where),
    };
  },
  160,
);

export const listCommunityPublicSharesCodec = defineMessageCodec<ListCommunityPublicShares>(
  'ListCommunityPublicShares',
  (w, v) => {
    const hasKey = v.requesterNodePubkey !== null && v.requesterNodePubkey !== undefined;
    const hasProof = v.requesterMembershipProof !== null && v.requesterMembershipProof !== undefined;
    w.map(3 + (hasKey ? 1 : 0) + (hasProof ? 1 : 0))
      .text('community_share_id').intArray(bytesIn(v.communityShareId, 'ListCommunityPublicShares.communityShareId', ID_LEN))
      .text('community_share_pubkey')
      .intArray(bytesIn(v.communitySharePubkey, 'ListCommunityPublicShares.communitySharePubkey', ID_LEN))
      .text('max_entries').uint(uintIn(v.maxEntries, 16, 'ListCommunityPublicShares.maxEntries'));
    if (hasKey) {
      w.text('requester_node_pubkey').intArray(bytesIn(v.requesterNodePubkey, 'ListCommunityPublicShares.requesterNodePubkey', ID_LEN));
    }
    if (hasProof) {
      const proof = bytesIn(v.requesterMembershipProof, 'ListCommunityPublicShares.requesterMembershipProof', undefined, MAX_MEMBERSHIP_PROOF_BYTES);
      w.text('requester_membership_proof').intArray(proof);
    }
  },
  (v, where) => {
    const m = asMap(v, where);
    const key = opt(m, 'requester_node_pubkey');
    const proof = opt(m, 'requester_membership_proof');
    return {
      communityShareId: b32(req(m, 'community_share_id', where), `${where}.community_share_id`),
      communitySharePubkey: b32(req(m, 'community_share_pubkey', where), `${where}.community_share_pubkey`),
      maxEntries: u16(req(m, 'max_entries', where), `${where}.max_entries`),
      requesterNodePubkey: key === undefined ? null : b32(key, `${where}.requester_node_pubkey`),
      requesterMembershipProof:
        proof === undefined ? null : anyBytes(proof, `${where}.requester_membership_proof`, MAX_MEMBERSHIP_PROOF_BYTES),
    };
  },
  512,
);

export const communityPublicShareListCodec = defineMessageCodec<CommunityPublicShareList>(
  'CommunityPublicShareList',
  (w, v) => {
    w.map(2)
      .text('community_share_id').intArray(bytesIn(v.communityShareId, 'CommunityPublicShareList.communityShareId', ID_LEN))
      .text('shares');
    writeShares(w, v.shares, 'CommunityPublicShareList.shares');
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      communityShareId: b32(req(m, 'community_share_id', where), `${where}.community_share_id`),
      shares: readShares(req(m, 'shares', where), `${where}.shares`),
    };
  },
  1024,
);
