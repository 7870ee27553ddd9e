import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkReader } from '../../../src/actors/fetcher/chunk-reader.js';
import { AlignedSlots, directWriteSlots, O_DIRECT } from '../../../src/actors/fetcher/direct-io.js';
import { FileWriter, openFile, type FileHandleLike, type OpenFile } from '../../../src/actors/fetcher/file-writer.js';
import { PARTIAL_SUFFIX } from '../../../src/actors/fetcher/safe-path.js';
import { TokenBucket } from '../../../src/actors/runtime/token-bucket.js';
import { SharedChunkSlab } from '../../../src/actors/runtime/shared-chunk-slab.js';
import { ManualClock } from '../../../src/actors/runtime/clock.js';
import { createRandom } from '../../../src/actors/runtime/random.js';
import { ScpError } from '../../../src/errors.js';
import { CHUNK_SIZE, describeContent } from '../../../src/protocol/content.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scp2p-file-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const chunkOf = (data: Uint8Array, i: number): Uint8Array => data.subarray(i * CHUNK_SIZE, Math.min((i + 1) * CHUNK_SIZE, data.length));

function shuffled(n: number, seed: number): number[] {
  const r = createRandom(seed);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }
  return a;
}

/** Wraps real handles; writes fail with `code` once `budget` bytes have been written through this opener. */
function failingOpen(code: string, budget: number): OpenFile {
  let written = 0;
  return async (path, flags, mode) => {
    const fh = await openFile(path, flags, mode);
    const wrapped: FileHandleLike = {
      write: async (buf, off, len, pos) => {
        if (written + len > budget) throw Object.assign(new Error(`${code}: simulated`), { code });
        written += len;
        return fh.write(buf, off, len, pos);
      },
      read: (b, o, l, p) => fh.read(b, o, l, p),
      truncate: (l) => fh.truncate(l),
      stat: (o) => fh.stat(o),
      datasync: () => fh.datasync(),
      close: () => fh.close(),
    };
    return wrapped;
  };
}

