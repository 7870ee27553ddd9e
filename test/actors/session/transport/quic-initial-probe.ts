/**
 * A hand-made QUIC v1 client Initial (RFC 9000 §17.2.2, RFC 9001 §5) carrying a TLS 1.3 ClientHello with or without
 * ALPN, sent over plain UDP, and a parser for the server's first answer. It stands in for a reference (quinn/rustls)
 * client, which offers no ALPN at all, so we can ask our QUIC server what it does with one. Follows a stateless
 * Retry once (our server always sends one). Only what the probe needs: no ACKs, no Handshake keys.
 */
import { createCipheriv, createDecipheriv, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';

const INITIAL_SALT_V1 = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');

function expandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'ascii');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  // HKDF-Expand for length <= 32: T(1) = HMAC(secret, info || 0x01)
  return createHmac('sha256', secret).update(Buffer.concat([info, Buffer.from([1])])).digest().subarray(0, length);
}

/** HKDF-Extract is HMAC(salt, ikm); node's hkdfSync always extracts first, so extract by hand. */
function extract(salt: Buffer, ikm: Buffer): Buffer {
  return createHmac('sha256', salt).update(ikm).digest();
}

interface Keys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

export function initialKeys(dcid: Buffer, side: 'client' | 'server'): Keys {
  const initial = extract(INITIAL_SALT_V1, dcid);
  const secret = expandLabel(initial, `${side} in`, 32);
  return { key: expandLabel(secret, 'quic key', 16), iv: expandLabel(secret, 'quic iv', 12), hp: expandLabel(secret, 'quic hp', 16) };
}

function varint(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((0x80000000 | n) >>> 0);
  return b;
}

function readVarint(b: Buffer, off: number): [number, number] {
  const len = 1 << (b[off]! >> 6);
  let v = b[off]! & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
  return [v, off + len];
}

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const ext = (type: number, data: Buffer): Buffer => Buffer.concat([u16(type), u16(data.length), data]);

function clientHello(scid: Buffer, alpn: string[] | undefined): Buffer {
  const { publicKey } = generateKeyPairSync('x25519');
  const pub = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  const sni = Buffer.from('localhost');
  const exts = [
    ext(0, Buffer.concat([u16(sni.length + 3), Buffer.from([0]), u16(sni.length), sni])), // server_name
    ext(10, Buffer.concat([u16(2), u16(0x001d)])), // supported_groups: x25519
    ext(13, Buffer.concat([u16(6), u16(0x0403), u16(0x0804), u16(0x0807)])), // signature_algorithms
    ext(43, Buffer.from([2, 3, 4])), // supported_versions: TLS 1.3
    ext(51, Buffer.concat([u16(36), u16(0x001d), u16(32), pub])), // key_share
    // quic_transport_parameters: initial_source_connection_id, max_idle_timeout 30 s, a small receive budget
    ext(0x39, Buffer.concat([
      varint(0x0f), varint(scid.length), scid,
      varint(0x01), varint(4), varint(30_000),
      varint(0x04), varint(4), varint(1 << 20),
      varint(0x05), varint(4), varint(1 << 20),
    ])),
  ];
  if (alpn) {
    const list = Buffer.concat(alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])));
    exts.push(ext(16, Buffer.concat([u16(list.length), list])));
  }
  const extensions = Buffer.concat(exts);
  const body = Buffer.concat([
    u16(0x0303), randomBytes(32), Buffer.from([0]), // legacy version, random, empty session id (QUIC)
    u16(2), u16(0x1301), Buffer.from([1, 0]), // TLS_AES_128_GCM_SHA256; null compression
    u16(extensions.length), extensions,
  ]);
  return Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
}

function protect(header: Buffer, pnOffset: number, pnLen: number, payload: Buffer, keys: Keys, pn: number): Buffer {
  const nonce = Buffer.from(keys.iv);
  nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ pn) >>> 0, 8);
  const c = createCipheriv('aes-128-gcm', keys.key, nonce);
  c.setAAD(header);
  const sealed = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()]);
  const packet = Buffer.concat([header, sealed]);
  const sample = packet.subarray(pnOffset + 4, pnOffset + 20);
  const mask = createCipheriv('aes-128-ecb', keys.hp, null).update(sample);
  packet[0]! ^= mask[0]! & 0x0f;
  for (let i = 0; i < pnLen; i++) packet[pnOffset + i]! ^= mask[1 + i]!;
  return packet;
}

function initialPacket(dcid: Buffer, scid: Buffer, token: Buffer, crypto: Buffer): Buffer {
  const frame = Buffer.concat([Buffer.from([0x06]), varint(0), varint(crypto.length), crypto]);
  const payload = Buffer.concat([frame, Buffer.alloc(Math.max(0, 1200 - frame.length - 100))]); // PADDING
  const pnLen = 4;
  const length = pnLen + payload.length + 16;
  const header = Buffer.concat([
    Buffer.from([0xc0 | (pnLen - 1)]), Buffer.from([0, 0, 0, 1]),
    Buffer.from([dcid.length]), dcid, Buffer.from([scid.length]), scid,
    varint(token.length), token, Buffer.from([0x40 | (length >> 8), length & 0xff]), Buffer.alloc(pnLen),
  ]);
  return protect(header, header.length - pnLen, pnLen, payload, initialKeys(dcid, 'client'), 0);
}

