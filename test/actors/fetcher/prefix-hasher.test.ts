import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixHasher } from '../../../src/actors/fetcher/prefix-hasher.js';
import { CHUNK_SIZE } from '../../../src/protocol/content.js';
import { blake3 } from '../../../src/protocol/hash.js';

function fileOf(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const chunk = (file: Uint8Array, i: number) => file.subarray(i * CHUNK_SIZE, Math.min(file.length, (i + 1) * CHUNK_SIZE));

describe('PrefixHasher: the content digest built while chunks land', () => {
  it('equals BLAKE3 of the whole file for any arrival order, held-chunk bound and resumed prefix', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 9 * CHUNK_SIZE + 1000 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (size, maxHeld, seed, resumedShare) => {
          const file = fileOf(size, seed);
          const count = Math.ceil(size / CHUNK_SIZE);
          const onDisk = new Set<number>();
          // A previous run left some chunks verified on disk.
          for (let i = 0; i < count; i++) if (((seed >>> (i % 31)) & 1) === 1 && Math.abs(Math.sin(i + seed)) < resumedShare) onDisk.add(i);
          let reads = 0;
          let slotReads = 0;
          let readReleases = 0;
          // Every buffer offered comes back exactly once: at once (add → true) or through release once hashed.
          const back = new Map<Uint8Array, number>();
          const giveBack = (b: Uint8Array): void => void back.set(b, (back.get(b) ?? 0) + 1);
          const h = new PrefixHasher({
            size,
            chunkCount: count,
            maxHeld,
            release: giveBack,
            has: (i) => onDisk.has(i),
            read: async (i) => {
              reads++;
              await new Promise((r) => setImmediate(r));
              // Read-backs come as plain bytes or (a direct read into a slot) with a release to call once hashed.
              if (i % 2) return chunk(file, i).slice();
              slotReads++;
              return { bytes: chunk(file, i).slice(), release: () => void readReleases++ };
            },
          });
          const order = [...Array(count).keys()].filter((i) => !onDisk.has(i));
          for (let i = order.length - 1; i > 0; i--) {
            const j = Math.abs(seed * (i + 7)) % (i + 1);
            [order[i], order[j]] = [order[j] as number, order[i] as number];
          }
          const offered: Uint8Array[] = [];
          for (const i of order) {
            onDisk.add(i); // written, then offered
            const bytes = chunk(file, i).slice();
            offered.push(bytes);
            if (h.add(i, bytes)) giveBack(bytes);
            if (i % 2 === 0) await Promise.resolve();
          }
          expect(Buffer.from(await h.finish()).equals(Buffer.from(blake3(file)))).toBe(true);
          expect(reads).toBeLessThanOrEqual(count);
          for (const b of offered) expect(back.get(b)).toBe(1);
          expect(readReleases).toBe(slotReads); // every slot read back is freed, read-aheads included
        },
      ),
      { numRuns: 60 },
    );
  });

  it('in-order arrival reads nothing back from disk', async () => {
    const size = 5 * CHUNK_SIZE + 17;
    const file = fileOf(size, 42);
    const written = new Set<number>();
    let reads = 0;
    const h = new PrefixHasher({ size, chunkCount: 6, has: (i) => written.has(i), read: async (i) => (reads++, chunk(file, i)) });
    for (let i = 0; i < 6; i++) {
      written.add(i);
      h.add(i, chunk(file, i));
    }
    expect(Buffer.from(await h.finish()).equals(Buffer.from(blake3(file)))).toBe(true);
    expect(reads).toBe(0);
  });

  it('catches up with several reads at once, and frees the slots of reads it started when one fails', async () => {
    const size = 12 * CHUNK_SIZE;
    const file = fileOf(size, 7);
    let inFlight = 0;
    let most = 0;
    let slots = 0;
    const reads: number[] = [];
    const h = new PrefixHasher({
      size,
      chunkCount: 12,
      maxHeld: 0,
      has: () => true, // a resumed download: everything is on disk, nothing is offered
      read: async (i) => {
        reads.push(i);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        if (i === 6) throw new Error('EIO at 6');
        slots++;
        return { bytes: chunk(file, i).slice(), release: () => void slots-- };
      },
    });
    await expect(h.finish()).rejects.toThrow('EIO at 6');
    expect(most).toBe(4);
    expect(reads.slice(0, 4)).toEqual([0, 1, 2, 3]); // in index order
    await new Promise((r) => setTimeout(r, 20)); // the reads still in flight at the failure land and are freed
    expect(inFlight).toBe(0);
    expect(slots).toBe(0);
  });

  it('a read error surfaces from finish() (the caller then re-hashes the file)', async () => {
    const h = new PrefixHasher({ size: 2 * CHUNK_SIZE, chunkCount: 2, has: () => true, read: async () => { throw new Error('EIO'); } });
    await expect(h.finish()).rejects.toThrow('EIO');
  });
});
