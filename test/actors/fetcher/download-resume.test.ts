/**
 * The pieces together, as the worker wires them: scheduler → (fake peers) → verifyChunk → FileWriter →
 * bitmap + flush policy → "lmdb" (a variable). The process is killed mid-way without any final flush, then
 * restarted from what was persisted: only the missing chunks are fetched (plus at most the un-flushed
 * window), and the finished file is byte-identical and verified.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BitmapFlushPolicy, ChunkBitmap } from '../../../src/actors/fetcher/chunk-bitmap.js';
import { FileWriter } from '../../../src/actors/fetcher/file-writer.js';
import { SwarmScheduler } from '../../../src/actors/fetcher/swarm-scheduler.js';
import { createRandom } from '../../../src/actors/runtime/random.js';
import { CHUNK_SIZE, describeContent, verifyChunk } from '../../../src/protocol/content.js';

const chunkOf = (data: Uint8Array, i: number): Uint8Array => data.subarray(i * CHUNK_SIZE, Math.min((i + 1) * CHUNK_SIZE, data.length));

interface Phase {
  requested: number[];
  written: number[];
  outcome: string | undefined;
}

/** Runs until done/failed or until `killAfterWrites` chunks are written (then stops dead: a kill -9). */
async function drive(
  s: SwarmScheduler,
  w: FileWriter,
  data: Uint8Array,
  hashes: Uint8Array[],
  persist: (b: Uint8Array) => void,
  killAfterWrites = Infinity,
): Promise<Phase> {
  const flush = new BitmapFlushPolicy({ maxDirtyChunks: 4, maxDirtyMs: 50 });
  const out: Phase = { requested: [], written: [], outcome: undefined };
  const queue: { peer: string; chunk: number }[] = [];
  let now = 0;
  s.start(now);
  for (;;) {
    for (let e = s.pollEffect(); e; e = s.pollEffect()) {
      if (e.kind === 'request') {
        out.requested.push(e.chunkIndex);
        queue.push({ peer: e.peer, chunk: e.chunkIndex });
      } else if (e.kind === 'done' || e.kind === 'failed') out.outcome = e.kind;
    }
    if (out.outcome) {
      persist(s.bitmap.serialise()); // the worker flushes on completion
      return out;
    }
    const next = queue.shift();
    if (!next) {
      const dl = s.nextDeadline();
      if (dl === undefined) return out;
      now = Math.max(now, dl);
      s.handleTimeout(now);
      continue;
    }
    now += 7;
    // 'evil' flips a byte: the worker's hash check catches it.
    const bytes = chunkOf(data, next.chunk).slice();
    if (next.peer === 'evil') bytes[0] = (bytes[0] as number) ^ 1;
    if (!verifyChunk(hashes[next.chunk] as Uint8Array, bytes)) {
      s.handle({ type: 'chunkFailed', peer: next.peer, chunkIndex: next.chunk, reason: 'bad-hash' }, now);
      continue;
    }
    if (s.isVerified(next.chunk)) continue;
    await w.writeChunk(next.chunk, bytes);
    out.written.push(next.chunk);
    s.handle({ type: 'chunkVerified', peer: next.peer, chunkIndex: next.chunk }, now);
    if (flush.markDirty(now)) {
      persist(s.bitmap.serialise());
      flush.flushed();
    }
    if (out.written.length >= killAfterWrites) return out; // kill -9: no final flush
  }
}

describe('download pipeline: kill mid-way, resume, finish verified', () => {
  it('fetches again only what was not persisted, and the file comes out right', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scp2p-resume-'));
    try {
      const data = new Uint8Array(randomBytes(37 * CHUNK_SIZE + 999));
      const d = describeContent(data);
      const target = join(dir, 'movie.bin');
      const peers = [{ peer: 'a' }, { peer: 'b' }, { peer: 'evil' }];
      let stored: Uint8Array | undefined; // the lmdb value

      // Run 1: killed after 21 chunks.
      const s1 = new SwarmScheduler({ random: createRandom(1) }, { chunkCount: d.chunkCount, peers, endGame: false });
      const w1 = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId });
      const p1 = await drive(s1, w1, data, d.chunkHashes, (b) => (stored = b), 21);
      expect(p1.outcome).toBeUndefined();
      await w1.close(); // the OS closes it for a killed process; the partial file stays

      // Run 2: restart from the persisted bitmap.
      const bm = ChunkBitmap.deserialise(stored as Uint8Array, d.chunkCount);
      const unsaved = p1.written.filter((i) => !bm.has(i));
      expect(unsaved.length).toBeLessThan(4); // the documented window: < maxDirtyChunks
      const missingAtRestart = [...bm.missing()];
      const s2 = new SwarmScheduler({ random: createRandom(2) }, { chunkCount: d.chunkCount, verified: bm, peers, endGame: false });
      const w2 = await FileWriter.open({ targetPath: target, size: data.length, contentId: d.contentId });
      const p2 = await drive(s2, w2, data, d.chunkHashes, (b) => (stored = b));
      expect(p2.outcome).toBe('done');
      expect([...new Set(p2.requested)].sort((a, b) => a - b)).toEqual(missingAtRestart);
      expect(p2.requested.every((i) => !p1.written.includes(i) || unsaved.includes(i))).toBe(true);
      await w2.finalize({ chunkHashes: d.chunkHashes });
      expect(Buffer.compare(await readFile(target), data)).toBe(0);
      expect(s2.peers().find((p) => p.peer === 'evil')?.verified).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
