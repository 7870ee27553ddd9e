/**
 * Communities at scale in the simulator (communities-sim.ts: real directories, wire handler, codecs and sync
 * client on a virtual clock): a 10,000-member community browsed page by page and a delta sync after 100 joins
 * that returns exactly those 100; stale and forged records refused over the wire; a member who leaves (tombstone)
 * or vanishes (no tombstone) disappears from every directory within one TTL, and its old join record never returns.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/protocol/bytes.js';
import {
  CommunityExtMessageType as X,
  communityMembersPageCodec,
  communityMembersPageResultCodec,
  type CommunityMemberRecord,
} from '../../src/protocol/community-ext.js';
import { encodeDeltaCursor } from '../../src/actors/index/communities/cursors.js';
import { announceMember, pullMembers } from '../../src/actors/index/communities/member-sync.js';
import { communityId, communityPubkey, NOW, record } from '../actors/index/communities/helpers.js';
import { CommunitySim } from './communities-sim.js';

const keyOf = (r: CommunityMemberRecord): string => toHex(r.memberNodePubkey);

describe('community simulator: 10,000 members', () => {
  it('is browsed page by page over the wire, and a delta sync after 100 joins returns exactly those 100', async () => {
    const sim = new CommunitySim(10);
    const [a, c] = [sim.add(0), sim.add(1)];
    // 10,000 members already known to A (they announced themselves to it earlier)
    const crowd = Array.from({ length: 10_000 }, (_, i) => record(100 + i));
    for (const r of crowd) expect(a.dir.accept(r, NOW).accepted).toBe(true);

    // C browses A page by page, verifying every record it keeps
    const seen: string[] = [];
    let cursor: Uint8Array | null = null;
    let sync: Uint8Array | undefined;
    let pages = 0;
    do {
      const payload = await sim.sender(c, a)(
        X.COMMUNITY_MEMBERS_PAGE,
        communityMembersPageCodec.encode({ communityShareId: communityId, communitySharePubkey: communityPubkey, cursor, maxEntries: 500, requesterMembershipProof: null }),
      );
      const page = communityMembersPageResultCodec.decode(payload);
      expect(page.members.length).toBeLessThanOrEqual(500);
      for (const r of page.members) expect(c.dir.accept(r, sim.now)).toEqual({ accepted: true });
      seen.push(...page.members.map(keyOf));
      sync ??= page.syncCursor;
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(20);
    expect(seen.length).toBe(10_000);
    expect(new Set(seen).size).toBe(10_000);
    expect([...seen].sort()).toEqual(seen); // stable member-key order
    expect(new Set(seen)).toEqual(new Set(crowd.map(keyOf)));
    expect(sim.traffic.bytesIn).toBeGreaterThan(10_000 * 150); // whole signed records, not just addresses
    expect(sim.traffic.bytesIn).toBeLessThan(10_000 * 400);

    // 100 joins announce themselves to A, plus forged, impostor and stale records that must be refused
    const joiners = Array.from({ length: 100 }, (_, i) => sim.add(20_000 + i));
    const joinRecords = joiners.map((j) => sim.record(j));
    for (let i = 0; i < joiners.length; i++) expect(await announceMember(sim.sender(joiners[i]!, a), joinRecords[i]!)).toEqual({ accepted: true, reason: null });
    const forged = { ...record(30_000), addrs: [{ ip: '6.6.6.6', port: 7001, transport: 'tcp' as const, pubkeyHint: null }] };
    expect(await announceMember(sim.sender(c, a), forged)).toEqual({ accepted: false, reason: 'bad_signature' });
    const impostor = { ...record(30_002, { issuedAt: NOW + 10 }), memberNodePubkey: joiners[0]!.pubkey }; // newer, so the signature decides
    expect(await announceMember(sim.sender(c, a), impostor)).toEqual({ accepted: false, reason: 'bad_signature' });
    const stale = record(30_001, { issuedAt: NOW - 4_000 });
    expect(await announceMember(sim.sender(c, a), stale)).toEqual({ accepted: false, reason: 'stale' });
    expect(await announceMember(sim.sender(c, a), crowd[5]!)).toEqual({ accepted: false, reason: 'not_newer' }); // a replay

    // C: delta since the cursor of its first page, 30 per answer → exactly those 100, nothing else
    const cBefore = c.dir.seq;
    const cDelta = await pullMembers(sim.sender(c, a), sim.sync(c), c.dir, sync, () => sim.now, { entries: 30 });
    expect(cDelta).toMatchObject({ mode: 'delta', received: 100, accepted: 100, complete: true, requests: 4 });
    const got = c.dir.delta(encodeDeltaCursor(c.dir.epoch, cBefore), 500, sim.now).members.map(keyOf);
    expect(got.sort()).toEqual(joinRecords.map(keyOf).sort());
    expect(c.dir.live(sim.now).length).toBe(10_100);
    // and a further delta is empty
    expect(await pullMembers(sim.sender(c, a), sim.sync(c), c.dir, cDelta.cursor, () => sim.now)).toMatchObject({ mode: 'delta', received: 0, complete: true });
  }, 300_000); // signs 10,100 records and verifies them twice: generous for a loaded machine
});

describe('community simulator: leaving', () => {
  it('a member who leaves (tombstone) or vanishes (no tombstone) disappears everywhere within one TTL', async () => {
    // a 15-minute record TTL (the default is 1 h; any TTL ≤ 6 h is valid) keeps the run short: the claim is per TTL
    const sim = new CommunitySim(20, { ttlSecs: 900 });
    const members = Array.from({ length: 30 }, (_, i) => sim.add(i));
    const STEP = 60;
    // converge: everyone lists everyone
    for (let i = 0; i < 30 && members.some((m) => m.dir.live(sim.now).length < members.length); i++) await sim.round(STEP);
    for (const m of members) expect(m.dir.live(sim.now).length).toBe(members.length);

    const leaver = members[7]!;
    const vanisher = members[11]!;
    const oldJoin = leaver.dir.get(leaver.key, sim.now)!; // a record an attacker could replay later
    expect(oldJoin.left).toBe(false);
    const leftAt = sim.now;
    await sim.leave(leaver);
    vanisher.online = false;
    const lastOfVanisher = vanisher.lastIssued;

    let goneLeaver: number | null = null;
    let goneVanisher: number | null = null;
    for (let round = 0; sim.now <= leftAt + sim.ttl + STEP && (goneLeaver === null || goneVanisher === null); round++) {
      await sim.round(STEP);
      if (goneLeaver === null && sim.listing(leaver.key).length === 0) goneLeaver = sim.now;
      if (goneVanisher === null && sim.listing(vanisher.key).length === 0) goneVanisher = sim.now;
      // a replayed old join record never brings the leaver back
      const victim = members[round % members.length]!;
      if (victim.online && victim.joined) {
        const r = await announceMember(sim.sender(members[0]!, victim), oldJoin);
        expect(r.accepted).toBe(false);
        expect(['not_newer', 'stale']).toContain(r.reason);
      }
    }
    expect(goneLeaver, 'the leaver is still listed after one TTL').not.toBeNull();
    expect(goneVanisher, 'the vanished member is still listed after one TTL').not.toBeNull();
    // the tombstone spreads epidemically: gone in a few rounds, far inside one TTL
    expect(goneLeaver! - leftAt).toBeLessThanOrEqual(10 * STEP);
    // without a tombstone: listed until its last record expires, gone at most one TTL after it was signed
    expect(goneVanisher! - Number(lastOfVanisher)).toBeLessThanOrEqual(sim.ttl + STEP);
    expect(goneVanisher! - leftAt).toBeLessThanOrEqual(sim.ttl + STEP);
    // everyone else is still there
    for (const m of members.filter((x) => x.online && x.joined)) expect(m.dir.live(sim.now).length).toBe(members.length - 2);
  }, 120_000);

  it('a reference-speaking member answers every extension request with an error; the others still converge', async () => {
    const sim = new CommunitySim(30);
    const members = Array.from({ length: 8 }, (_, i) => sim.add(i));
    const ref = sim.add(99, { reference: true });
    for (let i = 0; i < 15; i++) await sim.round(60);
    for (const m of members) expect(m.dir.live(sim.now).length).toBe(members.length); // the reference peer has no record
    expect(sim.traffic.errors).toBeGreaterThan(0);
    expect(ref.dir.size).toBe(0);
  }, 60_000);
});