export type ProbeAnswer =
  | { kind: 'server-hello' }
  | { kind: 'connection-close'; errorCode: number }
  | { kind: 'other'; detail: string };

/** Parses the first (Initial) packet of a server datagram, decrypted with the server Initial keys for `odcid`. */
function parseServerInitial(d: Buffer, odcid: Buffer): ProbeAnswer {
  let off = 5;
  const dl = d[off]!;
  off += 1 + dl;
  const sl = d[off]!;
  off += 1 + sl;
  let tokenLen: number;
  [tokenLen, off] = readVarint(d, off);
  off += tokenLen;
  let length: number;
  [length, off] = readVarint(d, off);
  const pnOffset = off;
  const keys = initialKeys(odcid, 'server');
  const mask = createCipheriv('aes-128-ecb', keys.hp, null).update(d.subarray(pnOffset + 4, pnOffset + 20));
  const first = d[0]! ^ (mask[0]! & 0x0f);
  const pnLen = (first & 0x03) + 1;
  const header = Buffer.from(d.subarray(0, pnOffset + pnLen));
  header[0] = first;
  let pn = 0;
  for (let i = 0; i < pnLen; i++) {
    header[pnOffset + i] = d[pnOffset + i]! ^ mask[1 + i]!;
    pn = pn * 256 + header[pnOffset + i]!;
  }
  const sealed = d.subarray(pnOffset + pnLen, pnOffset + length);
  const nonce = Buffer.from(keys.iv);
  nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ pn) >>> 0, 8);
  const dc = createDecipheriv('aes-128-gcm', keys.key, nonce);
  dc.setAAD(header);
  dc.setAuthTag(sealed.subarray(sealed.length - 16));
  const plain = Buffer.concat([dc.update(sealed.subarray(0, sealed.length - 16)), dc.final()]);
  for (let p = 0; p < plain.length; ) {
    const type = plain[p]!;
    if (type === 0x00) {
      p++;
    } else if (type === 0x02 || type === 0x03) {
      let v: number;
      [v, p] = readVarint(plain, p + 1); // largest
      [v, p] = readVarint(plain, p); // delay
      let ranges: number;
      [ranges, p] = readVarint(plain, p);
      [v, p] = readVarint(plain, p); // first range
      for (let i = 0; i < 2 * ranges + (type === 0x03 ? 3 : 0); i++) [v, p] = readVarint(plain, p);
      void v;
    } else if (type === 0x06) {
      let len: number;
      [, p] = readVarint(plain, p + 1);
      [len, p] = readVarint(plain, p);
      return plain[p] === 0x02 ? { kind: 'server-hello' } : { kind: 'other', detail: `handshake message ${plain[p]} (${len} bytes)` };
    } else if (type === 0x1c || type === 0x1d) {
      const [code] = readVarint(plain, p + 1);
      return { kind: 'connection-close', errorCode: code };
    } else {
      return { kind: 'other', detail: `frame type 0x${type.toString(16)}` };
    }
  }
  return { kind: 'other', detail: 'no CRYPTO or CONNECTION_CLOSE frame' };
}

/** Sends a ClientHello (with `alpn`, or with no ALPN extension when undefined) to a QUIC server and reports its answer. */
export async function probeQuicServer(host: string, port: number, alpn: string[] | undefined, timeoutMs = 3_000): Promise<ProbeAnswer> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const scid = randomBytes(8);
  let dcid = randomBytes(8);
  const hello = clientHello(scid, alpn);
  try {
    return await new Promise<ProbeAnswer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the QUIC server')), timeoutMs);
      sock.on('message', (d: Buffer) => {
        const type = (d[0]! & 0x30) >> 4;
        if ((d[0]! & 0x80) === 0) return;
        if (type === 3) {
          // Retry: new DCID = the server's SCID, echo its token, derive keys from the new DCID (RFC 9000 §17.2.5)
          const dl = d[5]!;
          const sOff = 6 + dl;
          const sl = d[sOff]!;
          dcid = Buffer.from(d.subarray(sOff + 1, sOff + 1 + sl));
          const token = Buffer.from(d.subarray(sOff + 1 + sl, d.length - 16));
          sock.send(initialPacket(dcid, scid, token, hello), port, host);
          return;
        }
        if (type !== 0) return;
        clearTimeout(timer);
        try {
          resolve(parseServerInitial(d, dcid));
        } catch (err) {
          reject(err as Error);
        }
      });
      sock.send(initialPacket(dcid, scid, Buffer.alloc(0), hello), port, host);
    });
  } finally {
    sock.close();
  }
}
