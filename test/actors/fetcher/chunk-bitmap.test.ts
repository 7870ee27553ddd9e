import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitmapFlushPolicy, ChunkBitmap } from '../../../src/actors/fetcher/chunk-bitmap.js';

describe('ChunkBitmap', () => {
  it('sets, clears, counts, and lists missing chunks', () => {
    const b = new ChunkBitmap(10, [0, 3, 9]);
    expect(b.count).toBe(3);
    expect(b.set(3)).toBe(false);
    expect(b.set(4)).toBe(true);
    expect([...b.missing()]).toEqual([1, 2, 5, 6, 7, 8]);
    expect([...b.missing(6)]).toEqual([6, 7, 8]);
    expect([...b.verified()]).toEqual([0, 3, 4, 9]);
    expect(b.clear(0)).toBe(true);
    expect(b.clear(0)).toBe(false);
    expect(b.has(0)).toBe(false);
    expect(b.has(-1)).toBe(false);
    expect(b.has(10)).toBe(false);
    expect(() => b.set(10)).toThrow(/out of range/);
    expect(new ChunkBitmap(0).complete).toBe(true);
  });

  it('serialises to a compact versioned format', () => {
    const b = new ChunkBitmap(12, [0, 1, 8, 11]);
    expect([...b.serialise()]).toEqual([1, 0, 0, 0, 12, 0b0000_0011, 0b0000_1001]);
    expect(new ChunkBitmap(100_000).serialise().length).toBe(5 + 12_500);
  });

  it('refuses damaged or foreign bitmaps', () => {
    const good = new ChunkBitmap(12, [1]).serialise();
    expect(() => ChunkBitmap.deserialise(good, 13)).toThrow(/covers 12 chunks/);
    expect(() => ChunkBitmap.deserialise(good.subarray(0, 6))).toThrow(/expected 2/);
    expect(() => ChunkBitmap.deserialise(new Uint8Array([2, 0, 0, 0, 0]))).toThrow(/version-1/);
    const junk = good.slice();
    junk[6] = 0xff; // bits 12..15 set past the end
    expect(() => ChunkBitmap.deserialise(junk)).toThrow(/past its chunk count/);
  });

  it('property: round trip preserves exactly the set bits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3_000 }).chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.integer({ min: 0, max: Math.max(0, n - 1) }), { maxLength: n }))), ([n, idx]) => {
        const set = n === 0 ? [] : idx;
        const b = new ChunkBitmap(n, set);
        const r = ChunkBitmap.deserialise(b.serialise(), n);
        expect(r.count).toBe(new Set(set).size);
        expect([...r.verified()]).toEqual([...new Set(set)].sort((a, c) => a - c));
        expect(r.count + [...r.missing()].length).toBe(n);
      }),
      { numRuns: 300 },
    );
  });
});

describe('BitmapFlushPolicy', () => {
  it('flushes every K chunks or N ms after the first unsaved chunk', () => {
    const p = new BitmapFlushPolicy({ maxDirtyChunks: 3, maxDirtyMs: 100 });
    expect(p.nextDeadline()).toBeUndefined();
    expect(p.markDirty(0)).toBe(false);
    expect(p.nextDeadline()).toBe(100);
    expect(p.markDirty(10)).toBe(false);
    expect(p.markDirty(20)).toBe(true); // K reached
    p.flushed();
    expect(p.due(1_000)).toBe(false);
    expect(p.markDirty(500)).toBe(false);
    expect(p.due(599)).toBe(false);
    expect(p.due(600)).toBe(true); // N ms reached
  });

  it('property: the unsaved window never exceeds K chunks and a timer at nextDeadline bounds it to N ms', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 300 }), (gaps) => {
        const p = new BitmapFlushPolicy({ maxDirtyChunks: 16, maxDirtyMs: 200 });
        let now = 0;
        for (const g of gaps) {
          // the worker's timer fires first if due
          const dl = p.nextDeadline();
          if (dl !== undefined && dl <= now + g) {
            expect(p.due(dl)).toBe(true);
            p.flushed();
          }
          now += g;
          if (p.markDirty(now)) p.flushed();
          expect(p.dirtyChunks).toBeLessThan(16);
          const d2 = p.nextDeadline();
          if (d2 !== undefined) expect(d2 - now).toBeLessThanOrEqual(200);
        }
      }),
    );
  });
});
