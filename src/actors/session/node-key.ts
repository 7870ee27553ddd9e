/**
 * The session signs handshakes with the node key. The persistence actor makes and keeps that key
 * (`persistence/identity`, key "node", sealed with scrypt + ChaCha20-Poly1305 when a passphrase is set) and has
 * no channel to anyone (wiring.ts), so the session reads the seed from that sub-database itself, read only, once
 * at start; the passphrase comes in the session's config (`keyPassphrase`, passed by Node.start). The seed never
 * leaves this thread.
 */
import type { RootDatabase } from 'lmdb';
import { ScpError } from '../../errors.js';
import { subDatabase } from '../../store/environment.js';
import type { StoredSeed } from '../../store/identity-store.js';
import { isSealed, openSecret } from '../../store/key-sealing.js';

export function loadNodeSeed(env: RootDatabase, passphrase: string | undefined): Uint8Array {
  const stored = subDatabase<StoredSeed>(env, 'persistence', 'identity').get('node');
  if (stored === undefined) throw ScpError.internal('the node key is missing: the persistence actor makes it before the session starts');
  if (isSealed(stored)) {
    if (!passphrase) throw new ScpError('UNAUTHORIZED', 'the node key is encrypted at rest; start the node with its keyPassphrase');
    return openSecret(stored, passphrase, 'the node key');
  }
  return new Uint8Array(stored.plain);
}
