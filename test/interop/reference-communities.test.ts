/**
 * Communities with a reference-format member (reference-peer.ts + reference-community.ts, written from
 * PROTOCOL.md §10 without our index code): our node probes the extension (COMMUNITY_MEMBERS_PAGE, 4080), gets the
 * reference's error envelope "unknown message type 4080", remembers the peer as classic, and gets correct results
 * over GET_COMMUNITY_STATUS / LIST_COMMUNITY_PUBLIC_SHARES: the reference member's community shares (and only
 * those), the member listed as joined, no further probes. Our community:info STORE merges at the reference.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from '../../src/index.js';
import { fromHex, toHex } from '../../src/protocol/bytes.js';
import { FLAG_RESPONSE, FLAGS_ERROR_RESPONSE } from '../../src/protocol/envelope.js';
import { MessageType } from '../../src/protocol/registry.js';
import { CommunityExtMessageType as X2, communityMemberAnnounceCodec, communityMemberAnnounceResultCodec, communityMembersPageCodec, communityMembersPageResultCodec, signMemberRecord } from '../../src/protocol/community-ext.js';
import { encodeMembershipToken } from '../../src/protocol/community.js';
import { ed25519Sign, publicKeyFromSeed } from '../../src/protocol/keys.js';
import { membershipTokenSignableBytes } from '../../src/protocol/signables.js';
import { communityPublicShareListCodec, listCommunityPublicSharesCodec } from '../../src/protocol/share-messages.js';
import { installReferenceCommunity, refCommunityMembers, type RefCommunityShare } from './reference-community.js';
import { RefClient, RefServer } from './reference-peer.js';

const nodes: Node[] = [];
const servers: RefServer[] = [];
const dirs: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  const crashed = nodes.flatMap((n) => n.health().actors.filter((a) => a.restarts > 0).map((a) => `${a.name}: ${a.lastError}`));
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => {})));
  await Promise.all(servers.splice(0).map((s) => s.close().catch(() => {})));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  expect(crashed, 'an actor of our node restarted').toEqual([]);
});

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x))}`);
    await sleep(300);
  }
}

const share = (n: number, communities: Uint8Array[], title: string): RefCommunityShare => ({
  shareId: new Uint8Array(32).fill(n),
  sharePubkey: new Uint8Array(32).fill(n + 1),
  latestSeq: BigInt(n),
  latestManifestId: new Uint8Array(32).fill(n + 2),
  title,
  description: `from the reference member (${n})`,
  updatedAt: 1_700_000_000n + BigInt(n),
  communities,
});

describe('our node ↔ a reference-format community member', () => {
  it('probes 4080, gets the error envelope, falls back to 404/406 with correct results', async () => {
    const ref = await RefServer.start();
    servers.push(ref);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-refcomm-'));
    dirs.push(dataDir);
    const node = await Node.start({ dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', actorMode: 'inline', bootstrap: [ref.url] });
    nodes.push(node);
    await node.connect(ref.url);

    // Our node creates the community; the reference node joined it (an invitation: id + pubkey).
    const c = await node.createCommunity('mixed');
    const cid = fromHex(c.communityId, 32);
    const other = new Uint8Array(32).fill(0xee);
    const refShares = [share(10, [cid], 'ref in community'), share(20, [cid, other], 'ref in two'), share(30, [other], 'ref elsewhere')];
    const refLog = installReferenceCommunity(ref, { communityId: cid, name: 'mixed (ref)', shares: refShares, selfAddr: { ip: '127.0.0.1', port: ref.port, transport: 'tcp', pubkeyHint: null } });
    const ours = await node.publishText('our public', 'hello', { visibility: 'public', communities: [c.communityId], publisher: 'ours' });
    await node.publishText('our private', 'secret', { visibility: 'private', publisher: 'diary' });

    // Browse: the reference member's two community shares (not the third), plus our own.
    const expected = [toHex(refShares[0]!.shareId), toHex(refShares[1]!.shareId), ours.shareId].sort();
    const r = await until('the reference member’s shares', () => node.browseCommunityShares(c.communityId, { limit: 100 }), (v) => v.shares.length >= 3);
    expect(r.shares.map((s) => s.shareId).sort()).toEqual(expected);
    const fromRef = r.shares.filter((s) => s.shareId !== ours.shareId);
    for (const s of fromRef) expect(s.peer).toContain(`127.0.0.1:${ref.port}`);
    expect(fromRef.find((s) => s.title === 'ref in two')).toMatchObject({ latestSeq: 20n, sharePubkey: toHex(new Uint8Array(32).fill(21)), description: 'from the reference member (20)' });
    expect(r.nextCursor).toBeNull();

    // The probe and the fallback, as the reference saw them.
    // (our periodic refresh may also have pushed an announce, 4082, before the probe: same answer, same outcome)
    const isExt = (t: number): boolean => t === X2.COMMUNITY_MEMBERS_PAGE || t === X2.COMMUNITY_MEMBERS_DELTA || t === X2.COMMUNITY_MEMBER_ANNOUNCE;
    const ext = ref.log.filter((e) => isExt(e.type));
    expect(ext.filter((e) => e.type === X2.COMMUNITY_MEMBERS_PAGE).length).toBeGreaterThanOrEqual(1);
    for (const p of ext) expect({ answeredType: p.answeredType, answeredFlags: p.answeredFlags, error: p.error }).toEqual({ answeredType: p.type, answeredFlags: FLAGS_ERROR_RESPONSE, error: `unknown message type ${p.type}` });
    expect(ext.some((e) => e.type === X2.COMMUNITY_MEMBERS_DELTA)).toBe(false); // no cursor is ever taken from an error
    const lists = ref.log.filter((e) => e.type === MessageType.LIST_COMMUNITY_PUBLIC_SHARES);
    expect(lists.length).toBeGreaterThanOrEqual(1);
    expect(lists.every((e) => e.answeredType === 407 && e.answeredFlags === FLAG_RESPONSE)).toBe(true);

    // Participants: the reference member via the classic record, joined, marked classic (extension false).
    const parts = await node.listCommunityParticipants(c.communityId);
    const refPart = parts.find((p) => p.addresses.some((a) => a.includes(`:${ref.port}`)));
    expect(refPart).toMatchObject({ joined: true, name: 'mixed (ref)', source: 'dht', extension: false, nodePubkey: null });
    expect(refLog.status).toBeGreaterThanOrEqual(1);

    // Remembered as classic: browsing again sends no extension request at all.
    const extBefore = ref.log.filter((e) => isExt(e.type)).length;
    const again = await node.browseCommunityShares(c.communityId, { limit: 100 });
    expect(again.shares.map((s) => s.shareId).sort()).toEqual(expected);
    expect(ref.log.filter((e) => isExt(e.type)).length).toBe(extBefore);

    // Our community:info STORE merged into the reference's record (its own entry kept, ours appended).
    await until('our member entry at the reference', async () => refCommunityMembers(ref, cid), (m) => m.length >= 2, 20_000);
    const members = refCommunityMembers(ref, cid);
    expect(members[0]).toMatchObject({ ip: '127.0.0.1', port: ref.port, pubkeyHint: null });
    expect(members.some((m) => m.pubkeyHint && toHex(m.pubkeyHint) === node.id.nodePubkey)).toBe(true);
    expect(ref.anomalies).toEqual([]);
  }, 120_000);
});

describe('a strict community on our node, asked over the wire by a reference-style client', () => {
  it('refuses missing, forged and stolen membership tokens; serves a valid one; refuses forged and stale member records', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-refstrict-'));
    dirs.push(dataDir);
    const node = await Node.start({ dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', actorMode: 'inline' });
    nodes.push(node);
    const c = await node.createCommunity('strict-club');
    await node.joinCommunity(c.communityId, c.sharePubkey, { strict: true });
    const pub = await node.publishText('members only', 'hello', { visibility: 'public', communities: [c.communityId], publisher: 'club' });
    const port = Number(/:(\d+)$/.exec(node.addresses().find((a) => a.startsWith('tcp://'))!)![1]);
    const cid = fromHex(c.communityId, 32);
    const cpub = fromHex(c.sharePubkey, 32);
    const seed = new Uint8Array(32).fill(0x77);
    const client = new RefClient(seed, '127.0.0.1', port);
    client.tolerateServerRequests = true;
    const now = BigInt(Math.floor(Date.now() / 1000));
    const t = { communityShareId: cid, memberNodePubkey: client.pubkey, issuedAt: now, expiresAt: now + 3_600n };
    const forged = encodeMembershipToken({ ...t, signature: ed25519Sign(new Uint8Array(32).fill(9), membershipTokenSignableBytes(t)) });
    const stolen = fromHex((await node.issueMembershipToken(c.communityId, toHex(publicKeyFromSeed(new Uint8Array(32).fill(0x78))))).token);
    const valid = fromHex((await node.issueMembershipToken(c.communityId, toHex(client.pubkey))).token);
    const text = (b: Uint8Array): string => new TextDecoder().decode(b);

    const list = async (proof: Uint8Array | null) => {
      const r = await client.request(406, client.nextDhtReqId(), listCommunityPublicSharesCodec.encode({ communityShareId: cid, communitySharePubkey: cpub, maxEntries: 64, requesterNodePubkey: client.pubkey, requesterMembershipProof: proof }));
      return r.env.flags === FLAGS_ERROR_RESPONSE ? `error: ${text(r.env.payload)}` : communityPublicShareListCodec.decode(r.env.payload).shares.map((x) => toHex(x.shareId));
    };
    expect(await list(null)).toBe('error: community membership proof required');
    expect(await list(forged)).toBe('error: community membership proof rejected');
    expect(await list(stolen)).toBe('error: community membership proof rejected');
    expect(await list(valid)).toEqual([pub.shareId]);

    // the extension's page request obeys the same rule, checked against the handshake's key
    const page = async (proof: Uint8Array | null) => {
      const r = await client.request(X2.COMMUNITY_MEMBERS_PAGE, client.nextDhtReqId(), communityMembersPageCodec.encode({ communityShareId: cid, communitySharePubkey: cpub, cursor: null, maxEntries: 10, requesterMembershipProof: proof }));
      return r.env.flags === FLAGS_ERROR_RESPONSE ? `error: ${text(r.env.payload)}` : communityMembersPageResultCodec.decode(r.env.payload).members.map((m) => toHex(m.memberNodePubkey));
    };
    expect(await page(forged)).toBe('error: community membership proof rejected');
    expect(await page(valid)).toEqual([node.id.nodePubkey]);

    // member records: a forged one (signed by another key), a stale one, one without a token (strict) are refused
    const announce = async (record: Parameters<typeof communityMemberAnnounceCodec.encode>[0]['record']) => {
      const r = await client.request(X2.COMMUNITY_MEMBER_ANNOUNCE, client.nextDhtReqId(), communityMemberAnnounceCodec.encode({ record }));
      return communityMemberAnnounceResultCodec.decode(r.env.payload);
    };
    const base = { communityShareId: cid, memberNodePubkey: client.pubkey, addrs: [{ ip: '127.0.0.1', port: 9, transport: 'tcp' as const, pubkeyHint: null }], left: false };
    const good = signMemberRecord({ ...base, issuedAt: now, expiresAt: now + 3_600n, membershipProof: valid }, seed);
    expect(await announce({ ...good, memberNodePubkey: publicKeyFromSeed(new Uint8Array(32).fill(0x78)) })).toEqual({ accepted: false, reason: 'bad_signature' });
    expect(await announce(signMemberRecord({ ...base, issuedAt: now - 7_200n, expiresAt: now - 3_600n, membershipProof: valid }, seed))).toEqual({ accepted: false, reason: 'stale' });
    expect(await announce(signMemberRecord({ ...base, issuedAt: now, expiresAt: now + 3_600n, membershipProof: forged }, seed))).toEqual({ accepted: false, reason: 'token_invalid' });
    expect(await announce(signMemberRecord({ ...base, issuedAt: now, expiresAt: now + 3_600n, membershipProof: null }, seed))).toEqual({ accepted: false, reason: 'token_missing' });
    expect(await announce(good)).toEqual({ accepted: true, reason: null });
    expect((await page(valid) as string[]).sort()).toEqual([node.id.nodePubkey, toHex(client.pubkey)].sort());
  }, 120_000);
});
