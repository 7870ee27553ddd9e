/**
 * Secrets at rest (PROTOCOL.md §12): EncryptedSecret `{salt: [16 ints], nonce: [24 ints], ciphertext: [ints]}`.
 * Passphrase mode: key = PBKDF2-HMAC-SHA256(passphrase, salt, 600,000, 32 bytes); XChaCha20-Poly1305, no AAD,
 * ciphertext = data ‖ 16-byte tag. Publisher keys use a key derived from the node seed instead, salt all zeros.
 *
 * Randomness is an argument (`random(n)`), keeping this module free of hidden entropy like the rest of the core.
 * PBKDF2 at 600k iterations takes a noticeable fraction of a second; callers run it off the hot path.
 */
import { pbkdf2Sync } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ScpError } from '../errors.js';
import { CborWriter, decodeCbor, type CborValue } from './cbor.js';
import { anyBytes, asMap, fixed, req } from './cbor-fields.js';
import { blake3DeriveKey } from './hash.js';
import type { RandomBytes } from './keys.js';
import { PBKDF2_ITERATIONS, PBKDF2_SALT_BYTES, SECRET_KEY_BYTES, XCHACHA_NONCE_BYTES } from './limits.js';
import { writeFixed } from './signables.js';

export const PUBLISHER_KEY_CONTEXT = 'scp2p publisher-identity v1';
/** Bounds an encrypted blob on decode; our secrets are 32-byte seeds. */
const MAX_CIPHERTEXT_BYTES = 65_536;


export interface EncryptedSecret {
  salt: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

export function encodeEncryptedSecret(s: EncryptedSecret): Uint8Array {
  const w = new CborWriter(128 + s.ciphertext.length * 2);
  w.map(3);
  w.text('salt');
  writeFixed(w, s.salt, PBKDF2_SALT_BYTES, 'encryptedSecret.salt');
  w.text('nonce');
  writeFixed(w, s.nonce, XCHACHA_NONCE_BYTES, 'encryptedSecret.nonce');
  w.text('ciphertext').intArray(s.ciphertext);
  return w.finish();
}

export function decodeEncryptedSecretValue(v: CborValue, where = 'EncryptedSecret'): EncryptedSecret {
  const m = asMap(v, where);
  return {
    salt: fixed(req(m, 'salt', where), PBKDF2_SALT_BYTES, `${where}.salt`).slice(),
    nonce: fixed(req(m, 'nonce', where), XCHACHA_NONCE_BYTES, `${where}.nonce`).slice(),
    ciphertext: anyBytes(req(m, 'ciphertext', where), `${where}.ciphertext`, MAX_CIPHERTEXT_BYTES).slice(),
  };
}

export function decodeEncryptedSecret(bytes: Uint8Array): EncryptedSecret {
  return decodeEncryptedSecretValue(decodeCbor(bytes, 'EncryptedSecret'));
}

export function passphraseKey(passphrase: string, salt: Uint8Array, iterations = PBKDF2_ITERATIONS): Uint8Array {
  return new Uint8Array(pbkdf2Sync(Buffer.from(passphrase, 'utf8'), salt, iterations, SECRET_KEY_BYTES, 'sha256'));
}

/** The key that auto-protects publisher secrets: BLAKE3.derive_key("scp2p publisher-identity v1", node seed). */
export function publisherKeyProtectionKey(nodeSeed: Uint8Array): Uint8Array {
  if (nodeSeed.length !== 32) throw ScpError.badInput('node seed must be 32 bytes');
  return blake3DeriveKey(PUBLISHER_KEY_CONTEXT, nodeSeed);
}

function take(random: RandomBytes, n: number, what: string): Uint8Array {
  const b = random(n);
  if (!(b instanceof Uint8Array) || b.length !== n) throw ScpError.badInput(`random(${n}) must return ${n} bytes for the ${what}`);
  return b;
}

/** XChaCha20-Poly1305 under a ready key (publisher auto-protect mode: salt is all zeros). */
export function encryptWithKey(
  key32: Uint8Array,
  plaintext: Uint8Array,
  random: RandomBytes,
  salt: Uint8Array = new Uint8Array(PBKDF2_SALT_BYTES),
): EncryptedSecret {
  const nonce = take(random, XCHACHA_NONCE_BYTES, 'nonce');
  return { salt, nonce, ciphertext: xchacha20poly1305(key32, nonce).encrypt(plaintext) };
}

export function decryptWithKey(key32: Uint8Array, s: EncryptedSecret): Uint8Array {
  try {
    return xchacha20poly1305(key32, s.nonce).decrypt(s.ciphertext);
  } catch {
    throw ScpError.verifyFailed('cannot decrypt the secret: wrong passphrase or key, or the stored secret is corrupted', {
      reason: 'decrypt_failed',
    });
  }
}

export function encryptSecret(passphrase: string, plaintext: Uint8Array, random: RandomBytes, iterations = PBKDF2_ITERATIONS): EncryptedSecret {
  const salt = take(random, PBKDF2_SALT_BYTES, 'salt');
  return encryptWithKey(passphraseKey(passphrase, salt, iterations), plaintext, random, salt);
}

export function decryptSecret(passphrase: string, s: EncryptedSecret, iterations = PBKDF2_ITERATIONS): Uint8Array {
  return decryptWithKey(passphraseKey(passphrase, s.salt, iterations), s);
}
