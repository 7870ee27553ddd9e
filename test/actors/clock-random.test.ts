import { describe, expect, it } from 'vitest';
import { ManualClock, TrackedClock } from '../../src/actors/runtime/clock.js';
import { createRandom } from '../../src/actors/runtime/random.js';

describe('injected clock and randomness', () => {
  it('ManualClock fires due timers in deadline order, including ones set by timers', () => {
    const c = new ManualClock(1000);
    const seen: string[] = [];
    c.setTimeout(() => seen.push(`b@${c.now()}`), 20);
    c.setTimeout(() => {
      seen.push(`a@${c.now()}`);
      c.setTimeout(() => seen.push(`c@${c.now()}`), 5);
    }, 10);
    const h = c.setTimeout(() => seen.push('never'), 15);
    c.clearTimeout(h);
    c.advance(100);
    expect(seen).toEqual(['a@1010', 'c@1015', 'b@1020']);
    expect(c.now()).toBe(1100);
  });

  it('TrackedClock reports a throwing callback and cancels everything on dispose', () => {
    const c = new ManualClock();
    const errors: unknown[] = [];
    const t = new TrackedClock(c, (e) => errors.push(e));
    t.setTimeout(() => {
      throw new Error('boom');
    }, 1);
    let fired = false;
    t.setTimeout(() => (fired = true), 10);
    c.advance(5);
    expect(errors).toHaveLength(1);
    t.dispose();
    c.advance(10);
    expect(fired).toBe(false);
    expect(c.pendingTimers()).toBe(0);
  });

  it('a seed replays the same stream; forks are independent and stable', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(createRandom(43).next()).not.toBe(xs[0]);
    expect(createRandom(42).fork('dht').int(1_000_000)).toBe(createRandom(42).fork('dht').int(1_000_000));
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});
