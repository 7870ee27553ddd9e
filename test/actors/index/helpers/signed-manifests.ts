/**
 * Share keys and signed manifests for the subscription and sync tests: share A (seed 7, the one subscribed to) and
 * mallory (seed 9), a fixed clock, and `manifest`, a signed empty manifest of share A (or of `seed`'s share).
 */
import { toHex } from '../../../../src/protocol/bytes.js';
import { shareIdFromPubkey } from '../../../../src/protocol/ids.js';
import { keypairFromSeed } from '../../../../src/protocol/keys.js';
import { signManifest, type ManifestV1 } from '../../../../src/protocol/manifest.js';

export const seedA = new Uint8Array(32).fill(7);
export const seedM = new Uint8Array(32).fill(9); // mallory
export const pubA = keypairFromSeed(seedA).publicKey;
export const pubM = keypairFromSeed(seedM).publicKey;
export const SHARE_A = toHex(shareIdFromPubkey(pubA));
export const NOW = 1_700_000_000;

/** A manifest of `seed`'s share at `seq` (title `v<seq>`, no items), `over` applied, signed by `seed`. */
export function manifest(seq: bigint, seed = seedA, over: Partial<ManifestV1> = {}): ManifestV1 {
  const pub = keypairFromSeed(seed).publicKey;
  return signManifest(
    {
      version: 1,
      sharePubkey: pub,
      shareId: shareIdFromPubkey(pub),
      seq,
      createdAt: BigInt(NOW),
      expiresAt: null,
      title: `v${seq}`,
      description: null,
      visibility: 'private',
      communities: [],
      items: [],
      recommendedShares: [],
      signature: null,
      ...over,
    },
    seed,
  );
}
