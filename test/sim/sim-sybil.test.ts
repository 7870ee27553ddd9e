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
  it('20% Sybil nodes crowding the routing tables do not drop success below 99%', () => {
    const seed = 4004;
    withSeed(seed, () => {
      const sim = buildNetwork({ seed, dht: FAST }, N, (i) => (i % 5 === 0 ? 'sybil' : 'honest'));
      const sybils = sim.nodes.filter((n) => n.behavior === 'sybil').length;
      expect(sybils).toBeGreaterThanOrEqual(190);
      const heads = publishHeads(sim, 60);
      const st = lookupHeads(sim, heads, 2);
      expect(st.success / st.total).toBeGreaterThanOrEqual(0.99);
      expect(honest(sim).length).toBeGreaterThan(700);
    });
  });
});
