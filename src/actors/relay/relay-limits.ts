/**
 * The relay's share of the live limits (src/limits.ts): `maxRelayTunnels`, tunnels this node carries for
 * firewalled peers. A RELAY_REGISTER with tunnel=true beyond it gets the reference's "relay tunnel limit
 * reached"; tunnels already open are kept. null = the relay config's `maxTunnels` (default 64).
 */
import type { NodeLimits } from '../../limits.js';

export interface RelayLimitTarget {
  setMaxTunnels(n: number): void;
}

export const RELAY_LIMIT_KEYS = ['maxRelayTunnels'] as const satisfies readonly (keyof NodeLimits)[];

export function applyRelayLimits(limits: NodeLimits, target: RelayLimitTarget, defaultMaxTunnels: number): { applied: (keyof NodeLimits)[] } {
  target.setMaxTunnels(limits.maxRelayTunnels ?? defaultMaxTunnels);
  return { applied: [...RELAY_LIMIT_KEYS] };
}
