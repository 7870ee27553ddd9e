/**
 * The owners of inbound requests, in process and with real state, as the session's dispatch reaches them in a
 * node: the DHT core (routing table, value store with validation), the relay core, the index's wire handlers
 * (a real signed manifest behind GET_MANIFEST, one public share), the community wire handlers, the fetcher's
 * SeedService over a real file on disk (GET_CHUNK reads it), and the session's own PEX (a real peer DB).
 * `answer` is what the owner would send back; an exception out of an owner is a finding, not an answer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRandom } from '../../src/actors/runtime/random.js';
import { systemClock } from '../../src/actors/runtime/clock.js';
import { unwrapTransfer } from '../../src/actors/runtime/transfer.js';
import { DhtCore } from '../../src/actors/dht/dht-core.js';
import { decodeDhtRequest, encodeDhtReply, senderOf } from '../../src/actors/dht/dht-driver.js';
import { RelayCore } from '../../src/actors/relay/relay-core.js';
import { handleWire, type WireState } from '../../src/actors/index/wire-handlers.js';
import { COMMUNITY_WIRE_TYPES, handleCommunityWire } from '../../src/actors/index/communities/community-wire.js';
import { ChunkReader } from '../../src/actors/fetcher/chunk-reader.js';
import { MemoryKeyValue } from '../../src/actors/fetcher/fetcher-store.js';
import { SeedService } from '../../src/actors/fetcher/seed-service.js';
import { PeerDb } from '../../src/actors/session/peer-db.js';
import { answerPexRequest, mergePexOffer } from '../../src/actors/session/pex.js';
import type { Reply } from '../../src/actors/session/connection-types.js';
import type { RequestOwner } from '../../src/actors/session/dispatch.js';
import type { PeerRef } from '../../src/messages/wire.js';
import { toHex } from '../../src/protocol/bytes.js';
import { describeContent } from '../../src/protocol/content.js';
import { isError, errorText } from '../../src/protocol/envelope.js';
import { shareIdFromPubkey } from '../../src/protocol/ids.js';
import { publicKeyFromSeed } from '../../src/protocol/keys.js';
import { encodeManifest, manifestId, signManifest, type ManifestV1 } from '../../src/protocol/manifest.js';
import { pexOfferCodec } from '../../src/protocol/pex.js';
import { MessageType, type DecodedRequest } from '../../src/protocol/registry.js';

export interface OwnedRequest {
  owner: RequestOwner;
  reqId: number;
  request: DecodedRequest;
  payload: Uint8Array;
  from: PeerRef;
  connId: number;
}

export interface RealData {
  manifestId: Uint8Array;
  manifestBytes: Uint8Array;
  shareId: Uint8Array;
  sharePubkey: Uint8Array;
  contentId: Uint8Array;
  size: number;
}

const FILE_BYTES = 3 * 256 * 1024 + 12_345;

export class InProcessOwners {
  readonly dir: string;
  readonly data: RealData;
  readonly dht: DhtCore;
  readonly relay: RelayCore;
  readonly peerDb: PeerDb;
  readonly seeds: SeedService;
  readonly #wireState: WireState;
  #inbound = 1;
  #now = 0;

  private constructor(dir: string, data: RealData, seeds: SeedService, selfPubkey: Uint8Array) {
    this.dir = dir;
    this.data = data;
    this.seeds = seeds;
    const random = createRandom('fuzz-owners');
    this.dht = new DhtCore({ random: random.fork('dht') }, { localPubkey: selfPubkey });
    this.relay = new RelayCore({ random: random.fork('relay') }, { enabled: true }, 0);
    this.peerDb = new PeerDb({ random: random.fork('pex') });
    const manifestHex = toHex(data.manifestId);
    this.#wireState = {
      manifestBytes: (id) => (id === manifestHex ? data.manifestBytes : undefined),
      ownShares: () => [
        {
          shareId: toHex(data.shareId),
          sharePubkey: toHex(data.sharePubkey),
          publisher: 'default',
          seq: '1',
          manifestId: manifestHex,
          title: 'fuzz share',
          description: null,
          visibility: 'public',
          items: 1,
          updatedAt: '1700000000',
        } as never,
      ],
    };
  }

  /** A seeded file on disk, a signed manifest listing it, and the cores. Call `close()` to remove the file. */
  static async create(selfPubkey: Uint8Array): Promise<InProcessOwners> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-fuzz-owners-'));
    const bytes = new Uint8Array(FILE_BYTES);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 9)) & 0xff;
    const file = path.join(dir, 'content.bin');
    fs.writeFileSync(file, bytes);
    const d = describeContent(bytes);
    const shareSeed = new Uint8Array(32).fill(0x5a);
    const sharePubkey = publicKeyFromSeed(shareSeed);
    const shareId = shareIdFromPubkey(sharePubkey);
    const m: ManifestV1 = signManifest(
      {
        version: 1,
        sharePubkey,
        shareId,
        seq: 1n,
        createdAt: 1_700_000_000n,
        expiresAt: null,
        title: 'fuzz share',
        description: null,
        visibility: 'public',
        communities: [],
        items: [{ contentId: d.contentId, size: d.size, name: 'content.bin', path: null, mime: null, tags: [], chunkCount: d.chunkCount, chunkListHash: d.chunkListHash }],
        recommendedShares: [],
        signature: null,
      },
      shareSeed,
    );
    const reader = new ChunkReader({ clock: systemClock }, { maxPerPeer: 64, maxQueuedPerPeer: 1024 });
    const seeds = new SeedService({
      seeds: new MemoryKeyValue(),
      reader,
      hashFile: async () => {
        throw new Error('the fuzz seed passes its chunk hashes');
      },
      announce: async () => {},
      unannounce: async () => {},
      now: () => Date.now(),
    });
    const hashes = new Uint8Array(d.chunkHashes.length * 32);
    d.chunkHashes.forEach((h, i) => hashes.set(h, i * 32));
    await seeds.seed({ contentId: toHex(d.contentId), path: file, size: FILE_BYTES, chunkHashes: hashes });
    return new InProcessOwners(dir, { manifestId: manifestId(m), manifestBytes: encodeManifest(m), shareId, sharePubkey, contentId: d.contentId, size: FILE_BYTES }, seeds, selfPubkey);
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * What the owner answers; undefined when it answers later (a relay request waiting on a tunnel), which the
   * connection's handler timeout then answers for it, as in a node. Throws only if the owner throws (a finding).
   */
  async answer(req: OwnedRequest, now: number): Promise<Reply | undefined> {
    this.#now = now;
    switch (req.owner) {
      case 'session':
        return this.#pex(req);
      case 'dht':
        return this.#dht(req);
      case 'relay':
        return this.#relay(req);
      case 'index':
        return COMMUNITY_WIRE_TYPES.has(req.request.type)
          ? handleCommunityWire(
              { community: () => undefined, directory: () => undefined, ownShares: () => this.#wireState.ownShares(), manifestCommunities: () => [], nowUnix: () => Math.floor(now / 1000) },
              { messageType: req.request.type, payload: req.payload, from: req.from },
            )
          : handleWire(this.#wireState, { messageType: req.request.type, payload: req.payload });
      case 'fetcher': {
        const r = await this.seeds.handleWire({ from: req.from, messageType: req.request.type, reqId: req.reqId, payload: req.payload });
        return unwrapTransfer(r).value as Reply;
      }
    }
  }

  #pex(req: OwnedRequest): Reply {
    const r = req.request;
    if (r.type === MessageType.PEX_OFFER) {
      mergePexOffer(this.peerDb, r.payload, { senderIp: '203.0.113.7', selfPubkey: new Uint8Array(32), selfAddrKeys: new Set(), now: this.#now });
      return { payload: new Uint8Array(0) };
    }
    if (r.type === MessageType.PEX_REQUEST) return { payload: pexOfferCodec.encode(answerPexRequest(this.peerDb, r.payload, this.#now, null)) };
    return { error: 'internal error' };
  }

  #dht(req: OwnedRequest): Reply {
    const request = decodeDhtRequest(req.request.type, req.payload);
    if (!request) return { error: 'internal error' };
    const { addr, dialable } = senderOf(req.from);
    const inboundId = this.#inbound++;
    this.dht.handle({ type: 'inbound', inboundId, from: addr, dialable, request }, this.#now);
    let reply: Reply | undefined;
    for (let e = this.dht.pollEffect(); e; e = this.dht.pollEffect()) {
      if (e.kind === 'reply' && e.inboundId === inboundId) reply = encodeDhtReply(e.reply);
      // Pings and lookups the core asks for go nowhere here: the DHT would send them through the session.
    }
    if (!reply) throw new Error(`the DHT core did not answer inbound ${inboundId} synchronously`);
    return reply;
  }

  #relay(req: OwnedRequest): Reply | undefined {
    this.relay.handle(
      { type: 'request', conn: req.connId, requester: `pubkey:${req.from.pubkey}`, envelope: { type: req.request.type, reqId: req.reqId, flags: 0, payload: req.payload } },
      this.#now,
    );
    let reply: Reply | undefined;
    for (let e = this.relay.pollEffect(); e; e = this.relay.pollEffect()) {
      if (e.kind === 'reply' && e.conn === req.connId && e.envelope.reqId === req.reqId) {
        reply = isError(e.envelope) ? { error: errorText(e.envelope) } : { payload: e.envelope.payload, type: e.envelope.type };
      }
    }
    // A RELAY_CONNECT / RELAY_STREAM into a slot nobody holds is answered at once; one that waits on a tunnel
    // is left to the connection's handler timeout, as in a node.
    return reply;
  }
}
