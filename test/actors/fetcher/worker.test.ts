/**
 * The fetcher's download orchestration (DownloadJob, DownloadManager) and serving (SeedService) against
 * in-memory seeders that serve real files from a temp dir: exact bytes, a corrupt seeder penalised and routed
 * around, resume fetching only what is missing, unsafe paths refused before any network activity, restart
 * of unfinished downloads, pause / cancel, and the wire answers with the reference's error texts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkBitmap } from '../../../src/actors/fetcher/chunk-bitmap.js';
import { DownloadJob, type PeerRequest } from '../../../src/actors/fetcher/download-job.js';
import { DownloadManager, type DownloadManagerComponents } from '../../../src/actors/fetcher/download-manager.js';
import { DownloadStore, MemoryKeyValue } from '../../../src/actors/fetcher/fetcher-store.js';
import { PARTIAL_SUFFIX } from '../../../src/actors/fetcher/safe-path.js';
import { systemClock } from '../../../src/actors/runtime/clock.js';
import { createRandom } from '../../../src/actors/runtime/random.js';
import { unwrapTransfer } from '../../../src/actors/runtime/transfer.js';
import type { ShareItemView } from '../../../src/messages/index-mailbox.js';
import type { NodeEvent } from '../../../src/messages/node-events.js';
import { ScpError } from '../../../src/errors.js';
import type { WireReply } from '../../../src/messages/wire.js';
import { bytesEqual, toHex } from '../../../src/protocol/bytes.js';
import { CHUNK_SIZE, describeContent, type ContentDescription } from '../../../src/protocol/content.js';
import { blake3 } from '../../../src/protocol/hash.js';
import type { PeerAddr } from '../../../src/protocol/peer-addr.js';
import { MessageType } from '../../../src/protocol/registry.js';
import { chunkDataCodec, chunkHashListCodec, getChunkCodec, getChunkHashesCodec } from '../../../src/protocol/transfer-messages.js';
import { fakeNetwork, makeSeeder, type FakeSeeder } from './fake-seeders.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scp2p-fetcher-worker-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Content {
  data: Uint8Array;
  desc: ContentDescription;
  path: string;
  hex: string;
}

async function makeContent(size: number): Promise<Content> {
  const data = new Uint8Array(randomBytes(size));
  const path = join(dir, `src-${n++}.bin`);
  await writeFile(path, data);
  const desc = describeContent(data);
  return { data, desc, path, hex: toHex(desc.contentId) };
}

async function seedAll(c: Content, seeders: FakeSeeder[]): Promise<void> {
  for (const s of seeders) await s.service.seed({ contentId: c.hex, path: c.path, size: c.data.length, chunkHashes: concat(c.desc.chunkHashes) });
}

function concat(hs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hs.length * 32);
  hs.forEach((h, i) => out.set(h, i * 32));
  return out;
}

function newTarget(name = 'out.bin'): string {
  return join(dir, `dl-${n++}`, name);
}

function job(
  c: Content,
  request: PeerRequest,
  providers: PeerAddr[],
  opts: {
    id?: string;
    store?: DownloadStore;
    target?: string;
    known?: 'full' | 'bare';
    penalties?: string[];
    providerRefreshMs?: number;
    verify?: (expected: Uint8Array, bytes: Uint8Array) => boolean | Promise<boolean>;
  } = {},
): DownloadJob {
  const bare = opts.known === 'bare';
  return new DownloadJob(
    {
      clock: systemClock,
      random: createRandom(7),
      request,
      store: opts.store ?? new DownloadStore(new MemoryKeyValue()),
      penalise: (p, why) => opts.penalties?.push(`${p.port}:${why}`),
      ...(opts.verify ? { verify: opts.verify } : {}),
    },
    {
      id: opts.id ?? `job-${n++}`,
      contentId: c.desc.contentId,
      targetPath: opts.target ?? newTarget(),
      size: bare ? null : c.data.length,
      chunkCount: bare ? null : c.desc.chunkCount,
      chunkListHash: bare ? null : c.desc.chunkListHash,
      providers: async () => providers,
      requestTimeoutMs: 2_000,
      policy: { failureBackoffBaseMs: 5, maxBackoffMs: 20, stallRoundMs: 10 },
      flush: { maxDirtyChunks: 2, maxDirtyMs: 20 },
      checkFreeSpace: false,
      ...(opts.providerRefreshMs !== undefined ? { providerRefreshMs: opts.providerRefreshMs } : {}),
    },
  );
}

async function prepare(target: string): Promise<void> {
  await mkdir(join(target, '..'), { recursive: true });
}

describe('DownloadJob against in-memory seeders', () => {
  it('1 honest seeder: exact bytes, only the missing file name appears at the end', async () => {
    const c = await makeContent(10 * CHUNK_SIZE + 12_345);
    const s = makeSeeder();
    await seedAll(c, [s]);
    const target = newTarget();
    await prepare(target);
    const r = await job(c, fakeNetwork([s]).request, [s.addr], { target }).run();
    await expectFile(target, c.data);
    await expect(stat(target + PARTIAL_SUFFIX)).rejects.toThrow();
    expect(r.fetchedChunks).toBe(11);
    expect(r.size).toBe(c.data.length);
  });

  it('4 seeders, one corrupt: the file arrives right, the corrupt one is penalised and routed around', async () => {
    const c = await makeContent(24 * CHUNK_SIZE + 99);
    const seeders = [makeSeeder(), makeSeeder('corrupt'), makeSeeder(), makeSeeder('slow', { latencyMs: 5 })];
    await seedAll(c, seeders);
    const target = newTarget();
    await prepare(target);
    const penalties: string[] = [];
    const r = await job(
      c,
      fakeNetwork(seeders).request,
      seeders.map((s) => s.addr),
      { target, penalties },
    ).run();
    await expectFile(target, c.data);
    const bad = seeders[1] as FakeSeeder;
    expect(penalties.some((p) => p === `${bad.addr.port}:corrupt-chunk`)).toBe(true);
    const view = r.peers.find((p) => p.peer.includes(String(bad.addr.port)));
    expect(view?.verified).toBe(0);
    expect(view?.corrupt).toBeGreaterThan(0);
    // Others did the work.
    expect(r.peers.filter((p) => p.verified > 0).length).toBeGreaterThanOrEqual(2);
  });

  /**
   * 16 chunks from a seeder that fails after serving 6, then the same download again from an honest one: the
   * chunks the first run kept (its bitmap) and the second run's result.
   */
  async function interruptedThenResumed(id: string, verify?: (expected: Uint8Array, bytes: Uint8Array) => boolean | Promise<boolean>) {
    const c = await makeContent(16 * CHUNK_SIZE);
    const store = new DownloadStore(new MemoryKeyValue());
    const target = newTarget();
    await prepare(target);
    const flaky = makeSeeder('honest', { failAfter: 6 });
    await seedAll(c, [flaky]);
    await expect(job(c, fakeNetwork([flaky]).request, [flaky.addr], { id, store, target, ...(verify ? { verify } : {}) }).run()).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const kept = new Set(ChunkBitmap.deserialise(store.bitmap(id) as Uint8Array, 16).verified());
    await expect(stat(target)).rejects.toThrow(); // nothing looks complete
    const good = makeSeeder();
    await seedAll(c, [good]);
    const second = await job(c, fakeNetwork([good]).request, [good.addr], { id, store, target }).run();
    await expectFile(target, c.data);
    expect(store.bitmap(id)).toBeUndefined();
    return { kept, firstAsked: new Set(flaky.asked), secondAsked: good.asked, second };
  }

  it('resume: after an interrupted run only the missing chunks are fetched', async () => {
    const r = await interruptedThenResumed('resume-1');
    expect(r.firstAsked.size).toBe(6);
    // The seeder answered 6 chunks before it failed (answers keep request order): all 6 are kept for the resume.
    expect(r.kept).toEqual(r.firstAsked);
    expect(r.second.fetchedChunks).toBe(10);
    for (const i of r.secondAsked) expect(r.kept.has(i)).toBe(false);
  });

  it('resume: chunks still being hashed when the download fails are written and kept', async () => {
    // As with the hashing pool on a loaded machine: the answers are in, their hashes come back after the failure.
    const slowVerify = async (expected: Uint8Array, bytes: Uint8Array): Promise<boolean> => {
      await new Promise((r) => setTimeout(r, 150));
      return bytesEqual(blake3(bytes), expected);
    };
    const r = await interruptedThenResumed('resume-slow', slowVerify);
    expect(r.kept.size).toBe(6);
    expect(r.kept).toEqual(r.firstAsked);
    // And they are on disk: the resume fetches only the other 10 and the file is right.
    expect(r.second.fetchedChunks).toBe(10);
  });

  it('a provider that vanishes mid-download is replaced by one found on a later look (no resume needed)', async () => {
    const c = await makeContent(16 * CHUNK_SIZE);
    const first = makeSeeder('slow', { latencyMs: 5 });
    const second = makeSeeder();
    await seedAll(c, [first, second]);
    const net = fakeNetwork([first, second]).request;
    const providers: PeerAddr[] = [first.addr];
    let chunksFromFirst = 0;
    // The first provider becomes unreachable after 6 chunk requests (its relay died, say); only then is the
    // second one findable.
    const request: PeerRequest = (peer, type, payload, o) => {
      if (peer.port === first.addr.port && type === MessageType.GET_CHUNK && ++chunksFromFirst > 6) {
        if (providers.length === 1) providers.push(second.addr);
        return Promise.reject(ScpError.unreachable(`127.0.0.1:${peer.port}`, 'connection refused'));
      }
      return net(peer, type, payload, o);
    };
    const target = newTarget();
    await prepare(target);
    const r = await job(c, request, providers, { target, providerRefreshMs: 50 }).run();
    await expectFile(target, c.data);
    expect(second.asked.length).toBeGreaterThan(0);
    expect(r.fetchedChunks).toBe(16);
  });

  it('pause keeps the partial file and bitmap; a new job continues from them', async () => {
    const c = await makeContent(20 * CHUNK_SIZE);
    const store = new DownloadStore(new MemoryKeyValue());
    const target = newTarget();
    await prepare(target);
    const slow = makeSeeder('slow', { latencyMs: 15 });
    await seedAll(c, [slow]);
    const j = job(c, fakeNetwork([slow]).request, [slow.addr], { id: 'pause-1', store, target });
    const running = j.run();
    while (j.bytesDone < 4 * CHUNK_SIZE) await new Promise((r) => setTimeout(r, 5));
    await j.stop('pause');
    await expect(running).rejects.toMatchObject({ code: 'ABORTED' });
    expect((await stat(target + PARTIAL_SUFFIX)).size).toBe(c.data.length);
    const asked = slow.asked.length;
    const r = await job(c, fakeNetwork([slow]).request, [slow.addr], { id: 'pause-1', store, target }).run();
    await expectFile(target, c.data);
    expect(r.fetchedChunks).toBeLessThanOrEqual(20 - 4 + 2);
    expect(slow.asked.length - asked).toBe(r.fetchedChunks);
  });

  it('a peer that rate-limits us rests and comes back instead of failing the download', async () => {
    const c = await makeContent(6 * CHUNK_SIZE);
    const s = makeSeeder();
    await seedAll(c, [s]);
    const net = fakeNetwork([s]);
    let refusals = 0;
    const limited: PeerRequest = async (peer, type, payload, opts) => {
      if (type === MessageType.GET_CHUNK && refusals < 5) {
        refusals++;
        throw ScpError.remote('chunk request rate limit exceeded');
      }
      return net.request(peer, type, payload, opts);
    };
    const target = newTarget();
    await prepare(target);
    const j = new DownloadJob(
      { clock: systemClock, random: createRandom(1), request: limited, store: new DownloadStore(new MemoryKeyValue()) },
      {
        id: 'rl',
        contentId: c.desc.contentId,
        targetPath: target,
        size: c.data.length,
        chunkCount: c.desc.chunkCount,
        chunkListHash: c.desc.chunkListHash,
        providers: async () => [s.addr],
        rateLimitRestMs: 20,
        policy: { stallRoundMs: 10, maxStallRounds: 50 },
        checkFreeSpace: false,
      },
    );
    await j.run();
    await expectFile(target, c.data);
    expect(refusals).toBe(5);
  });

  it('a bare content id (no size, no list hash) learns the size from the last chunk', async () => {
    const c = await makeContent(3 * CHUNK_SIZE + 7);
    const s = makeSeeder();
    await seedAll(c, [s]);
    const target = newTarget();
    await prepare(target);
    const r = await job(c, fakeNetwork([s]).request, [s.addr], { target, known: 'bare' }).run();
    expect(r.size).toBe(c.data.length);
    await expectFile(target, c.data);
  });

  it('an empty file completes at once with an empty file and no requests', async () => {
    const c = await makeContent(0);
    const net = fakeNetwork([]);
    const target = newTarget();
    await prepare(target);
    await job(c, net.request, [], { target }).run();
    expect((await stat(target)).size).toBe(0);
    expect(net.log).toHaveLength(0);
  });

  it('NOT_FOUND when no candidate has it; VERIFY_FAILED when every list contradicts chunk_list_hash', async () => {
    const c = await makeContent(2 * CHUNK_SIZE);
    const empty = makeSeeder();
    const target = newTarget();
    await prepare(target);
    await expect(job(c, fakeNetwork([empty]).request, [empty.addr], { target }).run()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(job(c, fakeNetwork([]).request, [], { target }).run()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // A seeder of other content of the same size, answering under our id with its own list.
    const other = await makeContent(2 * CHUNK_SIZE);
    const liar = makeSeeder();
    await seedAll(other, [liar]);
    const lying: PeerRequest = async (peer, type, payload, opts) => {
      if (type === MessageType.GET_CHUNK_HASHES) {
        return chunkHashListCodec.encode({ contentId: c.desc.contentId, hashes: other.desc.chunkHashes });
      }
      return fakeNetwork([liar]).request(peer, type, payload, opts);
    };
    await expect(job(c, lying, [liar.addr], { target }).run()).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
    await expect(stat(target)).rejects.toThrow();
  });
});

