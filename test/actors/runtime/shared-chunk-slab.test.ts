import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { directWritable, SharedChunkSlab, SLAB_SLOT_BYTES } from '../../../src/actors/runtime/shared-chunk-slab.js';
import { CHUNK_SIZE } from '../../../src/protocol/content.js';

describe('SharedChunkSlab', () => {
  it('any frame holding a full chunk at its end puts the chunk on a 4 KiB boundary, in shared memory', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: SLAB_SLOT_BYTES - CHUNK_SIZE }), (head) => {
        const slab = new SharedChunkSlab(2);
        const a = slab.take(head + CHUNK_SIZE)!;
        const b = slab.take(head + CHUNK_SIZE)!;
        for (const v of [a, b]) {
          const chunk = v.subarray(head);
          expect(chunk.length).toBe(CHUNK_SIZE);
          expect(chunk.byteOffset % 4096).toBe(0);
          expect(directWritable(chunk)).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('lends each slot to one owner at a time (model check of take / release / double release)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('take' as const), len: fc.integer({ min: 0, max: SLAB_SLOT_BYTES + 10 }) }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('releaseAgain' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const slab = new SharedChunkSlab(5);
        const out: Uint8Array[] = [];
        const released: Uint8Array[] = [];
        for (const o of ops) {
          if (o.kind === 'take') {
            const v = slab.take(o.len);
            const fits = o.len >= CHUNK_SIZE / 2 && o.len <= SLAB_SLOT_BYTES;
            if (!fits || out.length === 5) expect(v).toBeUndefined();
            else {
              expect(v!.length).toBe(o.len);
              expect(slab.owns(v!)).toBe(true);
              // ends at a slot end, and shares no byte with a view lent before
              expect((v!.byteOffset + v!.length) % SLAB_SLOT_BYTES).toBe(0);
              for (const w of out) expect(Math.floor(w.byteOffset / SLAB_SLOT_BYTES)).not.toBe(Math.floor(v!.byteOffset / SLAB_SLOT_BYTES));
              out.push(v!);
            }
          } else if (o.kind === 'release' && out.length > 0) {
            const [v] = out.splice(o.pick % out.length, 1);
            slab.release(v!);
            released.push(v!);
          } else if (o.kind === 'releaseAgain' && released.length > 0) {
            // A second release of a slot that is free again (or lent anew) must not free it for someone else.
            const stale = released[o.pick % released.length]!;
            const lentAgain = out.some((w) => Math.floor(w.byteOffset / SLAB_SLOT_BYTES) === Math.floor(stale.byteOffset / SLAB_SLOT_BYTES));
            const before = slab.inUse;
            if (!lentAgain) {
              slab.release(stale);
              expect(slab.inUse).toBe(before);
            }
          }
          expect(slab.inUse).toBe(out.length);
        }
      }),
    );
  });

  it('ignores views of other memory and offsets outside the slab', () => {
    const slab = new SharedChunkSlab(1);
    const v = slab.take(CHUNK_SIZE)!;
    slab.release(new Uint8Array(CHUNK_SIZE));
    slab.release(new Uint8Array(new SharedArrayBuffer(SLAB_SLOT_BYTES)));
    slab.releaseOffset(-1);
    slab.releaseOffset(SLAB_SLOT_BYTES * 3);
    slab.releaseOffset(0.5);
    expect(slab.inUse).toBe(1);
    slab.releaseOffset(v.byteOffset + 100); // any byte of the slot names it (the fetcher reports a chunk's offset)
    expect(slab.inUse).toBe(0);
  });

  it('a short or unaligned chunk, or one in ordinary memory, is not written from where it lies', () => {
    const slab = new SharedChunkSlab(1);
    const v = slab.take(CHUNK_SIZE + 100)!;
    expect(directWritable(v.subarray(100))).toBe(true);
    expect(directWritable(v.subarray(99, 99 + CHUNK_SIZE))).toBe(false);
    expect(directWritable(v.subarray(100, 100 + CHUNK_SIZE - 4096))).toBe(false);
    expect(directWritable(new Uint8Array(CHUNK_SIZE))).toBe(false);
  });
});
