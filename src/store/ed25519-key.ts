import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';

/** Ed25519 through node:crypto: a secret key is kept as its 32-byte seed (PROTOCOL.md §5.1). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function newSeed(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(priv).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x as string, 'base64url'));
}

/** NodeId: first 20 bytes of SHA-256(node pubkey). */
export function nodeIdOf(pubkey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(pubkey).digest().subarray(0, 20));
}

/** ShareId: SHA-256(share pubkey). */
export function shareIdOf(pubkey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(pubkey).digest());
}

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
