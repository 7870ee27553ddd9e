/**
 * 1,000-node simulations of the real DhtCore (src/sim/sim-network.ts). Each test prints its seed on failure;
 * rerun with the same seed to replay. Join refresh is off here to keep the suite fast (the bootstrap
 * self-lookup plus inbound traffic fill the tables well enough at this size; the bench measures it on).
 */
import { describe, expect, it } from 'vitest';
import { BOOTSTRAP_NODES, buildNetwork, honest, lookupHeads, publishHeads, withSeed } from './helpers.js';
import type { Behavior } from './sim-network.js';

const N = 1_000;
const FAST = { joinRefresh: false, republishIntervalMs: 600_000, replicateIntervalMs: 600_000 };

describe('DHT simulation, 1,000 nodes', () => {
  it('survives lying, garbage-returning and stalling nodes (5% each)', () => {
    const seed = 3003;
    const behaviorOf = (i: number): Behavior => (['stalling', 'lying', 'garbage'] as const)[i % 20] ?? 'honest';
    withSeed(seed, () => {
      const sim = buildNetwork({ seed, dht: FAST }, N, behaviorOf);
      expect(sim.nodes.filter((n) => n.behavior !== 'honest').length).toBeGreaterThanOrEqual(140);
      const heads = publishHeads(sim, 30);
      const st = lookupHeads(sim, heads, 2);
      expect(st.success / st.total).toBeGreaterThanOrEqual(0.99);
    });
  });
});
