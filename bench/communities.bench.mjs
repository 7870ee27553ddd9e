#!/usr/bin/env node
// Communities at scale (docs/COMMUNITIES.md), two figures:
//  1. in memory: a 10,000-member directory (signed member records) browsed page by page through the real wire
//     handler and codecs (COMMUNITY_MEMBERS_PAGE, 500 per page) — time and payload bytes; then a delta sync after
//     100 joins; beside it, how many members the classic single `community:info:` value (≤ 64 KiB) can hold.
//  2. loopback: SCP2P_BENCH_MEMBERS (default 50) real nodes (actors inline) in one community, each with one public
//     community share; time for one member to browse them all (browseCommunityShares, limit 500).
// Imports dist/: `npm run build` first. Options: SCP2P_BENCH_MEMBERS, SCP2P_BENCH_SKIP_LOOPBACK=1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distUrl, requireDist } from './lib/bench-common.mjs';

const imp = (p) => import(distUrl(p));
requireDist();
const P = await imp('protocol/index.js');
const { MemberDirectory } = await imp('actors/index/communities/member-directory.js');
const { handleCommunityWire } = await imp('actors/index/communities/community-wire.js');

const NOW = Math.floor(Date.now() / 1000);
const communitySeed = new Uint8Array(32).fill(0xc1);
const communityPubkey = P.publicKeyFromSeed(communitySeed);
const communityId = P.shareIdFromPubkey(communityPubkey);
const idHex = P.toHex(communityId);
const addr = (i) => ({ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 7001, transport: 'tcp', pubkeyHint: null });
function rec(i) {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, i + 1);
  seed[31] = 0x5a;
  return P.signMemberRecord(
    { communityShareId: communityId, memberNodePubkey: P.publicKeyFromSeed(seed), addrs: [addr(i)], issuedAt: BigInt(NOW), expiresAt: BigInt(NOW + 3600), left: false, membershipProof: null },
    seed,
  );
}
const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;

// ------------------------------------------------------------------ 1. in memory
const N = 10_000;
let t = performance.now();
const records = Array.from({ length: N }, (_, i) => rec(i));
const signMs = performance.now() - t;
const dir = new MemberDirectory({ communityShareId: communityId, communityPubkey, epoch: 1n });
t = performance.now();
for (const r of records) dir.accept(r, NOW);
const acceptMs = performance.now() - t;
const state = {
  community: (id) => (id === idHex ? { communityId: idHex, sharePubkey: P.toHex(communityPubkey), name: 'bench', token: null, strict: false, owner: false, joinedAt: String(NOW) } : undefined),
  directory: (id) => (id === idHex ? dir : undefined),
  ownShares: () => [],
  manifestCommunities: () => [],
  nowUnix: () => NOW,
};
const X = P.CommunityExtMessageType;
let cursor = null;
let pages = 0;
let bytesOut = 0;
let bytesIn = 0;
let members = 0;
let sync = null;
t = performance.now();
do {
  const payload = P.communityMembersPageCodec.encode({ communityShareId: communityId, communitySharePubkey: communityPubkey, cursor, maxEntries: 500, requesterMembershipProof: null });
  bytesOut += payload.length;
  const r = handleCommunityWire(state, { messageType: X.COMMUNITY_MEMBERS_PAGE, payload });
  bytesIn += r.payload.length;
  const page = P.communityMembersPageResultCodec.decode(r.payload);
  // the client verifies every record it keeps
  for (const m of page.members) if (P.checkMemberRecord(m, { communityShareId: communityId, communityPubkey, nowUnix: NOW }) !== null) throw new Error('bad record');
  sync ??= page.syncCursor;
  members += page.members.length;
  cursor = page.nextCursor;
  pages++;
} while (cursor);
const browseMs = performance.now() - t;

for (let i = 0; i < 100; i++) dir.accept(rec(N + i), NOW);
t = performance.now();
const dPayload = P.communityMembersDeltaCodec.encode({ communityShareId: communityId, communitySharePubkey: communityPubkey, since: sync, maxEntries: 500, requesterMembershipProof: null });
const dr = handleCommunityWire(state, { messageType: X.COMMUNITY_MEMBERS_DELTA, payload: dPayload });
const delta = P.communityMembersDeltaResultCodec.decode(dr.payload);
const deltaMs = performance.now() - t;

