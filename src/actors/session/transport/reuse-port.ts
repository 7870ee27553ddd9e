/**
 * Listening sockets with SO_REUSEPORT: several listeners, on any threads of this process, bound to one host and
 * port, each owning its own descriptor; the kernel spreads new connections over them by the 4-tuple's hash.
 *
 * Why: serve threads used to accept from the session's own descriptor (Node 20 has no `reusePort` and no
 * `dup()`), so two handles owned one number and the second close could hit whatever reused it in between. With
 * a socket each, every close closes only its own.
 *
 * Node 20's `net` cannot set SO_REUSEPORT (`reusePort` arrived in 22.12), so the socket is made by the native
 * part of node-unix-socket (napi-rs; one npm package per platform, nothing built or downloaded at install) and
 * handed to `server.listen({ fd })`. We depend on its Linux x64 builds (glibc, musl) directly, as optional
 * dependencies: the registry this project installs from has no others, and the wrapper package lists all seven,
 * so `npm ci` could not install it from a lock file made here. Elsewhere `reusePortSupport()` says why not and
 * the node serves on its own loop only. Linux shares a reuse-port group only among sockets of one effective user,
 * so another user's process cannot join ours and take connections.
 */
import { createRequire } from 'node:module';
import { createServer, isIP } from 'node:net';
import { ScpError } from '../../../errors.js';

/** The one function of the native binding we use (node-unix-socket's js/socket.ts calls it the same way). */
interface ReusePortBinding {
  socketNewSoReuseportFd(domain: 'ipv4' | 'ipv6', port: number, host: string): number;
}

let loaded: { binding: ReusePortBinding } | { reason: string } | undefined;

/** The npm package holding the build for this platform, if we know one. */
function bindingPackage(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? 'node-unix-socket-linux-x64-gnu' : 'node-unix-socket-linux-x64-musl';
}

function addon(): { binding: ReusePortBinding } | { reason: string } {
  if (loaded) return loaded;
  const pkg = bindingPackage();
  if (!pkg) return (loaded = { reason: `SO_REUSEPORT listeners have no build for ${process.platform}-${process.arch} here` });
  try {
    loaded = { binding: createRequire(import.meta.url)(pkg) as ReusePortBinding };
  } catch (err) {
    loaded = { reason: `SO_REUSEPORT listeners need the optional package ${pkg} (${(err as Error).message.split('\n')[0]})` };
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
      return a.binding.socketNewSoReuseportFd(isIP(h) === 6 ? 'ipv6' : 'ipv4', port, h);
    } catch (err) {
      last = err;
    }
  }
  throw ScpError.io(`cannot bind a reuse-port listener on ${host || '*'}:${port}: ${(last as Error).message}`, last);
}

/**
 * Rejects with the plain listen's error (EADDRINUSE) when something holds `host:port` already: a socket with
 * SO_REUSEPORT binds beside another one of the same user instead of failing, so a second node started on a node's
 * port would share its connections. Checked with a plain bind, closed at once (a node starting in the moment
 * between the check and our bind could still slip in; two nodes racing for one port at the same millisecond).
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ host: host === '' ? undefined : host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
