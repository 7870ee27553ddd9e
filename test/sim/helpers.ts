/** Shared set-up for the DHT simulations: networks built by sequential joins, signed share heads. */
import { shareHeadKey } from '../../src/protocol/dht-keys.js';
import { shareIdFromPubkey } from '../../src/protocol/ids.js';
import { publicKeyFromSeed } from '../../src/protocol/keys.js';
import { encodeShareHead, signShareHead } from '../../src/protocol/share-head.js';
import { SimNetwork, type Behavior, type SimInit, type SimNode } from './sim-network.js';

export interface Share {
  seed: Uint8Array;
  pubkey: Uint8Array;
  shareId: Uint8Array;
  key: Uint8Array;
}

export function makeShare(sim: SimNetwork): Share {
  const seed = sim.bytes(32);
  const pubkey = publicKeyFromSeed(seed);
  const shareId = shareIdFromPubkey(pubkey);
  return { seed, pubkey, shareId, key: shareHeadKey(shareId) };
}

export function headValue(s: Share, seq: number, updatedAt = seq): Uint8Array {
  return encodeShareHead(
    signShareHead({ shareId: s.shareId, latestSeq: BigInt(seq), latestManifestId: new Uint8Array(32).fill(seq & 0xff), updatedAt: BigInt(updatedAt) }, s.seed),
  );
}

/**
 * Builds a network of `n` nodes joined one after another, each through one of the first BOOTSTRAP_NODES nodes
 * (honest, like a shipped bootstrap list); behaviours are assigned by `behaviorOf(i)` (nodes 0..4 are always
 * honest). Returns the simulator with every node online.
 */
export const BOOTSTRAP_NODES = 5;

export function buildNetwork(init: SimInit, n: number, behaviorOf: (i: number) => Behavior = () => 'honest'): SimNetwork {
  const sim = new SimNetwork(init);
  const first = sim.addNode('honest');
  first.online = true;
  for (let i = 1; i < n; i++) {
    const node = sim.addNode(i < BOOTSTRAP_NODES ? 'honest' : behaviorOf(i));
    const via = sim.nodes[sim.random.int(Math.min(i, BOOTSTRAP_NODES))]!;
    sim.run(node, (core, now) => core.bootstrap([via.addr], now));
  }
  sim.runUntilIdle();
  return sim;
}

export function honest(sim: SimNetwork): SimNode[] {
  return sim.nodes.filter((n) => n.online && n.behavior === 'honest');
}

/** Wraps an assertion block so a failure names the seed that replays it. */
export function withSeed<T>(seed: number, f: () => T): T {
  try {
    return f();
  } catch (e) {
    console.error(`simulation failed; replay with seed ${seed}`);
    throw e;
  }
}

/** Stores `count` signed heads from random honest nodes (with republish) and returns them with their seq. */
export function publishHeads(sim: SimNetwork, count: number): { share: Share; seq: number; stored: number }[] {
  const out: { share: Share; seq: number; stored: number }[] = [];
  for (let i = 0; i < count; i++) {
    const share = makeShare(sim);
    const seq = 1 + sim.random.int(50);
    const from = sim.pick(honest(sim));
    const r = sim.run<'store-done'>(from, (c, now) => c.put(share.key, headValue(share, seq), now, { republish: true }));
    out.push({ share, seq, stored: r?.stored ?? 0 });
  }
  return out;
}

export interface LookupStats {
  success: number;
  total: number;
  rounds: number[];
  messages: number[];
}

/** Looks every head up from random honest nodes; success = the exact published seq came back, verified. */
export function lookupHeads(sim: SimNetwork, heads: { share: Share; seq: number }[], perHead = 1): LookupStats {
  const st: LookupStats = { success: 0, total: 0, rounds: [], messages: [] };
  for (const h of heads) {
    for (let j = 0; j < perHead; j++) {
      const from = sim.pick(honest(sim));
      const r = sim.lookup(from, (c, now) => c.findShareHead(h.share.shareId, now, h.share.pubkey));
      st.total++;
      if (r?.value && Buffer.from(r.value.value).equals(Buffer.from(headValue(h.share, h.seq)))) st.success++;
      if (r) {
        st.rounds.push(r.rounds);
        st.messages.push(r.messages);
      }
    }
  }
  return st;
}
