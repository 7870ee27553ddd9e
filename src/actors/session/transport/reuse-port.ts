/**
 * Listening sockets with SO_REUSEPORT: several listeners, on any threads of this process, bound to one host and
 * port, each owning its own descriptor; the kernel spreads new connections over them by the 4-tuple's hash.
 *
 * Why: serve threads used to accept from the session's own descriptor (Node 20 has no `reusePort` and no
 * `dup()`), so two handles owned one number and the second close could hit whatever reused it. A unit-test
 * process died that way in CI, silently. With a socket each, every close closes only its own.
 *
 * Node 20's `net` cannot set SO_REUSEPORT (`reusePort` arrived in 22.12), so the socket is made by
 * node-unix-socket (a napi-rs addon shipped per platform as npm packages; nothing is built or downloaded at
 * install) and handed to `server.listen({ fd })`. Where the addon has no build (Windows), `reusePortSupport()`
 * says why and the node serves on its own loop only. Linux shares a reuse-port group only among sockets of one
 * effective user, so another user's process cannot join ours and take connections.
 */
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { ScpError } from '../../../errors.js';

interface ReusePortAddon {
  createReuseportFd(port: number, host: string): number;
}

let loaded: { addon: ReusePortAddon } | { reason: string } | undefined;

function addon(): { addon: ReusePortAddon } | { reason: string } {
  if (loaded) return loaded;
  try {
    loaded = { addon: createRequire(import.meta.url)('node-unix-socket') as ReusePortAddon };
  } catch (err) {
    loaded = { reason: `SO_REUSEPORT is not available on ${process.platform}-${process.arch} (node-unix-socket: ${(err as Error).message.split('\n')[0]})` };
  }
  return loaded;
}

/** Undefined when reuse-port listeners can be made here, else why not. */
export function reusePortSupport(): string | undefined {
  const a = addon();
  return 'reason' in a ? a.reason : undefined;
}

/**
 * A bound, not yet listening TCP socket with SO_REUSEADDR and SO_REUSEPORT, for `server.listen({ fd })`. An
 * empty host binds every address, IPv6 with IPv4 mapped where the machine has IPv6 (as `listen(port)` does).
 * The caller owns the descriptor (a `net.Server` listening on it closes it).
 */
export function reusePortFd(host: string, port: number): number {
  const a = addon();
  if ('reason' in a) throw ScpError.io(a.reason);
  if (host !== '' && isIP(host) === 0) throw ScpError.badInput(`reuse-port listener: "${host}" is not an IP address`);
  const hosts = host === '' ? ['::', '0.0.0.0'] : [host];
  let last: unknown;
  for (const h of hosts) {
    try {
      return a.addon.createReuseportFd(port, h);
    } catch (err) {
      last = err;
    }
  }
  throw ScpError.io(`cannot bind a reuse-port listener on ${host || '*'}:${port}: ${(last as Error).message}`, last);
}
