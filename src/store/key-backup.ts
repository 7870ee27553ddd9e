import { ScpError } from '../errors.js';
import { lockDataDir } from './data-dir-lock.js';
import { openEnvironment } from './environment.js';
import { IdentityStore, type KeySet } from './identity-store.js';
import { openSecret, sealSecret, type SealedSecret } from './key-sealing.js';
import { migrate } from './schema.js';

/**
 * Backup and restore of the node and publisher keys (`scp2p identity export|import`). A bundle is JSON with
 * the key set sealed under a backup passphrase; it works on a data directory no node is running on.
 */
interface Bundle {
  format: 'scp2p-keys';
  version: 1;
  sealed: { n: number; r: number; p: number; salt: string; nonce: string; box: string };
}

export function encodeKeyBundle(keys: KeySet, backupPassphrase: string): string {
  if (!backupPassphrase) throw ScpError.badInput('a key backup needs a passphrase; pass one to protect the exported keys');
  const plain = JSON.stringify({
    node: Buffer.from(keys.node).toString('hex'),
    publishers: Object.fromEntries(Object.entries(keys.publishers).map(([k, v]) => [k, Buffer.from(v).toString('hex')])),
  });
  const s = sealSecret(new TextEncoder().encode(plain), backupPassphrase);
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const bundle: Bundle = { format: 'scp2p-keys', version: 1, sealed: { n: s.n, r: s.r, p: s.p, salt: hex(s.salt), nonce: hex(s.nonce), box: hex(s.box) } };
  return JSON.stringify(bundle, null, 2);
}

export function decodeKeyBundle(text: string, backupPassphrase: string): KeySet {
  let b: Bundle;
  try {
    b = JSON.parse(text) as Bundle;
  } catch {
    throw ScpError.badInput('not a key backup: it is not JSON');
  }
  if (b?.format !== 'scp2p-keys' || b.version !== 1) throw ScpError.badInput('not an scp2p key backup (format/version)');
  const from = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
  const sealed: SealedSecret = { v: 1, kdf: 'scrypt', n: b.sealed.n, r: b.sealed.r, p: b.sealed.p, salt: from(b.sealed.salt), nonce: from(b.sealed.nonce), box: from(b.sealed.box) };
  const plain = JSON.parse(new TextDecoder().decode(openSecret(sealed, backupPassphrase, 'the key backup'))) as { node: string; publishers: Record<string, string> };
  return { node: from(plain.node), publishers: Object.fromEntries(Object.entries(plain.publishers).map(([k, v]) => [k, from(v)])) };
}

export interface IdentityFileOptions {
  dataDir: string;
  /** The passphrase the keys are encrypted with in this data directory, if any. */
  keyPassphrase?: string;
  backupPassphrase: string;
}

async function withStore<T>(o: IdentityFileOptions, fn: (s: IdentityStore) => T): Promise<T> {
  const lock = lockDataDir(o.dataDir);
  const env = openEnvironment(o.dataDir);
  try {
    migrate(env);
    return fn(new IdentityStore(env, o.keyPassphrase));
  } finally {
    await env.close();
    lock.release();
  }
}

export async function exportIdentity(o: IdentityFileOptions): Promise<string> {
  return withStore(o, (s) => encodeKeyBundle(s.exportKeys(), o.backupPassphrase));
}

export async function importIdentity(o: IdentityFileOptions & { bundle: string }): Promise<void> {
  const keys = decodeKeyBundle(o.bundle, o.backupPassphrase);
  return withStore(o, (s) => s.importKeys(keys));
}
