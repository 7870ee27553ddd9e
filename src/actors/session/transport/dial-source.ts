import { isIP } from 'node:net';

export function isLoopbackHost(host: string): boolean {
  return host === '::1' || host.startsWith('127.') || host === 'localhost' || host.startsWith('::ffff:127.');
}

/**
 * The local address a dial to `target` leaves from: `outgoing` (NodeConfig.outgoingAddress) when set and of the
 * target's family; else the node's listening host when that is one address (not the wildcard) of the target's
 * family and scope, so the peer sees us at the address it would dial back, and per-IP budgets count each node on
 * its own. Otherwise undefined (the kernel picks): a node bound to 127.0.0.1 can still dial a LAN or public peer,
 * and a LAN-bound one a loopback peer.
 *
 * Why: nodes bound to 127.0.1.x on one machine dialed each other from 127.0.0.1, so every node looked like one
 * IP to the others; the shared accept budget and abuse guard then refused and banned them all (the short soak:
 * 94 000 refused accepts, 4 500 banned connections, a quarter of downloads NOT_FOUND with the publisher up).
 */
export function dialSource(host: string, target: string, outgoing?: string): string | undefined {
  if (outgoing !== undefined) return isIP(outgoing) === isIP(target) ? outgoing : undefined;
  const family = isIP(host);
  if (family === 0 || host === '0.0.0.0' || host === '::') return undefined;
  if (isIP(target) !== family || isLoopbackHost(host) !== isLoopbackHost(target)) return undefined;
  return host;
}
