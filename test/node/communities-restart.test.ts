/**
 * Two real nodes on loopback (actors inline): a community's member directory survives a restart (the records are
 * persisted in `index/community-members` and re-verified on load), and a member who leaves is withdrawn from the
 * other's directory by its signed tombstone — still withdrawn after another restart, and never re-announced.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Node } from '../../src/index.js';
import type { CommunityParticipant } from '../../src/messages/index-mailbox.js';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-comm-restart-'));
const running = new Set<Node>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  await Promise.all([...running].map((n) => n.stop().catch(() => {})));
  fs.rmSync(base, { recursive: true, force: true });
});

async function start(name: string, bootstrap: string[] = []): Promise<Node> {
  const n = await Node.start({ dataDir: path.join(base, name), listen: { tcp: 0, quic: null }, host: '127.0.0.1', actorMode: 'inline', bootstrap });
  running.add(n);
  return n;
}
async function stop(n: Node): Promise<void> {
  await n.stop();
  running.delete(n);
}
async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 40_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await sleep(500);
  }
}
const byKey = (ps: CommunityParticipant[], key: string): CommunityParticipant | undefined => ps.find((p) => p.nodePubkey === key);

describe('community member directories across restarts, and leaving', () => {
  it('persist, reload, and drop a member who left', async () => {
    let a = await start('a');
    let b = await start('b', a.addresses());
    const c = await a.createCommunity('restart-club');
    await b.joinCommunity(c.communityId, c.sharePubkey);
    const bKey = b.id.nodePubkey;

    // B's signed record reached A's directory (announce on join, or A's pull)
    const seen = await until('B in A’s directory', () => a.listCommunityParticipants(c.communityId), (ps) => ['directory', 'both'].includes(byKey(ps, bKey)?.source ?? ''));
    expect(byKey(seen, bKey)).toMatchObject({ joined: true, extension: true });

    // Both stop; A comes back alone, offline from B: the directory is still there, from disk
    await stop(b);
    await stop(a);
    a = await start('a');
    expect((await a.listCommunities()).map((x) => x.communityId)).toEqual([c.communityId]);
    const reloaded = await a.listCommunityParticipants(c.communityId);
    const bAfter = byKey(reloaded, bKey);
    expect(bAfter, 'B’s record survived A’s restart').toBeDefined();
    expect(['directory', 'both']).toContain(bAfter!.source);
    expect(bAfter!.joined).toBeNull(); // B is down: nothing answered GET_COMMUNITY_STATUS
    expect(bAfter!.addresses.length).toBeGreaterThan(0);

    // B comes back and leaves: its tombstone withdraws it from A's directory (and the classic entry is ignored)
    b = await start('b', a.addresses());
    // (A listens on a new port now: B's stored record of A names the old one, the rendezvous the new one)
    await until('A reachable from B', () => b.listCommunityParticipants(c.communityId), (ps) => byKey(ps, a.id.nodePubkey)?.joined === true, 30_000);
    expect(await b.leaveCommunity(c.communityId)).toEqual({ left: true });
    await until('B gone from A’s participants', () => a.listCommunityParticipants(c.communityId), (ps) => byKey(ps, bKey) === undefined, 30_000);
    expect((await b.browseCommunityShares(c.communityId)).shares).toEqual([]);
    expect(await b.listCommunities()).toEqual([]);

    // Restarts change nothing: A keeps the tombstone (not the old join record), B forgot the community
    await stop(a);
    await stop(b);
    a = await start('a');
    b = await start('b');
    const later = await a.listCommunityParticipants(c.communityId);
    expect(byKey(later, bKey)).toBeUndefined();
    expect(await b.listCommunities()).toEqual([]);
  }, 240_000);
});
