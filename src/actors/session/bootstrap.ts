/**
 * Bootstrap peer strings (PROTOCOL.md §7.1): `quic://ip:port`, `tcp://ip:port` or bare `ip:port` (= TCP), each
 * optionally followed by `@<64 hex>` naming the expected node key. IPv6 goes in brackets (`[::1]:7001`), as Rust's
 * SocketAddr parser wants. Hostnames are refused: the reference parses socket addresses only.
 */
import { isIP } from 'node:net';
import { ScpError } from '../../errors.js';
import { ipFromBytes, ipToBytes, peerAddrKey, type PeerAddr, type TransportProtocol } from '../../protocol/peer-addr.js';

export interface ParseBootstrapOptions {
  /**
   * The reference's rule: for each entry also try the other transport (QUIC→TCP at port+1, TCP→QUIC at
   * port−1), then order TCP entries before QUIC ones (stable). Default false.
   */
  alternateTransports?: boolean;
}

export function parseBootstrapPeer(input: string): PeerAddr {
  if (typeof input !== 'string') throw ScpError.badInput('bootstrap peer must be a string');
  const s = input.trim();
  let rest = s;
  let transport: TransportProtocol = 'tcp';
  const scheme = /^([a-zA-Z]+):\/\//.exec(rest);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (name !== 'quic' && name !== 'tcp') {
      throw ScpError.badInput(`bootstrap peer "${s}": unknown scheme "${scheme[1]}" (use quic://, tcp:// or bare ip:port)`, { input: s });
    }
    transport = name;
    rest = rest.slice(scheme[0].length);
  }
  let pubkeyHint: Uint8Array | null = null;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const hex = rest.slice(at + 1);
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      throw ScpError.badInput(`bootstrap peer "${s}": the part after @ must be a 64-hex-digit node key`, { input: s });
    }
    pubkeyHint = new Uint8Array(Buffer.from(hex, 'hex'));
    rest = rest.slice(0, at);
  }
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(rest);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
    if (isIP(host) !== 6) throw ScpError.badInput(`bootstrap peer "${s}": "${host}" is not an IPv6 address`, { input: s });
  } else {
    const m = /^([^:\s]+):(\d+)$/.exec(rest);
    if (!m) throw ScpError.badInput(`bootstrap peer "${s}": expected ip:port (IPv6 as [addr]:port)`, { input: s });
    host = m[1]!;
    portText = m[2]!;
    if (isIP(host) !== 4) throw ScpError.badInput(`bootstrap peer "${s}": "${host}" is not an IP address (hostnames are not resolved)`, { input: s });
  }
  if (portText.length > 5) throw ScpError.badInput(`bootstrap peer "${s}": port out of range`, { input: s });
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw ScpError.badInput(`bootstrap peer "${s}": port must be 1..65535`, { input: s });
  }
  // Normalise the text form (leading zeros, IPv6 compression) so keys compare equal.
  const ip = ipFromBytes(ipToBytes(host));
  return { ip, port, transport, pubkeyHint };
}

export function parseBootstrapPeers(inputs: readonly string[], opts: ParseBootstrapOptions = {}): PeerAddr[] {
  const out: PeerAddr[] = [];
  const seen = new Set<string>();
  const push = (p: PeerAddr): void => {
    const k = peerAddrKey(p);
    if (seen.has(k)) return;
    seen.add(k);
    out.push(p);
  };
  for (const s of inputs) {
    const p = parseBootstrapPeer(s);
    push(p);
    if (opts.alternateTransports) {
      const alt = alternateOf(p);
      if (alt) push(alt);
    }
  }
  if (!opts.alternateTransports) return out;
  return [...out.filter((p) => p.transport === 'tcp'), ...out.filter((p) => p.transport === 'quic')];
}

/** QUIC→TCP at port+1, TCP→QUIC at port−1; undefined when that port would fall outside 1..65535. */
export function alternateOf(p: PeerAddr): PeerAddr | undefined {
  const port = p.transport === 'quic' ? p.port + 1 : p.port - 1;
  if (port < 1 || port > 65_535) return undefined;
  return { ip: p.ip, port, transport: p.transport === 'quic' ? 'tcp' : 'quic', pubkeyHint: p.pubkeyHint };
}
