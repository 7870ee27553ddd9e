/**
 * 1,000-node simulation of the real DhtCore (src/sim/sim-network.ts); prints its seed on failure (replay with it).
 * Join refresh is off in the sims to keep the suite fast; the bench measures with it on.
 */
import { describe, expect, it } from 'vitest';
import { buildNetwork, lookupHeads, publishHeads, withSeed } from './helpers.js';

const FAST = { joinRefresh: false, republishIntervalMs: 600_000, replicateIntervalMs: 600_000 };

describe('DHT simulation, 1,000 nodes', () => {
  it('ShareHeads stored from random nodes are found from random nodes', () => {
    const seed = 1001;
    withSeed(seed, () => {
      const sim = buildNetwork({ seed, dht: FAST }, 1_000);
      const heads = publishHeads(sim, 60);
      expect(Math.min(...heads.map((h) => h.stored))).toBe(20);
      const st = lookupHeads(sim, heads, 2);
      expect(st.success).toBe(st.total);
      expect(Math.max(...st.rounds)).toBeLessThanOrEqual(12);
    });
  });
});
