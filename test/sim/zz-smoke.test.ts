import { it } from 'vitest';
import { buildNetwork, publishHeads, lookupHeads } from './helpers.js';
const JR = process.env.JR === '1';
import type { Behavior } from './sim-network.js';
const run = (name: string, f: (i: number) => Behavior) => it(name, () => {
  let t = performance.now();
  const sim = buildNetwork({ seed: 7, dht: { joinRefresh: JR } }, 1000, f);
  const build = performance.now() - t; t = performance.now();
  const heads = publishHeads(sim, 100);
  const st = lookupHeads(sim, heads, 2);
  console.log(name, 'build', build|0, 'ops', (performance.now() - t)|0, st.success, '/', st.total, 'stored min', Math.min(...heads.map(h => h.stored)), 'msgs', sim.stats.messages);
});
run('honest', () => 'honest');
run('adv5', (i) => (i % 20 === 1 ? 'stalling' : i % 20 === 2 ? 'lying' : i % 20 === 3 ? 'garbage' : 'honest'));
run('sybil20', (i) => (i % 5 === 4 ? 'sybil' : 'honest'));
