/**
 * The throwaway TLS identity of this process: a self-signed ECDSA P-256 certificate for "localhost", made once per
 * process like the reference's `rcgen::generate_simple_self_signed(["localhost"])` (PROTOCOL.md §4.1, §18).
 * Neither side ever verifies it; peer identity comes from the SCP2P handshake on top. We build the few hundred
 * bytes of DER ourselves with node:crypto (no dependency, ~1 ms) because `selfsigned` v2 can only make RSA keys.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';

export interface SelfSignedCertificate {
  /** PKCS#8 private key, PEM. */
  readonly keyPem: string;
  /** X.509 certificate, PEM. */
  readonly certPem: string;
  /** X.509 certificate, DER. */
  readonly certDer: Uint8Array;
}

const OID_EC_PUBLIC_KEY_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_COMMON_NAME = '2.5.4.3';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  return Buffer.concat([Uint8Array.of(tag), derLength(body.length), body]);
}

const seq = (...c: Uint8Array[]): Uint8Array => tlv(0x30, ...c);

function oid(dotted: string): Uint8Array {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const groups: number[] = [];
    for (let v = p; ; v = Math.floor(v / 128)) {
      groups.unshift(v & 0x7f);
      if (v < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Uint8Array.from(out));
}

function positiveInteger(bytes: Uint8Array): Uint8Array {
  const b = bytes[0]! & 0x80 ? Buffer.concat([Uint8Array.of(0), bytes]) : bytes;
  return tlv(0x02, b);
}

function time(d: Date): Uint8Array {
  // UTCTime up to 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

function cnName(cn: string): Uint8Array {
  return seq(tlv(0x31, seq(oid(OID_COMMON_NAME), tlv(0x0c, Buffer.from(cn, 'utf8')))));
}

/** Makes a fresh self-signed ECDSA P-256 certificate for `dnsName` (CN and SAN). `now` is injected for tests. */
export function generateSelfSignedCertificate(dnsName = 'localhost', now: Date = new Date()): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and minimal: DER rejects a leading zero byte
  const sigAlg = seq(oid(OID_EC_PUBLIC_KEY_WITH_SHA256));
  const notBefore = new Date(now.getTime() - 24 * 3600 * 1000);
  const notAfter = new Date(now.getTime() + 10 * 365 * 24 * 3600 * 1000);
  const san = seq(tlv(0x82, Buffer.from(dnsName, 'ascii'))); // GeneralName dNSName [2] IMPLICIT IA5String
  const extensions = tlv(0xa3, seq(seq(oid(OID_SUBJECT_ALT_NAME), tlv(0x04, san))));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Uint8Array.of(2))), // version v3
    positiveInteger(serial),
    sigAlg,
    cnName(dnsName),
    seq(time(notBefore), time(notAfter)),
    cnName(dnsName),
    spki,
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value, as X.509 wants
  const certDer = seq(tbs, sigAlg, tlv(0x03, Uint8Array.of(0), signature));
  const certPem = new X509Certificate(certDer).toString();
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { keyPem, certPem, certDer };
}

let processCert: SelfSignedCertificate | undefined;

/** The one certificate of this process (made on first use; changes on every restart, as in the reference). */
export function processCertificate(): SelfSignedCertificate {
  processCert ??= generateSelfSignedCertificate();
  return processCert;
}

/** True when `cert` is well-formed and its key matches (used by tests and as a start-up sanity check). */
export function certificateMatchesKey(cert: SelfSignedCertificate): boolean {
  const x = new X509Certificate(cert.certPem);
  const pub = createPublicKey(createPrivateKey(cert.keyPem));
  return x.checkPrivateKey(createPrivateKey(cert.keyPem)) && x.publicKey.equals(pub) && x.verify(pub);
}
