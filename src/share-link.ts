/**
 * `scp2p://` share links (docs/SHARE-LINKS.md): everything a recipient needs to subscribe to a share, in one
 * copy-paste-safe line. Version 1:
 *
 *   scp2p://s/<base64url(share_id ‖ share_pubkey)>?v=1&bp=<bootstrap addrs>&r=<relay hints>
 *
 * The path and `bp` are exactly the reference desktop app's form (`app/src/lib/shareLink.ts`), which reads
 * `bp` with URLSearchParams and ignores other parameters, so reference apps still open our links. `r` carries
 * relay hints: a relay address, optionally with `~<slot id>` naming the tunnel slot where the (firewalled)
 * publisher can be reached. Addresses use the bootstrap string form: `tcp://ip:port`, `quic://ip:port`, bare
 * `ip:port` (TCP), IPv6 in brackets, each optionally `@<64 hex node key>`.
 *
 * Parsing is strict about what matters (64 payload bytes, share id = SHA-256(pubkey), addresses, version) and
 * lenient about what copy-paste does (surrounding/embedded whitespace, `<…>` wrapping, unknown parameters).
 * Every failure is ScpError BAD_INPUT.
 */
import { ScpError } from './errors.js';
import { bytesEqual, toHex } from './protocol/bytes.js';
import { sha256 } from './protocol/hash.js';
import { ipFromBytes, ipToBytes, ipVersion, type PeerAddr, type TransportProtocol } from './protocol/peer-addr.js';

export const SHARE_LINK_PREFIX = 'scp2p://s/';
export const SHARE_LINK_VERSION = 1;
export const SHARE_LINK_MAX_CHARS = 8_192;
export const SHARE_LINK_MAX_ADDRS = 32;

export interface RelayHint {
  /** The relay's direct address (never itself relayed). */
  relay: PeerAddr;
  /** The slot of the publisher's tunnel on that relay, or null for "a relay worth trying". */
  slotId: bigint | null;
}

export interface ShareLink {
  version: number;
  shareId: Uint8Array;
  sharePubkey: Uint8Array;
  bootstrap: PeerAddr[];
  relays: RelayHint[];
}

export interface ShareLinkInput {
  sharePubkey: Uint8Array;
  /** Checked against SHA-256(sharePubkey) when given. */
  shareId?: Uint8Array;
  bootstrap?: readonly (PeerAddr | string)[];
  relays?: readonly RelayHint[];
}

const bad = (msg: string, details?: Record<string, unknown>): ScpError => ScpError.badInput(`share link: ${msg}`, details);

// ---------------------------------------------------------------------------------------------------------
// Encode

export function encodeShareLink(input: ShareLinkInput): string {
  const pub = input.sharePubkey;
  if (!(pub instanceof Uint8Array) || pub.length !== 32) throw bad('share pubkey must be 32 bytes');
  const id = sha256(pub);
  if (input.shareId !== undefined && !bytesEqual(input.shareId, id)) throw bad('share id is not SHA-256(share pubkey)');
  const raw = new Uint8Array(64);
  raw.set(id, 0);
  raw.set(pub, 32);
  let link = `${SHARE_LINK_PREFIX}${Buffer.from(raw).toString('base64url')}?v=${SHARE_LINK_VERSION}`;
  const bp = (input.bootstrap ?? []).map((a) => formatAddr(typeof a === 'string' ? parseAddr(a) : a));
  if (bp.length > SHARE_LINK_MAX_ADDRS) throw bad(`at most ${SHARE_LINK_MAX_ADDRS} bootstrap addresses`);
  if (bp.length) link += `&bp=${encodeURIComponent(bp.join(','))}`;
  const rs = (input.relays ?? []).map((h) => {
    if (h.relay.relayVia) throw bad('a relay hint must be a direct address');
    if (h.slotId !== null && (h.slotId < 0n || h.slotId >= 1n << 64n)) throw bad('slot id out of range');
    return formatAddr(h.relay) + (h.slotId === null ? '' : `~${h.slotId}`);
  });
  if (rs.length > SHARE_LINK_MAX_ADDRS) throw bad(`at most ${SHARE_LINK_MAX_ADDRS} relay hints`);
  if (rs.length) link += `&r=${encodeURIComponent(rs.join(','))}`;
  return link;
}

/** The address form used in links: `tcp://1.2.3.4:7001`, `quic://[::1]:7000@<hex>`. */
export function formatAddr(a: PeerAddr): string {
  const host = ipVersion(a.ip) === 6 ? `[${a.ip}]` : a.ip;
  return `${a.transport}://${host}:${a.port}${a.pubkeyHint ? `@${toHex(a.pubkeyHint)}` : ''}`;
}

// ---------------------------------------------------------------------------------------------------------
// Parse

export function isShareLink(text: string): boolean {
  return typeof text === 'string' && text.trim().toLowerCase().startsWith(SHARE_LINK_PREFIX);
}