describe('FileWriter', () => {
  it('random chunk order → identical bytes, renamed only after the whole-file check', async () => {
    const data = new Uint8Array(randomBytes(5 * CHUNK_SIZE + 12_345));
    const d = describeContent(data);
    const target = join(dir, 'random-order.bin');
    const w = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId });
    expect(w.chunkCount).toBe(6);
    await Promise.all(shuffled(6, 7).map((i) => w.writeChunk(i, chunkOf(data, i))));
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' }); // nothing looks complete yet
    expect((await stat(target + PARTIAL_SUFFIX)).size).toBe(data.length);
    await w.finalize();
    expect(Buffer.compare(await readFile(target), data)).toBe(0);
    await expect(stat(target + PARTIAL_SUFFIX)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('resumes into an existing partial file without truncating what it holds', async () => {
    const data = new Uint8Array(randomBytes(3 * CHUNK_SIZE));
    const d = describeContent(data);
    const target = join(dir, 'resume.bin');
    const w1 = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId });
    await w1.writeChunk(0, chunkOf(data, 0));
    await w1.writeChunk(2, chunkOf(data, 2));
    await w1.close(); // the process "dies" here
    const w2 = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId });
    await w2.writeChunk(1, chunkOf(data, 1)); // only the missing one
    await w2.finalize();
    expect(Buffer.compare(await readFile(target), data)).toBe(0);
  });

  it('empty content: finalize renames an empty file', async () => {
    const d = describeContent(new Uint8Array(0));
    const target = join(dir, 'empty.txt');
    const w = await FileWriter.open({ targetPath: target, size: 0, contentId: d.contentId });
    await w.finalize();
    expect((await stat(target)).size).toBe(0);
  });

  it('wrong content → not renamed, partial removed, VERIFY_FAILED', async () => {
    const data = new Uint8Array(randomBytes(2 * CHUNK_SIZE + 5));
    const other = describeContent(new Uint8Array(randomBytes(10)));
    const target = join(dir, 'wrong.bin');
    const w = await FileWriter.open({ targetPath: target, size: data.length, contentId: other.contentId });
    for (let i = 0; i < 3; i++) await w.writeChunk(i, chunkOf(data, i));
    await expect(w.finalize()).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(target + PARTIAL_SUFFIX)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('with chunk hashes, a mismatch names the bad chunks and keeps the partial file for a re-fetch', async () => {
    const data = new Uint8Array(randomBytes(3 * CHUNK_SIZE + 1));
    const d = describeContent(data);
    const target = join(dir, 'badchunk.bin');
    const w = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId });
    for (let i = 0; i < 4; i++) await w.writeChunk(i, i === 2 ? new Uint8Array(CHUNK_SIZE) : chunkOf(data, i));
    const err = await w.finalize({ chunkHashes: d.chunkHashes }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'VERIFY_FAILED', details: { badChunks: [2] } });
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
    await w.close(); // a download job keeps its writer and re-fetches; here a second writer takes over
    // The worker re-fetches chunk 2 into the same partial file and finalizes again.
    const w2 = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId });
    await w2.writeChunk(2, chunkOf(data, 2));
    await w2.finalize({ chunkHashes: d.chunkHashes });
    expect(Buffer.compare(await readFile(target), data)).toBe(0);
  });

  it('refuses wrong chunk lengths and indices', async () => {
    const d = describeContent(new Uint8Array(CHUNK_SIZE + 1));
    const w = await FileWriter.open({ targetPath: join(dir, 'len.bin'), size: CHUNK_SIZE + 1, contentId: d.contentId });
    await expect(w.writeChunk(1, new Uint8Array(2))).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(w.writeChunk(2, new Uint8Array(1))).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(w.writeChunk(0, new Uint8Array(CHUNK_SIZE - 1))).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await w.discard();
  });

  it('an existing target is a CONFLICT unless overwrite', async () => {
    const target = join(dir, 'exists.txt');
    await writeFile(target, 'mine');
    const d = describeContent(new Uint8Array([1, 2, 3]));
    await expect(FileWriter.open({ targetPath: target, size: 3, contentId: d.contentId })).rejects.toMatchObject({ code: 'CONFLICT' });
    const w = await FileWriter.open({ targetPath: target, size: 3, contentId: d.contentId, overwrite: true });
    await w.writeChunk(0, new Uint8Array([1, 2, 3]));
    await w.finalize();
    expect([...(await readFile(target))]).toEqual([1, 2, 3]);
  });

  it('quota and free space are checked up front', async () => {
    const d = describeContent(new Uint8Array(10));
    await expect(
      FileWriter.open({ targetPath: join(dir, 'q.bin'), size: 10_000, contentId: d.contentId, quota: { limitBytes: 15_000, usedBytes: 6_000 } }),
    ).rejects.toMatchObject({ code: 'LIMIT', message: /quota/ });
    const err = await FileWriter.open({ targetPath: join(dir, 'huge.bin'), size: 2 ** 52, contentId: d.contentId }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IO', details: { errno: 'ENOSPC' }, message: /not enough disk space/ });
    expect((await readdir(dir)).filter((f) => f.startsWith('q.bin') || f.startsWith('huge.bin'))).toEqual([]);
  });

  it('disk full mid-download (ENOSPC from a tiny quota) is a clear IO error and nothing looks complete', async () => {
    const data = new Uint8Array(randomBytes(4 * CHUNK_SIZE));
    const d = describeContent(data);
    const target = join(dir, 'full.bin');
    const w = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId, open: failingOpen('ENOSPC', 2 * CHUNK_SIZE) });
    await w.writeChunk(0, chunkOf(data, 0));
    await w.writeChunk(1, chunkOf(data, 1));
    const err = await w.writeChunk(2, chunkOf(data, 2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScpError);
    expect(err).toMatchObject({ code: 'IO', details: { errno: 'ENOSPC' }, message: /disk full/ });
    await w.close();
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  describe('direct writes (O_DIRECT)', () => {
    /** Wraps real handles, recording the flags of each open; `directFault` makes the O_DIRECT handle's writes fail. */
    function recordingOpen(opens: number[], directFault?: { code: string; after: number }): OpenFile {
      let directWrites = 0;
      return async (path, flags, mode) => {
        opens.push(flags);
        if (flags & (O_DIRECT ?? 0) && directFault?.code === 'open') throw Object.assign(new Error('EINVAL: simulated'), { code: 'EINVAL' });
        const fh = await openFile(path, flags, mode);
        if (!(flags & (O_DIRECT ?? 0)) || !directFault) return fh;
        return {
          ...fh,
          write: async (buf: Uint8Array, off: number, len: number, pos: number) => {
            if (directWrites++ >= directFault.after) throw Object.assign(new Error(`${directFault.code}: simulated`), { code: directFault.code });
            return fh.write(buf, off, len, pos);
          },
          read: (b: Uint8Array, o: number, l: number, p: number) => fh.read(b, o, l, p),
          truncate: (l: number) => fh.truncate(l),
          stat: (o: { bigint: true }) => fh.stat(o),
          datasync: () => fh.datasync(),
          close: () => fh.close(),
        };
      };
    }

    it('random chunk order through O_DIRECT → identical bytes; the short last chunk goes through the page cache', async () => {
      const data = new Uint8Array(randomBytes(7 * CHUNK_SIZE + 999));
      const d = describeContent(data);
      const target = join(dir, 'direct.bin');
      const opens: number[] = [];
      const w = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId, directWrites: true, open: recordingOpen(opens) });
      if (O_DIRECT === undefined) expect(w.directWrites).toBe(false);
      else expect(w.directWrites).toBe(true); // Linux: ext4, xfs and tmpfs (6.6+) take O_DIRECT
      await Promise.all(shuffled(8, 11).map((i) => w.writeChunk(i, chunkOf(data, i))));
      expect(w.directWrites).toBe(O_DIRECT !== undefined); // no write was refused
      await w.finalize({ chunkHashes: d.chunkHashes });
      expect(Buffer.compare(await readFile(target), data)).toBe(0);
      expect(opens.filter((f) => f & (O_DIRECT ?? 0)).length).toBe(O_DIRECT === undefined ? 0 : 1);
    });

    it('a file system that refuses O_DIRECT at open gets every chunk through the page cache', async () => {
      const data = new Uint8Array(randomBytes(3 * CHUNK_SIZE));
      const d = describeContent(data);
      const target = join(dir, 'direct-refused.bin');
      const w = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId, directWrites: true, open: recordingOpen([], { code: 'open', after: 0 }) });
      expect(w.directWrites).toBe(false);
      for (const i of [2, 0, 1]) await w.writeChunk(i, chunkOf(data, i));
      await w.finalize();
      expect(Buffer.compare(await readFile(target), data)).toBe(0);
    });

    it.skipIf(O_DIRECT === undefined)('EINVAL from a direct write turns direct writes off for the file and the chunk is written anyway', async () => {
      const data = new Uint8Array(randomBytes(4 * CHUNK_SIZE));
      const d = describeContent(data);
      const target = join(dir, 'direct-einval.bin');
      const w = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId, directWrites: true, open: recordingOpen([], { code: 'EINVAL', after: 1 }) });
      await w.writeChunk(3, chunkOf(data, 3));
      expect(w.directWrites).toBe(true);
      await w.writeChunk(1, chunkOf(data, 1)); // refused by the "file system": written through the page cache
      expect(w.directWrites).toBe(false);
      await w.writeChunk(0, chunkOf(data, 0));
      await w.writeChunk(2, chunkOf(data, 2));
      await w.finalize();
      expect(Buffer.compare(await readFile(target), data)).toBe(0);
    });

    it.skipIf(O_DIRECT === undefined)('disk full during a direct write is the download\'s IO error, not a silent fallback', async () => {
      const data = new Uint8Array(randomBytes(2 * CHUNK_SIZE));
      const d = describeContent(data);
      const target = join(dir, 'direct-full.bin');
      const w = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId, directWrites: true, open: recordingOpen([], { code: 'ENOSPC', after: 1 }) });
      await w.writeChunk(0, chunkOf(data, 0));
      const err = await w.writeChunk(1, chunkOf(data, 1)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'IO', details: { errno: 'ENOSPC' } });
      await w.close();
      await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it.skipIf(O_DIRECT === undefined)('chunks in the shared slab are written from where they lie; a refusal there falls back to a copy', async () => {
      const data = new Uint8Array(randomBytes(4 * CHUNK_SIZE));
      const d = describeContent(data);
      // Each chunk as the session's reader leaves it: the end of a CHUNK_DATA frame in a slab slot.
      const slab = new SharedChunkSlab(4);
      const inSlab = (i: number): Uint8Array => {
        const frame = slab.take(CHUNK_SIZE + 57)!;
        frame.subarray(57).set(chunkOf(data, i));
        return frame.subarray(57);
      };
      for (const fault of [undefined, { code: 'EINVAL', after: 1 }]) {
        const target = join(dir, `direct-slab-${fault ? 'refused' : 'ok'}.bin`);
        const opened: number[] = [];
        const w = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId, directWrites: true, open: recordingOpen(opened, fault) });
        let copies = 0;
        const chunks = [0, 1, 2, 3].map(inSlab);
        await Promise.all(chunks.map((c, i) => w.writeChunk(i, c, () => copies++)));
        // Written from the slab: no copy into an aligned slot. Refused (EINVAL): copied to a slot, which then finds
        // the "file system" refuses O_DIRECT and writes through the page cache.
        expect(copies).toBe(fault ? 3 : 0);
        expect(w.directWrites).toBe(!fault);
        await w.finalize();
        expect(Buffer.compare(await readFile(target), data)).toBe(0);
        for (const c of chunks) slab.release(c);
      }
    });

    it.skipIf(O_DIRECT === undefined)('onCopied: once called, the caller may reuse its bytes — also when the direct write is then refused', async () => {
      const data = new Uint8Array(randomBytes(3 * CHUNK_SIZE));
      const d = describeContent(data);
      for (const fault of [undefined, { code: 'EINVAL', after: 1 }]) {
        const target = join(dir, `direct-copied-${fault ? 'refused' : 'ok'}.bin`);
        const w = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId, directWrites: true, open: recordingOpen([], fault) });
        let copies = 0;
        await Promise.all(
          [0, 1, 2].map((i) => {
            const mine = chunkOf(data, i).slice();
            return w.writeChunk(i, mine, () => {
              copies++;
              mine.fill(0xee); // reused at once, before the write completes
            });
          }),
        );
        expect(copies).toBe(3);
        await w.finalize();
        expect(Buffer.compare(await readFile(target), data)).toBe(0);
      }
    });

    it.skipIf(O_DIRECT === undefined)('reads chunks back like it wrote them: full ones through O_DIRECT into a slot, the short last one into a buffer', async () => {
      const data = new Uint8Array(randomBytes(2 * CHUNK_SIZE + 5000));
      const d = describeContent(data);
      const w = await FileWriter.open({ targetPath: join(dir, 'readback.bin'), size: data.length, contentId: d.contentId, directWrites: true });
      for (const i of [0, 1, 2]) await w.writeChunk(i, chunkOf(data, i));
      const before = directWriteSlots().available;
      for (const i of [1, 0, 2]) {
        const r = await w.readBack(i);
        expect(Buffer.compare(r.bytes, chunkOf(data, i))).toBe(0);
        if (i < 2) {
          expect(r.bytes.byteOffset % 4096).toBe(0); // slot memory: a direct read
          expect(directWriteSlots().available).toBe(before - 1);
        }
        r.release();
        expect(directWriteSlots().available).toBe(before);
      }
      await w.discard();
    });

    it('aligned slots: every slot starts on a 4 KiB boundary of its memory and is handed out once at a time', async () => {
      const slots = new AlignedSlots(CHUNK_SIZE, 3);
      const taken = [slots.acquire(), slots.acquire(), slots.acquire()];
      expect(new Set(taken).size).toBe(3);
      expect(slots.acquire()).toBeUndefined(); // all in use: take() waits for a release
      const waiting = slots.take();
      expect(waiting).toBeInstanceOf(Promise);
      const bytes = new Uint8Array(randomBytes(1000));
      const view = slots.fill(taken[1] as number, bytes);
      expect(view.byteOffset % 4096).toBe(0);
      expect(Buffer.compare(view, bytes)).toBe(0);
      slots.release(taken[1] as number);
      await expect(waiting).resolves.toBe(taken[1]); // handed to the waiter, not back to the free list
      expect(slots.acquire()).toBeUndefined();
      slots.release(taken[0] as number);
      expect(slots.acquire()).toBe(taken[0]);
      expect(() => new AlignedSlots(1000, 2)).toThrow(RangeError);
    });
  });

  it('maps EACCES and EROFS to typed errors', async () => {
    const d = describeContent(new Uint8Array(1));
    for (const [code, re] of [
      ['EACCES', /permission denied/],
      ['EROFS', /read-only/],
    ] as const) {
      const open: OpenFile = async () => {
        throw Object.assign(new Error(code), { code });
      };
      const err = await FileWriter.open({ targetPath: join(dir, `${code}.bin`), size: 1, contentId: d.contentId, open }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'IO', details: { errno: code }, message: re });
    }
  });

  it.skipIf(process.getuid?.() === 0)('an unwritable folder is a clear permission error', async () => {
    const ro = join(dir, 'ro');
    await mkdir(ro);
    await chmod(ro, 0o500);
    const d = describeContent(new Uint8Array(1));
    await expect(FileWriter.open({ targetPath: join(ro, 'x.bin'), size: 1, contentId: d.contentId })).rejects.toMatchObject({
      code: 'IO',
      details: { errno: 'EACCES' },
    });
    await chmod(ro, 0o700);
  });
});

