import { describe, expect, it } from 'vitest';
import { HeartbeatMonitor } from '../../src/actors/runtime/heartbeat-monitor.js';

describe('heartbeat monitor', () => {
  it('judges an actor hung only after the timeout without beats', () => {
    const m = new HeartbeatMonitor({ intervalMs: 100, timeoutMs: 1000 });
    m.beat('a', 0);
    m.beat('b', 0);
    let hung: string[] = [];
    for (let t = 100; t <= 1000; t += 100) {
      m.beat('b', t);
      hung = m.tick(t);
      expect(hung).toEqual([]);
    }
    m.beat('b', 1100);
    expect(m.tick(1100)).toEqual(['a']);
  });

  it('gives everyone a fresh grace period when its own tick was late (a stalled, loaded machine)', () => {
    const m = new HeartbeatMonitor({ intervalMs: 100, timeoutMs: 1000 });
    m.beat('a', 0);
    expect(m.tick(100)).toEqual([]);
    // The event loop stalled 3 s: beats may be queued unread. No verdict now...
    expect(m.tick(3100)).toEqual([]);
    // ...and none until a full timeout has passed on time.
    expect(m.tick(3200)).toEqual([]);
    let t = 3200;
    while (t < 4100) expect(m.tick((t += 100))).toEqual([]);
    expect(m.tick(4200)).toEqual(['a']);
  });

  it('forgets actors that are no longer watched', () => {
    const m = new HeartbeatMonitor({ intervalMs: 100, timeoutMs: 200 });
    m.beat('a', 0);
    m.forget('a');
    expect(m.tick(100)).toEqual([]);
    expect(m.tick(200)).toEqual([]);
    expect(m.tick(300)).toEqual([]);
  });
});
