/**
 * One community's member directory (docs/COMMUNITIES.md §2, §5): the latest signed record per member, numbered
 * in acceptance order for delta sync, served in member-key order for paging. Pure: time comes in as `nowUnix`,
 * the epoch from the caller's seeded randomness, and persistence goes through an optional `DirectorySink` the
 * caller implements (the node writes lmdb). The same class is the server's directory and the client's mirror.
 */
import { toHex } from '../../../protocol/bytes.js';
import {
  checkMemberRecord,
  MEMBER_PAGE_MAX_ENTRIES,
  type CommunityMemberRecord,
  type MemberRecordReason,
} from '../../../protocol/community-ext.js';
import { decodeDeltaCursor, decodePageCursor, encodeDeltaCursor, encodePageCursor } from './cursors.js';

export const MAX_DIRECTORY_RECORDS = 100_000;

export type AcceptOutcome = { accepted: true } | { accepted: false; reason: MemberRecordReason | 'not_newer' | 'full' };

interface Entry {
  record: CommunityMemberRecord;
  seq: bigint;
}

/** Told about every stored record and every dropped one (expired, evicted, replaced records are re-put). */
export interface DirectorySink {
  put(memberKeyHex: string, record: CommunityMemberRecord): void;
  drop(memberKeyHex: string): void;
}

export interface DirectoryInit {
  communityShareId: Uint8Array;
  communityPubkey: Uint8Array;
  epoch: bigint;
  strict?: boolean;
  maxRecords?: number;
  sink?: DirectorySink;
}

export class MemberDirectory {
  readonly epoch: bigint;
  readonly #init: DirectoryInit;
  readonly #byMember = new Map<string, Entry>();
  /** seq → member key; Map insertion order is ascending seq because a replaced entry is deleted and re-added. */
  readonly #bySeq = new Map<bigint, string>();
  #seq = 0n;
  #sorted: string[] | null = null;

  constructor(init: DirectoryInit) {
    this.#init = init;
    this.epoch = init.epoch;
  }

  get size(): number {
    return this.#byMember.size;
  }

  get seq(): bigint {
    return this.#seq;
  }

  get strict(): boolean {
    return this.#init.strict === true;
  }

