/**
 * PeerAddr, RelayRoute and Capabilities (PROTOCOL.md §3.2, §1.5): the structs nested in most messages.
 * IpAddr is serde's compact form `{"V4": [4 ints]}` / `{"V6": [16 ints]}`; `pubkey_hint` is always present
 * (null when absent); `relay_via` is omitted when absent.
 */
import { CborMap, CborWriter, type CborValue } from './cbor.js';
import { asMap, b32, bool, fail, fixed, oneOf, opt, req, u16, u64 } from './cbor-fields.js';

export type TransportProtocol = 'quic' | 'tcp';

export interface RelayRoute {
  relayAddr: PeerAddr;
  slotId: bigint;
}

export interface PeerAddr {
  /** Dotted IPv4 or RFC 5952 IPv6 text. */
  ip: string;
  port: number;
  transport: TransportProtocol;
  pubkeyHint: Uint8Array | null;
  relayVia?: RelayRoute | null;
}

export interface Capabilities {
  dht: boolean;
  store: boolean;
  relay: boolean;
  contentSeed: boolean;
  mobileLight: boolean;
}

export const NO_CAPABILITIES: Capabilities = Object.freeze({
  dht: false,
  store: false,
  relay: false,
  contentSeed: false,
  mobileLight: false,
});

const TRANSPORTS = ['quic', 'tcp'] as const;

// ---------- IP addresses

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^(?=.*:)[0-9a-fA-F:.]{2,45}$/;

/** 4 or 6 for a well-formed address, 0 otherwise (node:net's isIP, without importing a socket module). */
export function ipVersion(ip: string): 0 | 4 | 6 {
  if (IPV4.test(ip)) return 4;
  if (!IPV6.test(ip) || (ip.match(/::/g) ?? []).length > 1) return 0;
  return 6;
}

export function ipToBytes(ip: string): Uint8Array {
  const kind = ipVersion(ip);
  if (kind === 4) return new Uint8Array(ip.split('.').map((x) => Number(x)));
  if (kind === 6) {
    let s = ip;
    const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
    let tail: number[] = [];
    if (v4tail) {
      tail = v4tail[1]!.split('.').map(Number);
      s = s.slice(0, -v4tail[1]!.length) + '0:0';
    }
    const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
    const h = head ? head.split(':') : [];
    const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
    const fill = rest !== undefined ? 8 - h.length - r.length : 0;
    const groups = [...h, ...Array(fill).fill('0'), ...r].map((g) => parseInt(g, 16));
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      out[i * 2] = g >> 8;
      out[i * 2 + 1] = g & 0xff;
    });
    if (tail.length) out.set(tail, 12);
    return out;
  }
  throw fail('PeerAddr.ip', `not an IP address: ${ip}`);
}

export function ipFromBytes(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952: compress the longest run (≥ 2) of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function encodeIp(w: CborWriter, ip: string): void {
  const b = ipToBytes(ip);
  w.map(1).text(b.length === 4 ? 'V4' : 'V6').intArray(b);
}

function decodeIp(v: CborValue | undefined, where: string): string {
  const m = asMap(v, where);
  if (m.size !== 1) fail(where, 'expected {"V4": …} or {"V6": …}');
  const [k, val] = m.entries[0]!;
  if (k === 'V4') return ipFromBytes(fixed(val, 4, `${where}.V4`));
  if (k === 'V6') return ipFromBytes(fixed(val, 16, `${where}.V6`));
  return fail(where, 'unknown IP address variant');
}

// ---------- Capabilities

export function encodeCapabilities(w: CborWriter, c: Capabilities): void {
  w.map(5)
    .text('dht').bool(c.dht)
    .text('store').bool(c.store)
    .text('relay').bool(c.relay)
    .text('content_seed').bool(c.contentSeed)
    .text('mobile_light').bool(c.mobileLight);
}

export function decodeCapabilities(v: CborValue | undefined, where: string): Capabilities {
  const m = asMap(v, where);
  return {
    dht: bool(req(m, 'dht', where), `${where}.dht`),
    store: bool(req(m, 'store', where), `${where}.store`),
    relay: bool(req(m, 'relay', where), `${where}.relay`),
    contentSeed: bool(req(m, 'content_seed', where), `${where}.content_seed`),
    mobileLight: bool(req(m, 'mobile_light', where), `${where}.mobile_light`),
  };
}

// ---------- PeerAddr

/** How deep relay_via may nest on decode; honest peers use exactly one level. */
const MAX_RELAY_NESTING = 2;

export function encodePeerAddr(w: CborWriter, p: PeerAddr): void {
  const hasRelay = p.relayVia !== undefined && p.relayVia !== null;
  w.map(hasRelay ? 5 : 4);
  w.text('ip');
  encodeIp(w, p.ip);
  w.text('port').uint(p.port);
  w.text('transport').text(p.transport);
  w.text('pubkey_hint').opt(p.pubkeyHint, (w, h) => w.intArray(h));
  if (hasRelay) {
    const r = p.relayVia!;
    w.text('relay_via').map(2);
    w.text('relay_addr');
    encodePeerAddr(w, r.relayAddr);
    w.text('slot_id').uint(r.slotId);
  }
}

export function decodePeerAddr(v: CborValue | undefined, where: string, nesting = 0): PeerAddr {
  const m = asMap(v, where);
  const hint = opt(m, 'pubkey_hint');
  const out: PeerAddr = {
    ip: decodeIp(req(m, 'ip', where), `${where}.ip`),
    port: u16(req(m, 'port', where), `${where}.port`),
    transport: oneOf(req(m, 'transport', where), TRANSPORTS, `${where}.transport`),
    pubkeyHint: hint === undefined ? null : b32(hint, `${where}.pubkey_hint`),
  };
  const rv = opt(m, 'relay_via');
  if (rv !== undefined) {
    if (nesting >= MAX_RELAY_NESTING) fail(`${where}.relay_via`, 'relay_via nested too deep');
    const rm = asMap(rv, `${where}.relay_via`);
    out.relayVia = {
      relayAddr: decodePeerAddr(req(rm, 'relay_addr', `${where}.relay_via`), `${where}.relay_via.relay_addr`, nesting + 1),
      slotId: u64(req(rm, 'slot_id', `${where}.relay_via`), `${where}.relay_via.slot_id`),
    };
  }
  return out;
}

export function peerAddrBytes(p: PeerAddr): Uint8Array {
  const w = new CborWriter(96);
  encodePeerAddr(w, p);
  return w.finish();
}

/** The reference's identity string for a peer address: "<ip>:<port>:<Quic|Tcp>" (PROTOCOL.md §7.1). */
export function peerAddrKey(p: PeerAddr): string {
  return `${p.ip}:${p.port}:${p.transport === 'quic' ? 'Quic' : 'Tcp'}`;
}

/** Exact structural equality (what the reference's community member merge uses). */
export function peerAddrEquals(a: PeerAddr, b: PeerAddr): boolean {
  const ha = a.pubkeyHint ? Buffer.from(a.pubkeyHint).toString('hex') : '';
  const hb = b.pubkeyHint ? Buffer.from(b.pubkeyHint).toString('hex') : '';
  if (a.ip !== b.ip || a.port !== b.port || a.transport !== b.transport || ha !== hb) return false;
  const ra = a.relayVia ?? null;
  const rb = b.relayVia ?? null;
  if (ra === null || rb === null) return ra === rb;
  return ra.slotId === rb.slotId && peerAddrEquals(ra.relayAddr, rb.relayAddr);
}

export { CborMap };
