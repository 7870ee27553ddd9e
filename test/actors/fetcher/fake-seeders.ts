/**
 * In-memory seeders for the download orchestration: each is a real SeedService + ChunkReader serving real
 * files from a temp dir through `handleWire`, reached by an injected `request(peer, type, payload)` instead of
 * a session. Behaviours: honest, corrupt (flips a byte of every chunk it serves), slow (adds latency), and
 * `failAfter` (answers "chunk not found" once it has served N chunks: a seeder that goes away mid-way).
 */
import { readFile } from 'node:fs/promises';
import { ChunkReader } from '../../../src/actors/fetcher/chunk-reader.js';
import type { PeerRequest } from '../../../src/actors/fetcher/download-job.js';
import { MemoryKeyValue, type StoredSeed } from '../../../src/actors/fetcher/fetcher-store.js';
import { SeedService, type FileHashes } from '../../../src/actors/fetcher/seed-service.js';
import { systemClock } from '../../../src/actors/runtime/clock.js';
import { unwrapTransfer } from '../../../src/actors/runtime/transfer.js';
import { ScpError } from '../../../src/errors.js';
import type { PeerRef, WireReply } from '../../../src/messages/wire.js';
import { ContentDescriber } from '../../../src/protocol/content.js';
import { peerAddrKey, type PeerAddr } from '../../../src/protocol/peer-addr.js';
import { MessageType } from '../../../src/protocol/registry.js';
import { chunkDataCodec } from '../../../src/protocol/transfer-messages.js';

export type Behaviour = 'honest' | 'corrupt' | 'slow';

export interface FakeSeeder {
  addr: PeerAddr;
  service: SeedService;
  behaviour: Behaviour;
  latencyMs: number;
  /** After this many GET_CHUNK answers, every further one is "chunk not found". */
  failAfter: number;
  served: number;
  /** Chunk answers on their way (a failure waits for them: on a real connection answers keep request order). */
  answering: Set<Promise<unknown>>;
  /** Chunk indices asked for, in order. */
  asked: number[];
  hashAsks: number;
}

export async function hashFileInline(path: string): Promise<FileHashes> {
  const d = new ContentDescriber().update(new Uint8Array(await readFile(path))).finish();
  return { contentId: d.contentId, chunkHashes: d.chunkHashes, size: d.size };
}

let nextPort = 20_000;

export function makeSeeder(behaviour: Behaviour = 'honest', opts: { latencyMs?: number; failAfter?: number } = {}): FakeSeeder {
  const reader = new ChunkReader({ clock: systemClock }, { maxPerPeer: 8 });
  const service = new SeedService({
    seeds: new MemoryKeyValue<StoredSeed>(),
    reader,
    hashFile: hashFileInline,
    announce: async () => undefined,
    unannounce: async () => undefined,
    now: () => 0,
  });
  return {
    addr: { ip: '127.0.0.1', port: nextPort++, transport: 'tcp', pubkeyHint: null },
    service,
    behaviour,
    latencyMs: opts.latencyMs ?? (behaviour === 'slow' ? 40 : 0),
    failAfter: opts.failAfter ?? Infinity,
    served: 0,
    answering: new Set(),
    asked: [],
    hashAsks: 0,
  };
}

const DOWNLOADER: PeerRef = {
  nodeId: 'downloader',
  pubkey: '00',
  remote: '127.0.0.1:1',
  transport: 'tcp',
  relayed: false,
  addr: null,
  capabilities: { dht: true, store: true, relay: false, contentSeed: true, mobileLight: false },
};

export interface FakeNetwork {
  request: PeerRequest;
  /** Every request sent, in order. */
  log: { peer: string; type: number }[];
}

/** Routes requests to the seeders by address; unknown addresses are unreachable. */
export function fakeNetwork(seeders: FakeSeeder[]): FakeNetwork {
  const byKey = new Map(seeders.map((s) => [peerAddrKey(s.addr), s]));
  const log: FakeNetwork['log'] = [];
  let reqId = 1;
  const request: PeerRequest = async (peer, type, payload, opts) => {
    const key = peerAddrKey(peer);
    log.push({ peer: key, type });
    const s = byKey.get(key);
    if (!s) throw ScpError.unreachable(key, 'no such fake peer');
    if (s.latencyMs > 0) await new Promise((r) => setTimeout(r, s.latencyMs));
    if (opts.signal.aborted) throw ScpError.aborted('request');
    if (type === MessageType.GET_CHUNK_HASHES) s.hashAsks++;
    if (type === MessageType.GET_CHUNK) {
      if (s.served >= s.failAfter) {
        await Promise.allSettled([...s.answering]);
        await new Promise((r) => setImmediate(r)); // and the downloader has taken them
        throw ScpError.remote('chunk not found');
      }
      s.served++;
    }
    const answer = s.service.handleWire({ from: DOWNLOADER, messageType: type, reqId: reqId++, payload });
    if (type === MessageType.GET_CHUNK) {
      s.answering.add(answer);
      void answer.finally(() => s.answering.delete(answer)).catch(() => undefined);
    }
    const { value } = unwrapTransfer(await answer);
    const reply = value as WireReply;
    if ('error' in reply) throw ScpError.remote(reply.error);
    if (type === MessageType.GET_CHUNK) {
      const msg = chunkDataCodec.decode(reply.payload);
      s.asked.push(msg.chunkIndex);
      if (s.behaviour === 'corrupt') {
        const bytes = msg.bytes.slice();
        bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 0xff;
        return chunkDataCodec.encode({ ...msg, bytes });
      }
    }
    return reply.payload;
  };
  return { request, log };
}
