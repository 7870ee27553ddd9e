/**
 * Where the index keeps publisher keys (API.md `publisher` option), and why here.
 *
 * The default publisher is the node's default share key, made and kept by the persistence actor
 * (`persistence/publishers`, key "default", sealed under the node passphrase when one is given), so that
 * `node.id.shareId` is the default share. The index has no channel to the persistence actor (persistence is
 * linked to nobody, wiring.ts), so it reads that seed — and the node seed, for the protection key — from the
 * persistence sub-databases, read only, through `readStoredSeed`. It never writes there.
 *
 * Labelled publishers are the index's own: `index/publishers`, label → EncryptedSecret (PROTOCOL.md §12
 * auto-protect mode: XChaCha20-Poly1305 under publisherKeyProtectionKey(node seed), salt all zeros), so a
 * copied data directory without the node key cannot sign as them.
 */
import type { Database, RootDatabase } from 'lmdb';
import { ScpError } from '../../errors.js';
import { decryptWithKey, encryptWithKey, publisherKeyProtectionKey, type EncryptedSecret } from '../../protocol/secrets.js';
import { subDatabase } from '../../store/environment.js';
import { DEFAULT_PUBLISHER, type StoredSeed } from '../../store/identity-store.js';
import { isSealed, openSecret } from '../../store/key-sealing.js';
import {
  DEFAULT_PUBLISHER_LABEL,
  createKeyring,
  identityFromSeed,
  type PublisherIdentity,
  type PublisherKeyring,
} from './publish/publisher-keys.js';

interface StoredPublisher {
  secret: EncryptedSecret;
  /** Unix ms, decimal. */
  createdAt: string;
}

/** A seed the persistence actor stored (plain, or sealed under the passphrase); undefined when absent. */
export function readStoredSeed(db: Database<StoredSeed, string>, key: string, passphrase: string | undefined, what: string): Uint8Array | undefined {
  const stored = db.get(key);
  if (stored === undefined) return undefined;
  if (isSealed(stored)) {
    if (!passphrase) throw new ScpError('UNAUTHORIZED', `${what} is encrypted at rest and the index actor was given no keyPassphrase`);
    return openSecret(stored, passphrase, what);
  }
  return new Uint8Array(stored.plain);
}

export class PublisherStore {
  readonly #own: Database<StoredPublisher, string>;
  #ring: PublisherKeyring;
  readonly #protect: Uint8Array;

  private constructor(own: Database<StoredPublisher, string>, ring: PublisherKeyring, protect: Uint8Array) {
    this.#own = own;
    this.#ring = ring;
    this.#protect = protect;
  }

  /** Loads the keyring: the persistence-owned default publisher plus our labelled ones (decrypted). */
  static open(env: RootDatabase, passphrase: string | undefined, nowMs: number): PublisherStore {
    const ids = subDatabase<StoredSeed>(env, 'persistence', 'identity');
    const pubs = subDatabase<StoredSeed>(env, 'persistence', 'publishers');
    const nodeSeed = readStoredSeed(ids, 'node', passphrase, 'the node key');
    const defaultSeed = readStoredSeed(pubs, DEFAULT_PUBLISHER, passphrase, 'the default publisher key');
    if (!nodeSeed || !defaultSeed) throw ScpError.internal('the node identity is missing: the persistence actor makes it before the index starts');
    const protect = publisherKeyProtectionKey(nodeSeed);
    let ring = createKeyring(defaultSeed, nowMs);
    const own = subDatabase<StoredPublisher>(env, 'index', 'publishers');
    for (const { key, value } of own.getRange()) {
      if (key === DEFAULT_PUBLISHER_LABEL) continue;
      const seed = decryptWithKey(protect, {
        salt: new Uint8Array(value.secret.salt),
        nonce: new Uint8Array(value.secret.nonce),
        ciphertext: new Uint8Array(value.secret.ciphertext),
      });
      ring = { ...ring, identities: [...ring.identities, identityFromSeed(key, seed, BigInt(value.createdAt))] };
    }
    return new PublisherStore(own, ring, protect);
  }

  get ring(): PublisherKeyring {
    return this.#ring;
  }

  /** Keeps a newly made identity (encrypted at rest). */
  add(identity: PublisherIdentity, randomBytes: (n: number) => Uint8Array): void {
    if (identity.label === DEFAULT_PUBLISHER_LABEL) throw ScpError.internal('the default publisher belongs to the persistence actor');
    const secret = encryptWithKey(this.#protect, identity.seed, randomBytes);
    this.#own.putSync(identity.label, { secret, createdAt: identity.createdAt.toString() });
    this.#ring = { ...this.#ring, identities: [...this.#ring.identities, identity] };
  }
}