function item(c: Content, path: string | null, name: string): ShareItemView {
  return {
    shareId: 'aa'.repeat(32),
    contentId: c.hex,
    name,
    path,
    size: BigInt(c.data.length),
    mime: null,
    tags: [],
    chunkCount: c.desc.chunkCount,
    chunkListHash: toHex(c.desc.chunkListHash),
  };
}

function manager(
  seeders: FakeSeeder[],
  opts: { store?: DownloadStore; events?: NodeEvent[]; completed?: string[]; downloadDir?: string; request?: PeerRequest; parallelChunks?: number } = {},
): { m: DownloadManager; net: ReturnType<typeof fakeNetwork> } {
  const net = fakeNetwork(seeders);
  const c: DownloadManagerComponents = {
    clock: systemClock,
    random: createRandom(3),
    request: opts.request ?? net.request,
    discover: async () => seeders.map((s) => s.addr),
    store: opts.store ?? new DownloadStore(new MemoryKeyValue()),
    emit: (e) => opts.events?.push(e),
    completed: async (d) => {
      opts.completed?.push(d.path);
    },
  };
  const m = new DownloadManager(c, {
    downloadDir: opts.downloadDir ?? join(dir, `dldir-${n++}`),
    maxConcurrentDownloads: 2,
    ...(opts.parallelChunks ? { parallelChunks: opts.parallelChunks } : {}),
    requestTimeoutMs: 2_000,
    checkFreeSpace: false,
    policy: { failureBackoffBaseMs: 5, maxBackoffMs: 20, stallRoundMs: 10 },
    flush: { maxDirtyChunks: 2, maxDirtyMs: 20 },
  });
  return { m, net };
}

