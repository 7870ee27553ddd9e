/**
 * The manifest cache (`index/manifests`, manifest id hex → the signed manifest's CBOR struct map, the bytes
 * MANIFEST_DATA carries). Holds our own latest manifests and the latest accepted manifest of every
 * subscription; GET_MANIFEST answers from here. Values were verified before they were stored.
 */
import type { Database } from 'lmdb';
import { decodeManifest, encodeManifest, type ManifestV1 } from '../../protocol/manifest.js';

export class ManifestCache {
  constructor(private readonly db: Database<Uint8Array, string>) {}

  bytes(manifestId: string): Uint8Array | undefined {
    const v = this.db.get(manifestId);
    return v === undefined ? undefined : new Uint8Array(v);
  }

  get(manifestId: string): ManifestV1 | undefined {
    const b = this.bytes(manifestId);
    if (!b) return undefined;
    try {
      return decodeManifest(b);
    } catch {
      return undefined; // a damaged entry is as good as none: sync fetches it again
    }
  }

  put(manifestId: string, m: ManifestV1): Uint8Array {
    const b = encodeManifest(m);
    this.db.putSync(manifestId, b);
    return b;
  }

  remove(manifestId: string): void {
    this.db.removeSync(manifestId);
  }

  has(manifestId: string): boolean {
    return this.db.doesExist(manifestId);
  }
}
