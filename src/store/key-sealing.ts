import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { ScpError } from '../errors.js';

/**
 * Secret keys at rest: scrypt (memory-hard) derives a key from the passphrase, ChaCha20-Poly1305 seals the
 * secret. The KDF parameters travel with the record so they can be raised later without breaking old stores.
 */
export interface SealedSecret {
  v: 1;
  kdf: 'scrypt';
  n: number;
  r: number;
  p: number;
  salt: Uint8Array;
  nonce: Uint8Array;
  /** Ciphertext followed by the 16-byte tag. */
  box: Uint8Array;
}

/** 2^15 x 8 x 128 B = 32 MiB, ~0.1 s here: costly to brute-force, cheap enough at every node start. */
export const DEFAULT_SCRYPT = { n: 1 << 15, r: 8, p: 1 } as const;

function deriveKey(passphrase: string, salt: Uint8Array, n: number, r: number, p: number): Buffer {
  return scryptSync(passphrase.normalize('NFKC'), salt, 32, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
}

export function sealSecret(secret: Uint8Array, passphrase: string, params = DEFAULT_SCRYPT): SealedSecret {
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const key = deriveKey(passphrase, salt, params.n, params.r, params.p);
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  const box = Buffer.concat([c.update(secret), c.final(), c.getAuthTag()]);
  return { v: 1, kdf: 'scrypt', n: params.n, r: params.r, p: params.p, salt, nonce, box };
}

/** Throws UNAUTHORIZED when the passphrase is wrong (the AEAD tag does not verify). */
export function openSecret(sealed: SealedSecret, passphrase: string, what = 'the node key'): Uint8Array {
  const key = deriveKey(passphrase, sealed.salt, sealed.n, sealed.r, sealed.p);
  const box = Buffer.from(sealed.box);
  const d = createDecipheriv('chacha20-poly1305', key, Buffer.from(sealed.nonce), { authTagLength: 16 });
  d.setAuthTag(box.subarray(box.length - 16));
  try {
    return new Uint8Array(Buffer.concat([d.update(box.subarray(0, box.length - 16)), d.final()]));
  } catch {
    throw new ScpError('UNAUTHORIZED', `wrong passphrase for ${what}; pass the passphrase it was encrypted with`);
  }
}

export function isSealed(v: unknown): v is SealedSecret {
  return typeof v === 'object' && v !== null && (v as SealedSecret).kdf === 'scrypt';
}