// classic: how many PeerAddrs fit one community:info value of at most 64 KiB
let fit = 0;
for (let lo = 1, hi = N; lo <= hi; ) {
  const mid = (lo + hi) >> 1;
  const size = P.encodeCommunityMembers({ communityShareId: communityId, members: records.slice(0, mid).map((r) => r.addrs[0]), updatedAt: BigInt(NOW) }).length;
  if (size <= 65_536) {
    fit = mid;
    lo = mid + 1;
  } else hi = mid - 1;
}

console.log(`communities bench (Node ${process.version})`);
console.log(`in memory, ${N.toLocaleString()} members:`);
console.log(`  sign ${N} member records           ${signMs.toFixed(0)} ms   accept (verify) ${acceptMs.toFixed(0)} ms`);
console.log(`  browse page by page (500/page)    ${browseMs.toFixed(0)} ms, ${pages} pages, ${members} members, requests ${kib(bytesOut)}, answers ${kib(bytesIn)} (${(bytesIn / members).toFixed(0)} B/member), client verifies every record`);
console.log(`  delta sync after 100 joins        ${deltaMs.toFixed(1)} ms, ${delta.members.length} records, ${kib(dr.payload.length)}`);
console.log(`  classic community:info (≤ 64 KiB) holds at most ${fit} members (our DHT also caps it at 1,024)`);

// ------------------------------------------------------------------ 2. loopback
if (process.env.SCP2P_BENCH_SKIP_LOOPBACK !== '1') {
  const { Node } = await imp('index.js');
  const M = Number(process.env.SCP2P_BENCH_MEMBERS ?? 50);
  const base = mkdtempSync(join(tmpdir(), 'scp2p-comm-bench-'));
  const nodes = [];
  const start = async (bootstrap, extra = {}) => {
    const n = await Node.start({ dataDir: join(base, `n${nodes.length}`), listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap, actorMode: 'inline', ...extra });
    nodes.push(n);
    return n;
  };
  try {
    t = performance.now();
    const hub = await start([]);
    const boot = hub.addresses();
    const owner = await start(boot);
    const c = await owner.createCommunity('bench');
    const mem = [owner];
    for (let i = 1; i < M; i++) {
      const n = await start(boot);
      await n.joinCommunity(c.communityId, c.sharePubkey);
      mem.push(n);
    }
    for (const n of mem) await n.publishText(`share of ${n.id.nodeId.slice(0, 8)}`, 'x', { visibility: 'public', communities: [c.communityId], publisher: 'bench' });
    const setupMs = performance.now() - t;
    const browser = mem[M - 1];
    let got = 0;
    let first = 0;
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      const r = await browser.browseCommunityShares(c.communityId, { limit: 500 });
      const ms = performance.now() - t;
      got = r.shares.length;
      if (i === 0) first = ms;
      if (got === M) {
        // payload bytes of the 406 exchanges, recomputed with the same codecs (the session keeps no per-call counters)
        const byPeer = new Map();
        for (const s of r.shares) byPeer.set(s.peer ?? 'self', [...(byPeer.get(s.peer ?? 'self') ?? []), s]);
        let payloadBytes = 0;
        for (const [peer, list] of byPeer) {
          if (peer === 'self') continue;
          payloadBytes += P.listCommunityPublicSharesCodec.encode({ communityShareId: P.fromHex(c.communityId), communitySharePubkey: P.fromHex(c.sharePubkey), maxEntries: 64, requesterNodePubkey: P.fromHex(browser.id.nodePubkey), requesterMembershipProof: null }).length;
          payloadBytes += P.communityPublicShareListCodec.encode({ communityShareId: P.fromHex(c.communityId), shares: list.map((v) => ({ shareId: P.fromHex(v.shareId), sharePubkey: P.fromHex(v.sharePubkey), latestSeq: v.latestSeq, latestManifestId: P.fromHex(v.latestManifestId), title: v.title, description: v.description })) }).length;
        }
        console.log(`loopback, ${M} members (actors inline, 1 hub): setup ${(setupMs / 1000).toFixed(1)} s`);
        console.log(`  browseCommunityShares            ${ms.toFixed(0)} ms for ${got} shares (first try ${first.toFixed(0)} ms); 406 payloads ${kib(payloadBytes)} (+ directory pull and community:info lookup)`);
        break;
      }
      if (i === 2) console.log(`loopback, ${M} members: browse found ${got}/${M} shares after 3 tries (${ms.toFixed(0)} ms last)`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    rmSync(base, { recursive: true, force: true });
  }
}
process.exit(0);
