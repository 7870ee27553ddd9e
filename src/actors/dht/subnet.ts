/**
 * Subnet keys for the routing table's per-bucket diversity limit (PROTOCOL.md §5.3, §5.6): at most 2 entries per
 * IPv4 /24 or IPv6 /48 in one bucket. We key IPv6 on /48 as the protocol text says; the reference actually keys
 * on 5 octets (/40, §18). /48 is the usual end-site allocation, so one site still gets only 2 slots per bucket.
 * Loopback, private, link-local and CGNAT ranges are exempt (null key), otherwise local tests and LANs could never
 * fill a bucket. IPv4-mapped IPv6 addresses are treated as IPv4.
 */
import { isIP } from 'node:net';
import { ipToBytes } from '../../protocol/peer-addr.js';

export const IPV6_PREFIX_BYTES = 6;

const cache = new Map<string, string | null>();

export function subnetKey(ip: string): string | null {
  let v = cache.get(ip);
  if (v === undefined) {
    v = computeSubnetKey(ip);
    if (cache.size >= 65_536) cache.clear();
    cache.set(ip, v);
  }
  return v;
}

function computeSubnetKey(ip: string): string | null {
  const kind = isIP(ip);
  if (kind === 0) return null;
  let b = ipToBytes(ip);
  if (kind === 6 && isV4Mapped(b)) b = b.subarray(12);
  if (b.length === 4) {
    if (isExemptV4(b)) return null;
    return `4:${b[0]}.${b[1]}.${b[2]}`;
  }
  if (isExemptV6(b)) return null;
  return `6:${Buffer.from(b.subarray(0, IPV6_PREFIX_BYTES)).toString('hex')}`;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function isExemptV4(b: Uint8Array): boolean {
  const [a, c] = [b[0]!, b[1]!];
  return (
    a === 127 || // loopback
    a === 10 || // private
    a === 0 || // "this network"
    (a === 172 && c >= 16 && c <= 31) ||
    (a === 192 && c === 168) ||
    (a === 169 && c === 254) || // link-local
    (a === 100 && c >= 64 && c <= 127) // CGNAT
  );
}

function isExemptV6(b: Uint8Array): boolean {
  let zeroPrefix = true;
  for (let i = 0; i < 15; i++) if (b[i] !== 0) zeroPrefix = false;
  if (zeroPrefix && (b[15] === 1 || b[15] === 0)) return true; // ::1, ::
  if ((b[0]! & 0xfe) === 0xfc) return true; // fc00::/7 unique local
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return true; // fe80::/10 link-local
  return false;
}