describe('DownloadManager', () => {
  it('downloadItems rebuilds folder paths, emits progress and completion, seeds the results', async () => {
    const a = await makeContent(5 * CHUNK_SIZE + 1);
    const b = await makeContent(1234);
    const e = await makeContent(0);
    const seeders = [makeSeeder(), makeSeeder()];
    await seedAll(a, seeders);
    await seedAll(b, seeders);
    const events: NodeEvent[] = [];
    const completed: string[] = [];
    const { m } = manager(seeders, { events, completed });
    const target = join(dir, `items-${n++}`);
    const recs = await m.downloadItems({
      shareId: 'aa'.repeat(32),
      items: [item(a, 'music/rock/a.bin', 'a.bin'), item(b, null, 'b.bin'), item(e, 'docs/empty.txt', 'empty.txt')],
      targetDir: target,
    });
    expect(recs.map((r) => r.state)).toEqual(['completed', 'completed', 'completed']);
    await expectFile(join(target, 'music/rock/a.bin'), a.data);
    await expectFile(join(target, 'b.bin'), b.data);
    expect((await stat(join(target, 'docs/empty.txt'))).size).toBe(0);
    expect(completed.sort()).toEqual([join(target, 'b.bin'), join(target, 'docs/empty.txt'), join(target, 'music/rock/a.bin')].sort());
    expect(events.filter((x) => x.type === 'DownloadCompleted')).toHaveLength(3);
    const prog = events.filter((x): x is Extract<NodeEvent, { type: 'DownloadProgress' }> => x.type === 'DownloadProgress');
    expect(prog.length).toBeGreaterThan(0);
    expect(prog.some((p) => p.bytesDone === p.bytesTotal && p.bytesTotal === BigInt(a.data.length))).toBe(true);
    expect(m.list().every((r) => r.state === 'completed' && r.bytesDone === r.bytesTotal)).toBe(true);
  });

  it('refuses unsafe item paths with BAD_INPUT before any network activity', async () => {
    const a = await makeContent(1000);
    const s = makeSeeder();
    await seedAll(a, [s]);
    const { m, net } = manager([s]);
    const target = join(dir, `unsafe-${n++}`);
    for (const bad of ['../escape.bin', '/etc/passwd', 'C:/x.bin', 'a/../../x.bin', 'nul\u0000.bin']) {
      await expect(m.downloadItems({ shareId: 'aa'.repeat(32), items: [item(a, 'ok.bin', 'ok.bin'), item(a, bad, 'x.bin')], targetDir: target })).rejects.toMatchObject({
        code: 'BAD_INPUT',
      });
    }
    // A symlink inside the target folder that leads out of it.
    const outside = join(dir, `outside-${n++}`);
    await mkdir(outside, { recursive: true });
    await mkdir(target, { recursive: true });
    await symlink(outside, join(target, 'link'));
    await expect(m.downloadItems({ shareId: 'aa'.repeat(32), items: [item(a, 'link/x.bin', 'x.bin')], targetDir: target })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(net.log).toHaveLength(0);
    expect(m.list()).toHaveLength(0);
  });

  it('unfinished downloads resume by themselves after a restart (restore), fetching only what is missing', async () => {
    const c = await makeContent(12 * CHUNK_SIZE);
    const store = new DownloadStore(new MemoryKeyValue());
    const downloadDir = join(dir, `restart-${n++}`);
    const flaky = makeSeeder('slow', { latencyMs: 10 });
    await seedAll(c, [flaky]);
    const first = manager([flaky], { store, downloadDir });
    const p = first.m.downloadContent({ contentId: c.hex, outPath: 'x.bin', size: BigInt(c.data.length), chunkCount: c.desc.chunkCount, chunkListHash: toHex(c.desc.chunkListHash) });
    while ((first.m.list()[0]?.bytesDone ?? 0n) < BigInt(3 * CHUNK_SIZE)) await new Promise((r) => setTimeout(r, 5));
    await first.m.close(); // the actor stops (or crashes after its last flush)
    await expect(p).rejects.toMatchObject({ code: 'ACTOR_UNAVAILABLE' });
    expect(store.list()[0]?.record.state).toBe('running');
    const before = new Set(flaky.asked);
    const good = makeSeeder();
    await seedAll(c, [good]);
    const events: NodeEvent[] = [];
    const second = manager([good], { store, downloadDir, events });
    expect(second.m.restore()).toBe(1);
    while (!events.some((e) => e.type === 'DownloadCompleted' || e.type === 'DownloadFailed')) await new Promise((r) => setTimeout(r, 5));
    expect(events.find((e) => e.type === 'DownloadFailed')).toBeUndefined();
    await expectFile(join(downloadDir, 'x.bin'), c.data);
    expect(good.asked.length).toBeLessThanOrEqual(12 - before.size + 2); // at most the unflushed window again
    expect(second.m.list()[0]?.state).toBe('completed');
  });

  it('pause, resume and cancel: cancel removes the partial file and rejects the waiting caller', async () => {
    const c = await makeContent(16 * CHUNK_SIZE);
    const s = makeSeeder('slow', { latencyMs: 15 });
    await seedAll(c, [s]);
    // Two chunks at a time: the download takes ~8 round trips, so it is still running when the test cancels it
    // (at 8 in flight it could finish in two, before a loaded machine got to the cancel).
    const { m } = manager([s], { parallelChunks: 2 });
    const p = m.downloadContent({ contentId: c.hex, outPath: join(dir, `pc-${n++}`, 'f.bin'), size: c.data.length, chunkCount: c.desc.chunkCount, chunkListHash: toHex(c.desc.chunkListHash) });
    const id = await waitFor(() => m.list()[0]?.id);
    while ((m.list()[0]?.bytesDone ?? 0n) < BigInt(2 * CHUNK_SIZE)) await new Promise((r) => setTimeout(r, 5));
    expect((await m.pause(id)).state).toBe('paused');
    expect(['queued', 'running']).toContain((await m.resume(id)).state);
    while ((m.list()[0]?.bytesDone ?? 0n) < BigInt(5 * CHUNK_SIZE)) await new Promise((r) => setTimeout(r, 5));
    const path = m.list()[0]?.path as string;
    expect((await stat(path + PARTIAL_SUFFIX)).isFile()).toBe(true);
    expect((await m.cancel(id)).state).toBe('cancelled');
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(stat(path + PARTIAL_SUFFIX)).rejects.toThrow();
    await expect(stat(path)).rejects.toThrow();
  });

  it('a failed download reports DownloadFailed with a typed code', async () => {
    const c = await makeContent(2 * CHUNK_SIZE);
    const events: NodeEvent[] = [];
    const { m } = manager([makeSeeder()], { events });
    await expect(m.downloadContent({ contentId: c.hex, outPath: join(dir, `nf-${n++}.bin`), size: c.data.length })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(events.find((e) => e.type === 'DownloadFailed')).toMatchObject({ code: 'NOT_FOUND' });
    expect(m.list()[0]?.state).toBe('failed');
    await expect(m.downloadContent({ contentId: c.hex, outPath: 'x', peers: ['not-an-address'] })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});

describe('SeedService wire answers', () => {
  const from = { nodeId: 'p', pubkey: '00', remote: 'x', transport: 'tcp' as const, relayed: false, addr: null, capabilities: { dht: false, store: false, relay: false, contentSeed: false, mobileLight: false } };

  it('GET_CHUNK serves file bytes (transferred), "chunk not found" for unknown or out of range', async () => {
    const c = await makeContent(2 * CHUNK_SIZE + 5);
    const s = makeSeeder();
    await seedAll(c, [s]);
    const ask = async (type: number, payload: Uint8Array): Promise<{ reply: WireReply; list: readonly ArrayBuffer[] }> => {
      const { value, list } = unwrapTransfer(await s.service.handleWire({ from, messageType: type, reqId: 1, payload }));
      return { reply: value as WireReply, list };
    };
    const ok = await ask(MessageType.GET_CHUNK, getChunkCodec.encode({ contentId: c.desc.contentId, chunkIndex: 2 }));
    expect('payload' in ok.reply).toBe(true);
    const msg = chunkDataCodec.decode((ok.reply as { payload: Uint8Array }).payload);
    expect(msg.bytes).toEqual(c.data.subarray(2 * CHUNK_SIZE));
    expect(ok.list).toHaveLength(1);
    expect((await ask(MessageType.GET_CHUNK, getChunkCodec.encode({ contentId: c.desc.contentId, chunkIndex: 3 }))).reply).toEqual({ error: 'chunk not found' });
    expect((await ask(MessageType.GET_CHUNK, getChunkCodec.encode({ contentId: new Uint8Array(32), chunkIndex: 0 }))).reply).toEqual({ error: 'chunk not found' });
    expect((await ask(MessageType.GET_CHUNK_HASHES, getChunkHashesCodec.encode({ contentId: new Uint8Array(32) }))).reply).toEqual({ error: 'chunk hashes not found' });
    expect((await ask(MessageType.HAVE_CONTENT, new Uint8Array([0xa0]))).reply).toMatchObject({});
  });

  it('GET_CHUNK_HASHES computes the list on demand when seeding without hashes, and stopSeeding stops serving', async () => {
    const c = await makeContent(3 * CHUNK_SIZE);
    const s = makeSeeder();
    await s.service.seed({ contentId: c.hex, path: c.path, size: c.data.length });
    const { value } = unwrapTransfer(await s.service.handleWire({ from, messageType: MessageType.GET_CHUNK_HASHES, reqId: 1, payload: getChunkHashesCodec.encode({ contentId: c.desc.contentId }) }));
    const list = chunkHashListCodec.decode((value as { payload: Uint8Array }).payload);
    expect(list.hashes).toEqual(c.desc.chunkHashes);
    await expect(s.service.seed({ contentId: '11'.repeat(32), path: c.path, size: c.data.length })).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
    expect(await s.service.stop(c.hex)).toBe(true);
    const after = unwrapTransfer(await s.service.handleWire({ from, messageType: MessageType.GET_CHUNK, reqId: 2, payload: getChunkCodec.encode({ contentId: c.desc.contentId, chunkIndex: 0 }) }));
    expect(after.value).toEqual({ error: 'chunk not found' });
  });
});

/** Byte comparison without vitest's element-by-element diffing (seconds per MiB). */
async function expectFile(path: string, data: Uint8Array): Promise<void> {
  const got = await readFile(path);
  expect(got.length).toBe(data.length);
  expect(Buffer.compare(got, data)).toBe(0);
}

async function waitFor<T>(f: () => T | undefined): Promise<T> {
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 2));
  }
}
