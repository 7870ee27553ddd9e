import type { Database, RootDatabase } from 'lmdb';
import { ScpError } from '../errors.js';
import type { NodeIdentity } from '../messages/persistence-mailbox.js';
import { newSeed, nodeIdOf, publicKeyFromSeed, shareIdOf, toHex } from './ed25519-key.js';
import { subDatabase } from './environment.js';
import { isSealed, openSecret, sealSecret, type SealedSecret } from './key-sealing.js';

/** A stored secret seed: plain, or sealed under the node's passphrase. */
export type StoredSeed = { plain: Uint8Array } | SealedSecret;

export const DEFAULT_PUBLISHER = 'default';

export interface KeySet {
  node: Uint8Array;
  publishers: Record<string, Uint8Array>;
}

/**
 * The node key and publisher keys in the persistence actor's sub-databases. Made on first start and kept;
 * a wrong passphrase is an error, never a reason to make a new identity.
 */
export class IdentityStore {
  readonly #keys: Database<StoredSeed, string>;
  readonly #publishers: Database<StoredSeed, string>;
  readonly #passphrase: string | undefined;

  constructor(env: RootDatabase, passphrase: string | undefined) {
    this.#keys = subDatabase<StoredSeed>(env, 'persistence', 'identity');
    this.#publishers = subDatabase<StoredSeed>(env, 'persistence', 'publishers');
    this.#passphrase = passphrase || undefined;
  }

  /** Loads (or on first start creates) the node key and the default publisher; returns the public identity. */
  loadOrCreate(): NodeIdentity {
    const node = this.#seed(this.#keys, 'node', 'the node key');
    const publisher = this.publisherSeed(DEFAULT_PUBLISHER);
    const nodePub = publicKeyFromSeed(node);
    const sharePub = publicKeyFromSeed(publisher);
    return { nodeId: toHex(nodeIdOf(nodePub)), nodePubkey: toHex(nodePub), sharePubkey: toHex(sharePub), shareId: toHex(shareIdOf(sharePub)) };
  }

  publisherSeed(label: string): Uint8Array {
    return this.#seed(this.#publishers, label, `publisher key "${label}"`);
  }

  exportKeys(): KeySet {
    const publishers: Record<string, Uint8Array> = {};
    for (const { key } of this.#publishers.getRange()) publishers[key] = this.publisherSeed(key);
    return { node: this.#seed(this.#keys, 'node', 'the node key'), publishers };
  }

  /** Replaces the node key and adds/replaces the given publishers (sealed under this store's passphrase). */
  importKeys(keys: KeySet): void {
    this.#keys.putSync('node', this.#wrap(keys.node));
    for (const [label, seed] of Object.entries(keys.publishers)) this.#publishers.putSync(label, this.#wrap(seed));
  }

  #wrap(seed: Uint8Array): StoredSeed {
    return this.#passphrase ? sealSecret(seed, this.#passphrase) : { plain: seed };
  }

  #seed(db: Database<StoredSeed, string>, key: string, what: string): Uint8Array {
    const stored = db.get(key);
    if (stored === undefined) {
      const seed = newSeed();
      db.putSync(key, this.#wrap(seed));
      return seed;
    }
    if (isSealed(stored)) {
      if (!this.#passphrase) {
        throw new ScpError('UNAUTHORIZED', `${what} is encrypted at rest; start the node with its keyPassphrase`);
      }
      return openSecret(stored, this.#passphrase, what);
    }
    const seed = new Uint8Array(stored.plain);
    // A passphrase given for a plain key: seal it now, so it is encrypted from here on.
    if (this.#passphrase) db.putSync(key, this.#wrap(seed));
    return seed;
  }
}
