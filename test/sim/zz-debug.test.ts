import { it } from 'vitest';
import { buildNetwork, publishHeads, honest } from './helpers.js';
import { compareDistance, targetOfKey } from '../../src/actors/dht/node-distance.js';
it('dbg', () => {
  const sim = buildNetwork({ seed: 7 }, 1000, (i) => (i % 5 === 4 ? 'sybil' : 'honest'));
  const heads = publishHeads(sim, 3);
  for (const h of heads) {
    const t = targetOfKey(h.share.key);
    const sorted = [...sim.nodes].sort((a, b) => compareDistance(a.core.localId, b.core.localId, t)).slice(0, 20);
    console.log('closest20', sorted.map(n => n.behavior[0] + (n.core.store.peek(h.share.key, sim.time) ? '+' : '-')).join(''));
    const holders = sim.nodes.filter(n => n.core.store.peek(h.share.key, sim.time)).length;
    const from = sim.pick(honest(sim));
    const r = sim.lookup(from, (c, now) => c.findShareHead(h.share.shareId, now, h.share.pubkey));
    console.log('holders', holders, 'found', !!r?.value, 'rounds', r?.rounds, 'msgs', r?.messages, 'fail', r?.failures, 'closest', r?.closest.map(c => sim.nodes.find(n=>n.core.localKey===c.key)!.behavior[0]).join(''));
    console.log('table of from', from.core.table.size, from.core.table.entries().filter(e => sim.nodes.find(n=>n.core.localKey===e.contact.key)!.behavior==='sybil').length);
  }
});
