/**
 * Cursor encodings of the communities extension (docs/COMMUNITIES.md §5.2, §7). Opaque to peers and API users;
 * every decoder refuses what it did not make with BAD_INPUT (a local caller's mistake) or returns null
 * (a peer's cursor that does not parse is treated as "from the start").
 */
import { ScpError } from '../../../errors.js';
import { toHex } from '../../../protocol/bytes.js';

/** Page cursor: the 32-byte member key last returned; the next page starts strictly after it. */
export function encodePageCursor(lastMemberKey: Uint8Array): Uint8Array {
  return lastMemberKey.slice(0, 32);
}

export function decodePageCursor(c: Uint8Array | null): string | null {
  return c && c.length === 32 ? toHex(c) : null;
}

/** Delta cursor: u64_be(epoch) ‖ u64_be(seq). */
export function encodeDeltaCursor(epoch: bigint, seq: bigint): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, epoch);
  v.setBigUint64(8, seq);
  return out;
}

export function decodeDeltaCursor(c: Uint8Array): { epoch: bigint; seq: bigint } | null {
  if (c.length !== 16) return null;
  const v = new DataView(c.buffer, c.byteOffset, c.byteLength);
  return { epoch: v.getBigUint64(0), seq: v.getBigUint64(8) };
}

/** API browse cursor: resume at member `memberKey`, skipping its first `skip` shares. */
export interface BrowseCursor {
  memberKey: string;
  skip: number;
}

export function encodeBrowseCursor(c: BrowseCursor): string {
  return `${c.memberKey}:${c.skip}`;
}

export function decodeBrowseCursor(s: string | null | undefined): BrowseCursor | null {
  if (s === null || s === undefined || s === '') return null;
  const i = typeof s === 'string' ? s.lastIndexOf(':') : -1;
  const skip = i > 0 ? Number(s.slice(i + 1)) : NaN;
  if (i <= 0 || !Number.isInteger(skip) || skip < 0) throw ScpError.badInput('cursor must be a nextCursor value from an earlier browseCommunityShares call');
  return { memberKey: s.slice(0, i), skip };
}
