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
  it('with 30% churn and republish, ≥ 99% of lookups succeed', () => {
    const seed = 2002;
    withSeed(seed, () => {
      const sim = buildNetwork({ seed, dht: FAST, loss: 0.01 }, N);
      const heads = publishHeads(sim, 40);
      // 30% of the nodes leave (bootstrap nodes stay), and as many fresh nodes join.
      const leavers = sim.nodes.slice(BOOTSTRAP_NODES).filter(() => sim.random.next() < 0.3);
      for (const n of leavers) sim.setOnline(n, false);
      for (let i = 0; i < leavers.length; i++) {
        const node = sim.addNode();
        const via = sim.nodes[sim.random.int(BOOTSTRAP_NODES)]!;
        sim.run(node, (core, now) => core.bootstrap([via.addr], now));
      }
      // One republish/replication period.
      sim.runFor(700_000);
      const st = lookupHeads(sim, heads, 2);
      expect(st.success / st.total).toBeGreaterThanOrEqual(0.99);
    });
  });
});