describe('ChunkReader', () => {
  it('serves exact chunk ranges from disk through pooled buffers', async () => {
    const data = new Uint8Array(randomBytes(2 * CHUNK_SIZE + 100));
    const path = join(dir, 'seed.bin');
    await writeFile(path, data);
    const r = new ChunkReader({ clock: new ManualClock() }, { poolSize: 2 });
    r.register('c1', path, data.length);
    for (const i of [2, 0, 1]) {
      const lease = await r.read('p', 'c1', i);
      expect(Buffer.compare(lease.bytes, chunkOf(data, i))).toBe(0);
      lease.release();
      lease.release(); // idempotent
    }
    expect(r.pool.free).toBe(1); // one buffer reused for every read
    await expect(r.read('p', 'c1', 3)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'chunk not found' });
    await expect(r.read('p', 'nope', 0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await r.unregister('c1');
    await expect(r.read('p', 'c1', 0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await r.close();
  });

  it('a file that changed on disk stops being served', async () => {
    const path = join(dir, 'shrinks.bin');
    await writeFile(path, new Uint8Array(CHUNK_SIZE * 2));
    const r = new ChunkReader({ clock: new ManualClock() });
    r.register('c', path, CHUNK_SIZE * 2);
    await truncate(path, CHUNK_SIZE);
    await expect(r.read('p', 'c', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await r.close();
  });

  it('caps concurrent reads per peer and refuses beyond the wait queue', async () => {
    const path = join(dir, 'caps.bin');
    await writeFile(path, new Uint8Array(CHUNK_SIZE * 4));
    let active = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const open: OpenFile = async (p, f, m) => {
      const fh = await openFile(p, f, m);
      return {
        ...fh,
        stat: (o) => fh.stat(o),
        close: () => fh.close(),
        read: async (b, o, l, pos) => {
          active++;
          peak = Math.max(peak, active);
          await new Promise<void>((res) => gates.push(res));
          active--;
          return fh.read(b, o, l, pos);
        },
      } as FileHandleLike;
    };
    const r = new ChunkReader({ clock: new ManualClock() }, { maxPerPeer: 2, maxQueuedPerPeer: 1, open });
    r.register('c', path, CHUNK_SIZE * 4);
    const reads = [r.read('a', 'c', 0), r.read('a', 'c', 1), r.read('a', 'c', 2)];
    await expect(r.read('a', 'c', 3)).rejects.toMatchObject({ code: 'LIMIT' });
    const other = r.read('b', 'c', 3); // another peer is not held back
    expect(r.load('a')).toBe(3);
    // Open the gates until every read is through (disk reads take their time on a loaded machine).
    const all = Promise.all([...reads, other]);
    let settled = false;
    void all.finally(() => (settled = true));
    for (const until = Date.now() + 30_000; !settled && Date.now() < until; ) {
      gates.splice(0).forEach((g) => g());
      await new Promise((res) => setTimeout(res, 1));
    }
    for (const l of await all) l.release();
    expect(peak).toBeLessThanOrEqual(3); // 2 for a + 1 for b
    expect(r.load('a')).toBe(0);
    await r.close();
  });

  it('bandwidth cap delays reads on the injected clock', async () => {
    const path = join(dir, 'bw.bin');
    await writeFile(path, new Uint8Array(CHUNK_SIZE * 3));
    const clock = new ManualClock(0);
    const bucket = new TokenBucket({ bytesPerSecond: CHUNK_SIZE, burst: CHUNK_SIZE }, 0); // one chunk per second
    const r = new ChunkReader({ clock }, { bandwidth: bucket });
    r.register('c', path, CHUNK_SIZE * 3);
    const done: number[] = [];
    const all = [0, 1, 2].map((i) => r.read('p', 'c', i).then((l) => (done.push(i), l.release())));
    await new Promise((res) => setTimeout(res, 30));
    expect(done).toEqual([0]); // the burst lets the first through
    clock.advance(1_000);
    await new Promise((res) => setTimeout(res, 30));
    expect(done.length).toBe(2);
    clock.advance(1_000);
    await Promise.all(all);
    expect(done.length).toBe(3);
    await r.close();
  });
});
