import type { ActorName } from '../../messages/actor-name.js';

/**
 * Pairs of actors that talk a lot and so get a direct MessageChannel (ARCHITECTURE.md), instead of a hop
 * through the supervisor. Persistence has none: every actor opens the lmdb environment itself.
 */
export const DIRECT_LINKS: readonly (readonly [ActorName, ActorName])[] = [
  ['session', 'dht'],
  ['session', 'fetcher'],
  ['session', 'relay'],
  ['session', 'index'],
  ['dht', 'fetcher'],
  ['dht', 'relay'],
  ['dht', 'index'],
  ['fetcher', 'index'],
];

export function linkedPeers(name: ActorName): ActorName[] {
  const out: ActorName[] = [];
  for (const [a, b] of DIRECT_LINKS) {
    if (a === name) out.push(b);
    else if (b === name) out.push(a);
  }
  return out;
}
