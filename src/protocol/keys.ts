/**
 * Ed25519 and X25519 over raw 32-byte keys, backed by node:crypto (OpenSSL). Measured here (bench/hashing.bench.mjs):
 * node:crypto signs and verifies several times faster than @noble/curves, which is only used for the one thing
 * OpenSSL does not expose: "is this 32-byte string a valid Edwards point?" (dalek's `VerifyingKey::from_bytes`).
 *
 * Raw keys become KeyObjects by prefixing the fixed PKCS8/SPKI DER headers (RFC 8410), which is cheaper than JWK.
 * Secret keys are the 32-byte seed, as the reference persists them (`secretKey` below is the seed, not seed‖pub).
 *
 * Everything here is synchronous; API.md lets callers `await` sign/verify, which works on plain values too.
 */
import { createPrivateKey, createPublicKey, diffieHellman, sign, verify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ScpError } from '../errors.js';

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** A CSPRNG (or a seeded PRNG in tests): returns exactly `n` fresh bytes. Injected, never global. */
export type RandomBytes = (n: number) => Uint8Array;

export interface Ed25519Keypair {
  publicKey: Uint8Array;
  /** The 32-byte seed (RFC 8032 private key), the form the reference stores. */
  secretKey: Uint8Array;
}

export interface X25519Keypair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

function need32(b: Uint8Array, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw ScpError.badInput(`${what} must be 32 bytes`);
}

/**
 * Importing a PKCS8 key derives its public key (a scalar multiplication), which costs ~10× the signature
 * itself (measured: 2.5k vs 28k signs/s). A node signs with a handful of keys (node key, publisher keys), so a
 * small cache of KeyObjects keyed by seed removes that cost without holding secrets anywhere new.
 */
const SIGNING_KEY_CACHE_MAX = 16;
const signingKeys = new Map<string, KeyObject>();

function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  need32(seed, 'Ed25519 seed');
  const id = Buffer.from(seed.buffer, seed.byteOffset, 32).toString('latin1');
  let key = signingKeys.get(id);
  if (key === undefined) {
    key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    if (signingKeys.size >= SIGNING_KEY_CACHE_MAX) signingKeys.delete(signingKeys.keys().next().value!);
    signingKeys.set(id, key);
  }
  return key;
}

function ed25519PublicKey(pub: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

/** The raw 32 bytes at the end of an SPKI export (both curves' SPKI headers are 12 bytes). */
function rawPublic(k: KeyObject): Uint8Array {
  const der = createPublicKey(k).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

export function keypairFromSeed(seed32: Uint8Array): Ed25519Keypair {
  const priv = ed25519PrivateKey(seed32);
  return { publicKey: rawPublic(priv), secretKey: new Uint8Array(seed32) };
}

export function publicKeyFromSeed(seed32: Uint8Array): Uint8Array {
  return rawPublic(ed25519PrivateKey(seed32));
}

/** Pure Ed25519 (RFC 8032: no prehash, no context) — what ed25519-dalek's `sign` produces. */
export function ed25519Sign(seed32: Uint8Array, msg: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, msg, ed25519PrivateKey(seed32)));
}

/**
 * A signer with its KeyObject built once, for hot paths (the handshake signs two hellos per session).
 */
export function ed25519Signer(seed32: Uint8Array): (msg: Uint8Array) => Uint8Array {
  const key = ed25519PrivateKey(seed32);
  return (msg) => new Uint8Array(sign(null, msg, key));
}

/**
 * True only for a valid signature by a valid point. Never throws: wrong lengths, non-points and any
 * OpenSSL complaint are simply `false`, because every caller treats them the same way (reject the record).
 * OpenSSL decodes the key inside verify and fails on a non-point, so `true` implies `isValidEd25519Point`;
 * callers that must name the reason check the point only after a failure (the check is the slow part).
 */
export function ed25519Verify(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    if (!(pub instanceof Uint8Array) || pub.length !== 32) return false;
    if (!(sig instanceof Uint8Array) || sig.length !== 64) return false;
    if (!(msg instanceof Uint8Array)) return false;
    return verify(null, msg, ed25519PublicKey(pub), sig);
  } catch {
    return false;
  }
}

/**
 * Whether 32 bytes decompress to a point on the curve — dalek's `VerifyingKey::from_bytes`, which reduces a
 * non-canonical y and does not reject small-order points (ZIP-215 decoding rules match it).
 */
export function isValidEd25519Point(pub: Uint8Array): boolean {
  if (!(pub instanceof Uint8Array) || pub.length !== 32) return false;
  try {
    ed25519.Point.fromBytes(pub, true);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// X25519 (handshake ephemeral keys)

function x25519PrivateKey(secret: Uint8Array): KeyObject {
  need32(secret, 'X25519 secret');
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
}

/** Public key for a 32-byte secret (RFC 7748 clamping is applied by the curve, as x25519-dalek does). */
export function x25519KeypairFromSecret(secret32: Uint8Array): X25519Keypair {
  return { publicKey: rawPublic(x25519PrivateKey(secret32)), secretKey: new Uint8Array(secret32) };
}

/**
 * X25519(secret, peerPub). OpenSSL refuses a result of all zeros (a low-order peer key); x25519-dalek has no
 * such check and the reference completes the handshake with dh = 0, so we return zeros too rather than fail
 * where the reference succeeds (the session secret is not used for anything on the wire).
 */
export function x25519SharedSecret(secret32: Uint8Array, peerPub: Uint8Array): Uint8Array {
  need32(peerPub, 'X25519 public key');
  const privateKey = x25519PrivateKey(secret32);
  const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, peerPub]), format: 'der', type: 'spki' });
  try {
    return new Uint8Array(diffieHellman({ privateKey, publicKey }));
  } catch {
    return new Uint8Array(32);
  }
}
