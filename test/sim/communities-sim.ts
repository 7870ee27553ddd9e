/**
 * A deterministic simulator for community member directories (docs/COMMUNITIES.md): N members on a virtual
 * clock, each with the real MemberDirectory, answering the real wire handler (handleCommunityWire) and syncing with
 * the real client code (pullMembers / announceMember) over an in-memory transport that encodes every message and
 * counts its bytes. The round schedule mirrors the node's community service: refresh our record every
 * refreshSecs, announce it to PULL_PEERS random members, pull (delta, or pages on first contact) from PULL_PEERS
 * random members. Members can leave with a tombstone, vanish silently (offline), or be "reference" peers that
 * answer the extension's numbers like the reference does ("unknown message type N").
 */
import type { CommunityRecord } from '../../src/actors/index/communities/community-book.js';
import { handleCommunityWire, type CommunityWireState } from '../../src/actors/index/communities/community-wire.js';
import { MemberDirectory } from '../../src/actors/index/communities/member-directory.js';
import { announceMember, pullMembers, type SendToPeer, type SyncCommunity } from '../../src/actors/index/communities/member-sync.js';
import { createRandom, type Random } from '../../src/actors/runtime/random.js';
import { ScpError } from '../../src/errors.js';
import type { PeerRef } from '../../src/messages/wire.js';
import { toHex } from '../../src/protocol/bytes.js';
import { MEMBER_RECORD_DEFAULT_TTL_SECS, signMemberRecord, type CommunityMemberRecord } from '../../src/protocol/community-ext.js';
import { publicKeyFromSeed } from '../../src/protocol/keys.js';
import { unknownMessageTypeText } from '../../src/protocol/registry.js';
import { addrOf, communityId, communityIdHex, communityPubkey, NOW, nodeSeed } from '../actors/index/communities/helpers.js';

export const PULL_PEERS = 3;

export interface SimMember {
  index: number;
  seed: Uint8Array;
  pubkey: Uint8Array;
  key: string;
  dir: MemberDirectory;
  /** false: offline (answers nothing, does nothing). */
  online: boolean;
  joined: boolean;
  /** Speaks only the classic messages: every extension request gets the reference's error envelope. */
  reference: boolean;
  lastIssued: bigint;
  nextRefresh: number;
  /** Delta cursor per peer index. */
  cursors: Map<number, Uint8Array>;
  token: Uint8Array | null;
}

export interface SimTraffic {
  requests: number;
  bytesOut: number;
  bytesIn: number;
  errors: number;
}

export class CommunitySim {
  now = NOW;
  readonly members: SimMember[] = [];
  readonly traffic: SimTraffic = { requests: 0, bytesOut: 0, bytesIn: 0, errors: 0 };
  readonly random: Random;
  private epochs = 1n;

  constructor(
    seed: number,
    readonly opts: { ttlSecs?: number; refreshSecs?: number; strict?: boolean } = {},
  ) {
    this.random = createRandom(seed);
  }

  get ttl(): number {
    return this.opts.ttlSecs ?? MEMBER_RECORD_DEFAULT_TTL_SECS;
  }

  add(index: number, o: { reference?: boolean; token?: Uint8Array | null } = {}): SimMember {
    const seed = nodeSeed(index);
    const pubkey = publicKeyFromSeed(seed);
    const m: SimMember = {
      index,
      seed,
      pubkey,
      key: toHex(pubkey),
      dir: new MemberDirectory({ communityShareId: communityId, communityPubkey, epoch: this.epochs++, strict: this.opts.strict ?? false }),
      online: true,
      joined: true,
      reference: o.reference ?? false,
      lastIssued: 0n,
      nextRefresh: this.now,
      cursors: new Map(),
      token: o.token ?? null,
    };
    this.members.push(m);
    return m;
  }

  /** The member's own record, strictly newer than its last; a tombstone lists the addresses it withdraws (as the node's ownRecord). */
  record(m: SimMember, left = false): CommunityMemberRecord {
    const now = BigInt(this.now);
    const issuedAt = now > m.lastIssued ? now : m.lastIssued + 1n;
    m.lastIssued = issuedAt;
    return signMemberRecord(
      { communityShareId: communityId, memberNodePubkey: m.pubkey, addrs: [addrOf(m.index)], issuedAt, expiresAt: issuedAt + BigInt(this.ttl), left, membershipProof: m.token },
      m.seed,
    );
  }

