/**
 * Communities on real loopback nodes (issue 10): 20 nodes (actors in-process, `actorMode: 'inline'`, to spare
 * the 2 cores) bootstrapped off one DHT hub, in two communities. Members see each other's public community
 * shares and only those; private shares and shares of the other community never appear; a non-member sees
 * nothing; in strict mode a member without a valid token is refused while a token holder is served, and a
 * forged token is refused at join.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Node } from '../../src/node.js';
import { encodeMembershipToken } from '../../src/protocol/community.js';
import { fromHex, toHex } from '../../src/protocol/bytes.js';
import { ed25519Sign } from '../../src/protocol/keys.js';
import { membershipTokenSignableBytes } from '../../src/protocol/signables.js';

const MEMBERS_PER_COMMUNITY = 9; // + hub + outsider = 20 nodes
let base: string;
let dirs = 0;
const nodes: Node[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe().catch(() => undefined as T);
    if ((v !== undefined && ok(v)) || Date.now() - t0 > ms) return v;
    await sleep(500);
  }
}

async function start(bootstrap: string[] = [], extra: Record<string, unknown> = {}): Promise<Node> {
  const n = await Node.start({ dataDir: join(base, `n${dirs++}`), listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap, actorMode: 'inline', ...extra });
  nodes.push(n);
  return n;
}

const ids = (r: { shares: Array<{ shareId: string }> }): string[] => r.shares.map((s) => s.shareId);

let hub: Node;
let outsider: Node;
const groups: Array<{ id: string; pubkey: string; members: Node[]; pub: string[]; priv: string[] }> = [];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'scp2p-e2e-comm-'));
  hub = await start([], { capabilities: { dht: true, store: true, relay: false, contentSeed: false, mobileLight: false } });
  const boot = hub.addresses();
  // Starts, joins and publishes run concurrently per community: the setup is long on a loaded 2-core machine.
  for (const name of ['makers', 'readers']) {
    const members = await Promise.all(Array.from({ length: MEMBERS_PER_COMMUNITY }, () => start(boot)));
    const c = await members[0]!.createCommunity(name);
    await Promise.all(members.slice(1).map((m) => m.joinCommunity(c.communityId, c.sharePubkey)));
    groups.push({ id: c.communityId, pubkey: c.sharePubkey, members, pub: [], priv: [] });
  }
  outsider = await start(boot);
  // the first three members of each community publish one public community share and one private share
  await Promise.all(
    groups.flatMap((g) =>
      g.members.slice(0, 3).map(async (m, i) => {
        const p = await m.publishText(`public of ${m.id.nodeId.slice(0, 8)}`, 'hello community', { visibility: 'public', communities: [g.id], publisher: `pub-${g.id.slice(0, 6)}` });
        const q = await m.publishText('private diary', 'not for anyone', { visibility: 'private', publisher: 'diary' });
        // by member index, not by completion order: pub[0] must be the owner's (the strict-mode test relies on it)
        g.pub[i] = p.shareId;
        g.priv[i] = q.shareId;
      }),
    ),
  );
}, 900_000);

afterAll(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => undefined)));
  await rm(base, { recursive: true, force: true });
});

describe('two communities on 20 loopback nodes', () => {
  it('members see exactly the public shares of their own community, never a private one', async () => {
    for (const g of groups) {
      const other = groups.find((x) => x !== g)!;
      for (const m of [g.members[1]!, g.members[MEMBERS_PER_COMMUNITY - 1]!]) {
        const r = await until(() => m.browseCommunityShares(g.id, { limit: 100 }), (v) => g.pub.every((s) => ids(v).includes(s)), 60_000);
        expect([...ids(r)].sort()).toEqual([...g.pub].sort());
        for (const s of [...g.priv, ...other.pub, ...other.priv]) expect(ids(r)).not.toContain(s);
      }
    }
  });

  it('browsing pages with a cursor returns every share once', async () => {
    const g = groups[0]!;
    const m = g.members[4]!;
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const r = await m.browseCommunityShares(g.id, { limit: 1, cursor });
      seen.push(...ids(r));
      cursor = r.nextCursor;
      if (!cursor) break;
    }
    expect([...seen].sort()).toEqual([...g.pub].sort());
  });

  it('participants are found (directory and community:info), and a non-member sees nothing', async () => {
    const g = groups[1]!;
    const parts = await until(() => g.members[2]!.listCommunityParticipants(g.id), (p) => p.length >= MEMBERS_PER_COMMUNITY - 1, 60_000);
    expect(parts.length).toBeGreaterThanOrEqual(MEMBERS_PER_COMMUNITY - 1);
    expect(parts.every((p) => p.joined !== false)).toBe(true);
    expect(ids(await outsider.browseCommunityShares(g.id))).toEqual([]);
    await expect(outsider.listCommunityParticipants(g.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(outsider.joinCommunity(g.id, 'ff'.repeat(32))).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('LIST_PUBLIC_SHARES to connected peers lists public shares only', async () => {
    const g = groups[0]!;
    const shares = await until(() => hub.listPublicSharesFromPeers(), (v) => g.pub.some((s) => v.map((x) => x.shareId).includes(s)), 30_000);
    const listed = shares.map((s) => s.shareId);
    for (const s of [...groups[0]!.priv, ...groups[1]!.priv]) expect(listed).not.toContain(s);
  });

  it('strict mode: a token holder is served; no token or a forged token is refused', async () => {
    const g = groups[0]!;
    const owner = g.members[0]!;
    // the owner turns strict on; member 1 gets a real token, member 2 has none
    await owner.joinCommunity(g.id, g.pubkey, { strict: true });
    const holder = g.members[1]!;
    const { token } = await owner.issueMembershipToken(g.id, holder.id.nodePubkey);
    await holder.joinCommunity(g.id, g.pubkey, { membershipToken: token });
    const ownerShare = g.pub[0]!;
    const seenByHolder = await until(() => holder.browseCommunityShares(g.id, { limit: 100 }), (v) => ids(v).includes(ownerShare), 30_000);
    expect(ids(seenByHolder)).toContain(ownerShare);
    const seenWithout = await g.members[2]!.browseCommunityShares(g.id, { limit: 100 });
    expect(ids(seenWithout)).not.toContain(ownerShare);
    // a forged token (right shape, signed by a key that is not the community's) is refused
    const member = fromHex(g.members[3]!.id.nodePubkey, 32);
    const t = { communityShareId: fromHex(g.id, 32), memberNodePubkey: member, issuedAt: BigInt(Math.floor(Date.now() / 1000)), expiresAt: BigInt(Math.floor(Date.now() / 1000) + 3600) };
    const forged = toHex(encodeMembershipToken({ ...t, signature: ed25519Sign(new Uint8Array(32).fill(7), membershipTokenSignableBytes(t)) }));
    await expect(g.members[3]!.joinCommunity(g.id, g.pubkey, { membershipToken: forged })).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
    expect(ids(await g.members[3]!.browseCommunityShares(g.id, { limit: 100 }))).not.toContain(ownerShare);
  });

  it('a member who leaves sees nothing any more', async () => {
    const g = groups[1]!;
    const m = g.members[8]!;
    expect(await m.leaveCommunity(g.id)).toEqual({ left: true });
    expect(ids(await m.browseCommunityShares(g.id))).toEqual([]);
    expect((await m.listCommunities()).map((c) => c.communityId)).not.toContain(g.id);
  });
});
