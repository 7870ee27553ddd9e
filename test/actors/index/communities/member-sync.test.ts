/**
 * The sync client (member-sync.ts) against the real wire handler: first contact pages, then delta; a restarted
 * peer (new epoch) resets to paging; a request budget leaves a resumable cursor (delta) or none (unfinished paging);
 * a reference peer's error envelope reaches the caller unchanged.
 */
import { describe, expect, it } from 'vitest';
import type { CommunityRecord } from '../../../../src/actors/index/communities/community-book.js';
import { handleCommunityWire, type CommunityWireState } from '../../../../src/actors/index/communities/community-wire.js';
import type { MemberDirectory } from '../../../../src/actors/index/communities/member-directory.js';
import { announceMember, pullMembers, type SendToPeer } from '../../../../src/actors/index/communities/member-sync.js';
import { ScpError } from '../../../../src/errors.js';
import { toHex } from '../../../../src/protocol/bytes.js';
import { NOW, communityId, communityIdHex, communityPubkey, directory, record } from './helpers.js';

function serve(getDir: () => MemberDirectory): SendToPeer {
  const rec: CommunityRecord = { communityId: communityIdHex, sharePubkey: toHex(communityPubkey), name: null, token: null, strict: false, owner: false, joinedAt: String(NOW) };
  const state: CommunityWireState = {
    community: (id) => (id === communityIdHex ? rec : undefined),
    directory: (id) => (id === communityIdHex ? getDir() : undefined),
    ownShares: () => [],
    manifestCommunities: () => [],
    nowUnix: () => NOW,
  };
  return async (messageType, payload) => {
    const r = handleCommunityWire(state, { messageType, payload });
    if ('error' in r) throw ScpError.remote(r.error);
    return r.payload;
  };
}
const sc = { communityShareId: communityId, communityPubkey, token: null };
const now = (): number => NOW;

describe('pullMembers / announceMember', () => {
  it('pages on first contact, then deltas; a peer restart (new epoch) resets to paging', async () => {
    let src = directory(false, 1n);
    for (let i = 0; i < 25; i++) src.accept(record(i), NOW);
    const send = serve(() => src);
    const mine = directory(false, 2n);
    const first = await pullMembers(send, sc, mine, undefined, now, { entries: 10 });
    expect(first).toMatchObject({ mode: 'pages', requests: 3, received: 25, accepted: 25, complete: true });
    expect(await announceMember(send, record(40))).toEqual({ accepted: true, reason: null });
    const second = await pullMembers(send, sc, mine, first.cursor, now, { entries: 10 });
    expect(second).toMatchObject({ mode: 'delta', requests: 1, received: 1, accepted: 1, complete: true });

    // the peer restarts: same records (from disk), new epoch — our cursor resets and we page once
    const restarted = directory(false, 3n);
    restarted.restore(src.live(NOW), NOW);
    src = restarted;
    const third = await pullMembers(send, sc, mine, second.cursor, now, { entries: 10 });
    expect(third).toMatchObject({ mode: 'pages', requests: 4, received: 26, accepted: 0, complete: true });
    expect(third.cursor).not.toEqual(second.cursor);
  });

  it('a request budget: delta keeps its progress, unfinished paging keeps no cursor', async () => {
    const src = directory(false, 1n);
    for (let i = 0; i < 30; i++) src.accept(record(i), NOW);
    const send = serve(() => src);
    const mine = directory(false, 2n);
    const partial = await pullMembers(send, sc, mine, undefined, now, { entries: 10, maxRequests: 2 });
    expect(partial).toMatchObject({ mode: 'pages', requests: 2, received: 20, complete: false, cursor: undefined });
    const full = await pullMembers(send, sc, mine, undefined, now, { entries: 10 });
    for (let i = 100; i < 130; i++) src.accept(record(i), NOW);
    const d1 = await pullMembers(send, sc, mine, full.cursor, now, { entries: 10, maxRequests: 2 });
    expect(d1).toMatchObject({ mode: 'delta', received: 20, complete: false });
    const d2 = await pullMembers(send, sc, mine, d1.cursor, now, { entries: 10 });
    expect(d2).toMatchObject({ mode: 'delta', received: 10, complete: true });
    expect(mine.live(NOW).length).toBe(60);
  });

  it('a reference peer’s error envelope propagates unchanged (the caller marks the peer classic)', async () => {
    const reference: SendToPeer = async (t) => {
      throw ScpError.remote(`unknown message type ${t}`);
    };
    await expect(pullMembers(reference, sc, directory(), undefined, now)).rejects.toMatchObject({ code: 'REMOTE', message: expect.stringContaining('unknown message type 4080') });
    await expect(announceMember(reference, record(1))).rejects.toMatchObject({ message: expect.stringContaining('unknown message type 4082') });
  });
});