  /** Turning strict on drops the join records that carry no token admitting their member (as `accept` would). */
  setStrict(strict: boolean, nowUnix: number): void {
    const tightened = strict && !this.strict;
    this.#init.strict = strict;
    if (!tightened) return;
    for (const [key, e] of this.#byMember) {
      if (e.record.left || checkMemberRecord(e.record, { communityShareId: this.#init.communityShareId, communityPubkey: this.#init.communityPubkey, nowUnix, strict: true }) === null) continue;
      this.#byMember.delete(key);
      this.#bySeq.delete(e.seq);
      this.#init.sink?.drop(key);
      this.#sorted = null;
    }
  }

  /** Checks and stores a record; a record replaces the member's stored one only when strictly newer. */
  accept(r: CommunityMemberRecord, nowUnix: number): AcceptOutcome {
    const key = toHex(r.memberNodePubkey);
    const old = this.#byMember.get(key);
    // Before the signature check: gossip delivers every record several times, and what is not newer is refused
    // whatever its signature says (this also makes replayed or junk old records cost no verification).
    if (old && old.record.issuedAt >= r.issuedAt) return { accepted: false, reason: 'not_newer' };
    const why = checkMemberRecord(r, {
      communityShareId: this.#init.communityShareId,
      communityPubkey: this.#init.communityPubkey,
      nowUnix,
      strict: this.strict,
    });
    if (why !== null) return { accepted: false, reason: why };
    if (!old && this.#byMember.size >= (this.#init.maxRecords ?? MAX_DIRECTORY_RECORDS)) {
      this.purge(nowUnix);
      if (this.#byMember.size >= (this.#init.maxRecords ?? MAX_DIRECTORY_RECORDS) && !this.#evictSoonest(r.expiresAt)) return { accepted: false, reason: 'full' };
    }
    if (old) this.#bySeq.delete(old.seq);
    else this.#sorted = null;
    const seq = ++this.#seq;
    this.#byMember.set(key, { record: r, seq });
    this.#bySeq.set(seq, key);
    this.#init.sink?.put(key, r);
    return { accepted: true };
  }

  /**
   * Reloads persisted records (after a restart) under the same rules as `accept`, without writing them back;
   * the ones refused now (expired while we were down, or no longer admitted by strict mode) are dropped from the
   * store. They get fresh seqs in this epoch: a peer's old delta cursor names another epoch and resets.
   */
  restore(records: Iterable<CommunityMemberRecord>, nowUnix: number): { restored: number; dropped: number } {
    const sink = this.#init.sink;
    this.#init.sink = undefined;
    let restored = 0;
    let dropped = 0;
    try {
      for (const r of records) {
        const out = this.accept(r, nowUnix);
        if (out.accepted) restored++;
        else if (out.reason !== 'not_newer') {
          dropped++;
          sink?.drop(toHex(r.memberNodePubkey));
        }
      }
    } finally {
      this.#init.sink = sink;
    }
    return { restored, dropped };
  }

  /** Drops expired records (tombstones included). */
  purge(nowUnix: number): number {
    const now = BigInt(nowUnix);
    let n = 0;
    for (const [key, e] of this.#byMember) {
      if (e.record.expiresAt <= now) {
        this.#byMember.delete(key);
        this.#bySeq.delete(e.seq);
        this.#init.sink?.drop(key);
        n++;
      }
    }
    if (n > 0) this.#sorted = null;
    return n;
  }

  get(memberKeyHex: string, nowUnix: number): CommunityMemberRecord | undefined {
    const e = this.#byMember.get(memberKeyHex);
    return e && e.record.expiresAt > BigInt(nowUnix) ? e.record : undefined;
  }

  /** Live join records (no tombstones), in member-key order. */
  live(nowUnix: number): CommunityMemberRecord[] {
    this.purge(nowUnix);
    return this.#keys().map((k) => this.#byMember.get(k)!.record).filter((r) => !r.left);
  }

  /** Live tombstones (members that left, until their tombstone expires), member-key order. */
  tombstones(nowUnix: number): CommunityMemberRecord[] {
    this.purge(nowUnix);
    return this.#keys().map((k) => this.#byMember.get(k)!.record).filter((r) => r.left);
  }

  syncCursor(): Uint8Array {
    return encodeDeltaCursor(this.epoch, this.#seq);
  }

  /** One page of live join records after `cursor` (a page cursor), member-key order. */
  page(cursor: Uint8Array | null, maxEntries: number, nowUnix: number): { members: CommunityMemberRecord[]; nextCursor: Uint8Array | null; syncCursor: Uint8Array } {
    this.purge(nowUnix);
    const limit = clampEntries(maxEntries);
    const keys = this.#keys();
    const after = decodePageCursor(cursor);
    let i = after === null ? 0 : upperBound(keys, after);
    const members: CommunityMemberRecord[] = [];
    while (i < keys.length && members.length < limit) {
      const r = this.#byMember.get(keys[i++]!)!.record;
      if (!r.left) members.push(r);
    }
    const last = members[members.length - 1];
    return { members, nextCursor: i < keys.length && last ? encodePageCursor(last.memberNodePubkey) : null, syncCursor: this.syncCursor() };
  }

  /** Records accepted after `since` (joins and tombstones), acceptance order. A cursor of another epoch resets. */
  delta(since: Uint8Array, maxEntries: number, nowUnix: number): { members: CommunityMemberRecord[]; nextCursor: Uint8Array; more: boolean; reset: boolean } {
    this.purge(nowUnix);
    const c = decodeDeltaCursor(since);
    if (!c || c.epoch !== this.epoch || c.seq > this.#seq) return { members: [], nextCursor: this.syncCursor(), more: false, reset: true };
    const limit = clampEntries(maxEntries);
    const members: CommunityMemberRecord[] = [];
    let lastSeq = c.seq;
    let more = false;
    for (const [seq, key] of this.#bySeq) {
      if (seq <= c.seq) continue;
      if (members.length >= limit) {
        more = true;
        break;
      }
      members.push(this.#byMember.get(key)!.record);
      lastSeq = seq;
    }
    return { members, nextCursor: encodeDeltaCursor(this.epoch, more ? lastSeq : this.#seq), more, reset: false };
  }

  #keys(): string[] {
    return (this.#sorted ??= [...this.#byMember.keys()].sort());
  }

  #evictSoonest(incomingExpiry: bigint): boolean {
    let victim: [string, Entry] | undefined;
    for (const kv of this.#byMember) if (!victim || kv[1].record.expiresAt < victim[1].record.expiresAt) victim = kv;
    if (!victim || victim[1].record.expiresAt >= incomingExpiry) return false;
    this.#byMember.delete(victim[0]);
    this.#bySeq.delete(victim[1].seq);
    this.#init.sink?.drop(victim[0]);
    this.#sorted = null;
    return true;
  }
}

export function clampEntries(n: number): number {
  return Math.max(1, Math.min(MEMBER_PAGE_MAX_ENTRIES, Number.isFinite(n) ? Math.floor(n) : MEMBER_PAGE_MAX_ENTRIES));
}

/** First index whose key is > `k` in a sorted array. */
function upperBound(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