export function parseShareLink(text: string): ShareLink {
  if (typeof text !== 'string') throw bad('expected a string');
  if (text.length > SHARE_LINK_MAX_CHARS) throw bad(`longer than ${SHARE_LINK_MAX_CHARS} characters`);
  let s = text.replace(/\s+/g, '');
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1);
  if (!s.toLowerCase().startsWith(SHARE_LINK_PREFIX)) throw bad(`must start with ${SHARE_LINK_PREFIX}`);
  s = s.slice(SHARE_LINK_PREFIX.length);
  if (s.includes('#')) throw bad('unexpected "#" fragment');
  const q = s.indexOf('?');
  const b64 = (q >= 0 ? s.slice(0, q) : s).replace(/\/$/, '');
  if (!/^[A-Za-z0-9_-]{86}(==)?$/.test(b64)) throw bad('the share part must be 86 base64url characters (64 bytes)');
  const raw = new Uint8Array(Buffer.from(b64.slice(0, 86), 'base64url'));
  if (raw.length !== 64 || Buffer.from(raw).toString('base64url') !== b64.slice(0, 86)) throw bad('the share part is not canonical base64url');
  const shareId = raw.slice(0, 32);
  const sharePubkey = raw.slice(32, 64);
  if (!bytesEqual(sha256(sharePubkey), shareId)) throw bad('share id is not SHA-256(share pubkey): the link is corrupt');

  const params = parseQuery(q >= 0 ? s.slice(q + 1) : '');
  const v = params.get('v');
  let version = SHARE_LINK_VERSION;
  if (v !== undefined) {
    if (!/^[1-9]\d{0,5}$/.test(v)) throw bad(`bad version "${v}"`);
    version = Number(v);
    if (version > SHARE_LINK_VERSION) throw bad(`version ${version} is newer than this node understands (${SHARE_LINK_VERSION}); upgrade scp2p`);
  }
  const bootstrap = listParam(params.get('bp')).map((a) => parseAddr(a));
  const relays = listParam(params.get('r')).map(parseRelayHint);
  return { version, shareId, sharePubkey, bootstrap, relays };
}

/** A stored hint: a direct address as formatAddr, a relayed one as `relay:<relay addr>~<slot id>`. */
export function formatHintAddr(a: PeerAddr): string {
  if (a.relayVia) return `relay:${formatAddr({ ...a.relayVia.relayAddr, relayVia: null })}~${a.relayVia.slotId}`;
  return formatAddr(a);
}

/** The inverse of formatHintAddr. */
export function parseHintAddr(s: string): PeerAddr {
  const t = s.trim();
  if (t.toLowerCase().startsWith('relay:')) {
    const a = publisherAddrFromHint(parseRelayHint(t.slice('relay:'.length)));
    if (!a) throw bad(`relay hint "${s}" has no slot id`);
    return a;
  }
  return parseAddr(t);
}

/** A firewalled publisher's address as reached through a relay hint with a slot (PROTOCOL.md §9.3). */
export function publisherAddrFromHint(h: RelayHint): PeerAddr | null {
  if (h.slotId === null) return null;
  return { ip: h.relay.ip, port: h.relay.port, transport: 'tcp', pubkeyHint: null, relayVia: { relayAddr: h.relay, slotId: h.slotId } };
}

function parseQuery(qs: string): Map<string, string> {
  const out = new Map<string, string>();
  if (qs === '') return out;
  for (const part of qs.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq >= 0 ? part.slice(0, eq) : part;
    const v = eq >= 0 ? part.slice(eq + 1) : '';
    const key = decodeComponent(k);
    if (out.has(key)) throw bad(`parameter "${key}" given twice`);
    out.set(key, decodeComponent(v));
  }
  return out;
}

function decodeComponent(s: string): string {
  try {
    let d = decodeURIComponent(s.replace(/\+/g, ' '));
    // Some encoders escape twice (the reference decodes `bp` twice); addresses never contain '%'.
    if (/%[0-9A-Fa-f]{2}/.test(d)) d = decodeURIComponent(d);
    return d;
  } catch {
    throw bad('bad percent-encoding');
  }
}

function listParam(v: string | undefined): string[] {
  if (v === undefined) return [];
  const items = v.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  if (items.length > SHARE_LINK_MAX_ADDRS) throw bad(`more than ${SHARE_LINK_MAX_ADDRS} addresses in one parameter`);
  return items;
}

function parseRelayHint(s: string): RelayHint {
  const tilde = s.lastIndexOf('~');
  if (tilde < 0) return { relay: parseAddr(s), slotId: null };
  const slot = s.slice(tilde + 1);
  if (!/^\d{1,20}$/.test(slot)) throw bad(`relay hint "${s}": slot id must be a decimal u64`);
  const slotId = BigInt(slot);
  if (slotId >= 1n << 64n) throw bad(`relay hint "${s}": slot id out of range`);
  return { relay: parseAddr(s.slice(0, tilde)), slotId };
}

/** A bootstrap-form address: `[tcp|quic]://ip:port[@hex64]`, bare `ip:port` = TCP, IPv6 as `[addr]:port`. */
export function parseAddr(input: string): PeerAddr {
  const s = input.trim();
  let rest = s;
  let transport: TransportProtocol = 'tcp';
  const scheme = /^([a-zA-Z]+):\/\//.exec(rest);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (name !== 'tcp' && name !== 'quic') throw bad(`address "${s}": unknown scheme (use tcp://, quic:// or ip:port)`);
    transport = name;
    rest = rest.slice(scheme[0].length);
  }
  let pubkeyHint: Uint8Array | null = null;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const hex = rest.slice(at + 1);
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw bad(`address "${s}": the part after @ must be a 64-hex-digit node key`);
    pubkeyHint = new Uint8Array(Buffer.from(hex, 'hex'));
    rest = rest.slice(0, at);
  }
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(rest) ?? /^([0-9.]+):(\d{1,5})$/.exec(rest);
  if (!m) throw bad(`address "${s}": expected ip:port (IPv6 as [addr]:port)`);
  const host = m[1]!;
  const port = Number(m[2]);
  const v = ipVersion(host);
  if (v === 0 || (v === 6) !== rest.startsWith('[')) throw bad(`address "${s}": "${host}" is not an IP address`);
  if (port < 1 || port > 65_535) throw bad(`address "${s}": port must be 1..65535`);
  let ip: string;
  try {
    ip = ipFromBytes(ipToBytes(host));
  } catch {
    throw bad(`address "${s}": "${host}" is not an IP address`);
  }
  return { ip, port, transport, pubkeyHint };
}
