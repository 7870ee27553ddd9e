/**
 * The session's listeners (TLS on `listen.tcp`, QUIC on `listen.quic`; 0 = any free port, null = off) and the
 * dialable addresses they give: the bound IP, or for a wildcard bind every non-internal IPv4 of this machine
 * plus 127.0.0.1 (loopback peers on the same host are common in tests and on one machine).
 */
import os from 'node:os';
import type { PeerAddr } from '../../protocol/peer-addr.js';
import type { Connection, Listener, Transport, TransportAddress } from './transport/transport.js';

export interface ListenConfig {
  tcp: number | null;
  quic: number | null;
}

export interface BoundListeners {
  tcp: Listener | null;
  quic: Listener | null;
}

export async function startListeners(
  listen: ListenConfig | null,
  host: string,
  transports: { tcp: Transport; quic: () => Transport },
  onConnection: (conn: Connection, kind: 'tcp' | 'quic') => void,
  tcp: {
    /** Asked before the TLS handshake of each inbound TCP connection (the per-IP accept budget). */
    admit?: (remote: TransportAddress) => boolean;
    /** Bind with SO_REUSEPORT, starting a group serve threads then join (transport/reuse-port.ts). */
    reusePort?: boolean;
  } = {},
): Promise<BoundListeners> {
  const out: BoundListeners = { tcp: null, quic: null };
  if (!listen) return out;
  try {
    if (typeof listen.tcp === 'number') {
      const { admit, reusePort } = tcp;
      out.tcp = await transports.tcp.listen({ host, port: listen.tcp, ...(admit ? { admit } : {}), ...(reusePort ? { reusePort: 'new' as const } : {}) }, (c) => onConnection(c, 'tcp'));
    }
    if (typeof listen.quic === 'number') {
      out.quic = await transports.quic().listen({ host, port: listen.quic }, (c) => onConnection(c, 'quic'));
    }
  } catch (err) {
    await closeListeners(out);
    throw err;
  }
  return out;
}

export async function closeListeners(l: BoundListeners): Promise<void> {
  await Promise.all([l.tcp?.close().catch(() => {}), l.quic?.close().catch(() => {})]);
  l.tcp = null;
  l.quic = null;
}

/** IPs peers can reach a listener bound to `host` on. */
export function advertisedIps(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return [host];
  const ips = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) ips.add(a.address);
  }
  ips.add('127.0.0.1');
  return [...ips];
}

export function selfPeerAddrs(l: BoundListeners, host: string, pubkey: Uint8Array): PeerAddr[] {
  const out: PeerAddr[] = [];
  const ips = advertisedIps(host);
  for (const [kind, listener] of [['tcp', l.tcp], ['quic', l.quic]] as const) {
    if (!listener) continue;
    for (const ip of ips) out.push({ ip, port: listener.address.port, transport: kind, pubkeyHint: pubkey });
  }
  return out;
}

/** "tcp://ip:port" (IPv6 in brackets), the form `connect` and bootstrap lists take. */
export function addrUrl(a: PeerAddr): string {
  const host = a.ip.includes(':') ? `[${a.ip}]` : a.ip;
  const base = `${a.transport}://${host}:${a.port}`;
  if (a.relayVia) return `relay:${addrUrl({ ...a.relayVia.relayAddr, relayVia: null })}/slot/${a.relayVia.slotId}`;
  return base;
}
