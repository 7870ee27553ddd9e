import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DownloadRegistry,
  nextState,
  transition,
  type DownloadEvent,
  type DownloadRecord,
  type DownloadState,
} from '../../../src/actors/fetcher/download-registry.js';
import { createRandom } from '../../../src/actors/runtime/random.js';

const comps = () => ({ random: createRandom(42) });
const item = (n: number) => ({ shareId: 'aa'.repeat(32), contentId: n.toString(16).padStart(64, '0'), path: `/dl/f${n}.bin`, bytesTotal: 1_000 });
const EVENTS: DownloadEvent[] = [
  { type: 'start' },
  { type: 'pause' },
  { type: 'resume' },
  { type: 'complete' },
  { type: 'fail', error: { code: 'IO', message: 'disk full' } },
  { type: 'cancel' },
];
const STATES: DownloadState[] = ['queued', 'running', 'paused', 'completed', 'failed', 'cancelled'];

describe('download state machine', () => {
  it('the transition table, state × event', () => {
    const table = Object.fromEntries(STATES.map((s) => [s, Object.fromEntries(EVENTS.map((e) => [e.type, nextState(s, e.type) ?? '-']))]));
    expect(table).toEqual({
      queued: { start: 'running', pause: 'paused', resume: 'queued', complete: '-', fail: '-', cancel: 'cancelled' },
      running: { start: '-', pause: 'paused', resume: '-', complete: 'completed', fail: 'failed', cancel: 'cancelled' },
      paused: { start: '-', pause: 'paused', resume: 'queued', complete: '-', fail: '-', cancel: 'cancelled' },
      completed: { start: '-', pause: '-', resume: '-', complete: '-', fail: '-', cancel: '-' },
      failed: { start: '-', pause: '-', resume: 'queued', complete: '-', fail: '-', cancel: 'cancelled' },
      cancelled: { start: '-', pause: '-', resume: '-', complete: '-', fail: '-', cancel: '-' },
    });
  });

  it('transition is pure, records the error, and refuses with CONFLICT', () => {
    const r: DownloadRecord = { id: 'd', shareId: null, contentId: 'c', path: '/p', state: 'running', bytesDone: 10, bytesTotal: 100, createdAt: 0, updatedAt: 0, error: null };
    const f = transition(r, { type: 'fail', error: { code: 'IO', message: 'disk full' } }, 5);
    expect(r.state).toBe('running');
    expect(f).toMatchObject({ state: 'failed', updatedAt: 5, error: { code: 'IO' }, bytesDone: 10 });
    expect(transition(f, { type: 'resume' }, 6)).toMatchObject({ state: 'queued', error: null });
    expect(transition(r, { type: 'complete' }, 7)).toMatchObject({ state: 'completed', bytesDone: 100 });
    expect(() => transition({ ...r, state: 'completed' }, { type: 'pause' }, 8)).toThrow(/is completed; cannot pause it/);
  });
});

describe('DownloadRegistry', () => {
  it('adds, starts in FIFO order within a running limit, tracks progress, lists', () => {
    const reg = new DownloadRegistry(comps());
    const a = reg.add(item(1), 0);
    const b = reg.add(item(2), 1);
    const c = reg.add(item(3), 2);
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    expect(reg.add(item(1), 3).id).toBe(a.id); // same content, same path: the same download
    expect(() => reg.add({ ...item(9), path: item(1).path }, 3)).toThrow(/already writing/);
    expect(reg.nextToStart(2).map((r) => r.id)).toEqual([a.id, b.id]);
    reg.apply(a.id, { type: 'start' }, 4);
    reg.apply(b.id, { type: 'start' }, 4);
    expect(reg.nextToStart(2)).toEqual([]);
    reg.progress(a.id, 400, 5);
    reg.progress(a.id, 300, 6); // monotone
    reg.progress(a.id, 5_000, 6); // capped
    expect(reg.get(a.id).bytesDone).toBe(1_000);
    reg.apply(b.id, { type: 'pause' }, 7);
    expect(reg.nextToStart(2).map((r) => r.id)).toEqual([c.id]);
    reg.apply(b.id, { type: 'resume' }, 8);
    expect(reg.nextToStart(3).map((r) => r.id)).toEqual([c.id, b.id]); // b re-queued after c
    expect(() => reg.get('nope')).toThrow(/no download with id nope/);
    expect(reg.list()).toHaveLength(3);
  });

  it('snapshot → restore: unfinished downloads resume by themselves (running → queued)', () => {
    const reg = new DownloadRegistry(comps());
    const ids = [1, 2, 3, 4, 5].map((n) => reg.add(item(n), n).id);
    reg.apply(ids[0] as string, { type: 'start' }, 10);
    reg.progress(ids[0] as string, 500, 11);
    reg.apply(ids[1] as string, { type: 'pause' }, 10);
    reg.apply(ids[2] as string, { type: 'start' }, 10);
    reg.apply(ids[2] as string, { type: 'complete' }, 12);
    reg.apply(ids[3] as string, { type: 'cancel' }, 12);
    // lmdb stores plain values: go through JSON to be sure nothing relies on identity
    const stored = JSON.parse(JSON.stringify(reg.snapshot())) as unknown[];
    const back = DownloadRegistry.restore(comps(), [...stored, { junk: true }, null], 100);
    expect(back.list().map((r) => [r.id, r.state])).toEqual([
      [ids[0], 'queued'],
      [ids[1], 'paused'],
      [ids[2], 'completed'],
      [ids[3], 'cancelled'],
      [ids[4], 'queued'],
    ]);
    expect(back.get(ids[0] as string).bytesDone).toBe(500);
    expect(back.nextToStart(8).map((r) => r.id)).toEqual([ids[0], ids[4]]);
    expect(back.prune(50)).toBe(2);
  });

  it('property: any event sequence keeps records valid; terminal states never change', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom(...EVENTS)), { maxLength: 60 }), (steps) => {
        const reg = new DownloadRegistry(comps());
        const ids = [1, 2, 3].map((n) => reg.add(item(n), 0).id);
        let t = 1;
        for (const [k, ev] of steps) {
          const id = ids[k] as string;
          const before = reg.get(id);
          try {
            const after = reg.apply(id, ev, t++);
            expect(before.state === 'completed' || before.state === 'cancelled').toBe(false);
            expect(after.state).toBe(nextState(before.state, ev.type));
          } catch (e) {
            expect((e as { code: string }).code).toBe('CONFLICT');
            expect(reg.get(id)).toBe(before);
          }
          for (const r of reg.list()) {
            expect(r.bytesDone).toBeLessThanOrEqual(r.bytesTotal);
            expect(r.error === null || r.state === 'failed').toBe(true);
          }
          const queued = reg.nextToStart(10).map((r) => r.id).sort();
          expect(queued).toEqual(reg.list().filter((r) => r.state === 'queued').map((r) => r.id).sort());
        }
      }),
      { numRuns: 300 },
    );
  });
});