  private state(m: SimMember): CommunityWireState {
    const rec: CommunityRecord = { communityId: communityIdHex, sharePubkey: toHex(communityPubkey), name: null, token: m.token, strict: this.opts.strict ?? false, owner: false, joinedAt: String(NOW) };
    return {
      community: (id) => (id === communityIdHex && m.joined ? rec : undefined),
      directory: (id) => (id === communityIdHex && m.joined ? m.dir : undefined),
      ownShares: () => [],
      manifestCommunities: () => [],
      nowUnix: () => this.now,
    };
  }

  /** `from` → `to` over the simulated wire: encoded request, the real handler, encoded answer or error envelope. */
  sender(from: SimMember, to: SimMember): SendToPeer {
    const ref: PeerRef = {
      nodeId: '', pubkey: from.key, remote: `${addrOf(from.index).ip}:7001`, transport: 'tcp', relayed: false, addr: null,
      capabilities: { dht: false, store: false, relay: false, contentSeed: false, mobileLight: false },
    } as PeerRef;
    return async (messageType, payload) => {
      this.traffic.requests++;
      this.traffic.bytesOut += payload.length;
      if (!to.online) {
        this.traffic.errors++;
        throw ScpError.timeout(`member ${to.index}`, 5_000);
      }
      const reply = to.reference ? { error: unknownMessageTypeText(messageType) } : handleCommunityWire(this.state(to), { messageType, payload, from: ref });
      if ('error' in reply) {
        this.traffic.errors++;
        throw ScpError.remote(reply.error);
      }
      this.traffic.bytesIn += reply.payload.length;
      return reply.payload;
    };
  }

  sync(m: SimMember): SyncCommunity {
    return { communityShareId: communityId, communityPubkey, token: m.token };
  }

  private pick(m: SimMember, n: number): SimMember[] {
    const others = this.members.filter((x) => x !== m && x.joined);
    for (let i = others.length - 1; i > 0; i--) {
      const j = this.random.int(i + 1);
      [others[i], others[j]] = [others[j]!, others[i]!];
    }
    return others.slice(0, n);
  }

  /** Pulls `from`'s directory into `m`'s (delta with a cursor, pages otherwise); errors mean "try another". */
  async pull(m: SimMember, from: SimMember): Promise<void> {
    try {
      const r = await pullMembers(this.sender(m, from), this.sync(m), m.dir, m.cursors.get(from.index), () => this.now);
      if (r.cursor) m.cursors.set(from.index, r.cursor);
      else m.cursors.delete(from.index);
    } catch {
      /* offline or classic: the next round picks others */
    }
  }

  async announce(m: SimMember, record: CommunityMemberRecord): Promise<void> {
    for (const to of this.pick(m, PULL_PEERS)) await announceMember(this.sender(m, to), record).catch(() => undefined);
  }

  /** One round at the current time for every online joined (extension-speaking) member, then `stepSecs` pass. */
  async round(stepSecs: number): Promise<void> {
    const refresh = this.opts.refreshSecs ?? Math.floor(this.ttl / 3);
    for (const m of this.members) {
      if (!m.online || !m.joined || m.reference) continue;
      if (this.now >= m.nextRefresh) {
        const r = this.record(m);
        m.dir.accept(r, this.now);
        await this.announce(m, r);
        m.nextRefresh = this.now + refresh;
      }
      for (const p of this.pick(m, PULL_PEERS)) await this.pull(m, p);
    }
    this.now += stepSecs;
  }

  /** Leaves as the node does: a tombstone, strictly newer than its last record, pushed to a few members. */
  async leave(m: SimMember): Promise<CommunityMemberRecord> {
    const tomb = this.record(m, true);
    m.dir.accept(tomb, this.now);
    await this.announce(m, tomb);
    m.joined = false;
    return tomb;
  }

  /** Which online joined members still list `key` as a live member. */
  listing(key: string): number[] {
    return this.members.filter((x) => x.online && x.joined && x.key !== key && x.dir.live(this.now).some((r) => toHex(r.memberNodePubkey) === key)).map((x) => x.index);
  }
}
