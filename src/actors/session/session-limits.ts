/**
 * The session's share of the live limits (src/limits.ts): `maxConnections`, the open peer connections at most.
 * Inbound connections beyond it are closed at accept; dials beyond it fail with LIMIT. Lowering it keeps the
 * sessions already open (closing them would break running transfers); it bites on the next connection.
 * null = the built-in ceiling (DEFAULT_MAX_CONNECTIONS); 0 = no new connections at all.
 */
import type { NodeLimits } from '../../limits.js';
import { DEFAULT_MAX_CONNECTIONS } from './session-manager.js';

export interface SessionLimitTarget {
  setMaxConnections(n: number): void;
}

export const SESSION_LIMIT_KEYS = ['maxConnections'] as const satisfies readonly (keyof NodeLimits)[];

export function applySessionLimits(limits: NodeLimits, target: SessionLimitTarget): { applied: (keyof NodeLimits)[] } {
  target.setMaxConnections(limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  return { applied: [...SESSION_LIMIT_KEYS] };
}
