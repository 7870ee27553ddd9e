import { describe, expect, it } from 'vitest';
import { runSync, type SyncPorts } from '../../../src/actors/index/sync-run.js';
import type { SubscriptionRecord } from '../../../src/actors/index/subscriptions.js';
import { toHex } from '../../../src/protocol/bytes.js';
import { shareIdFromPubkey } from '../../../src/protocol/ids.js';
import { keypairFromSeed } from '../../../src/protocol/keys.js';
import { encodeManifest, manifestId, type ManifestV1 } from '../../../src/protocol/manifest.js';
import { signShareHead, type ShareHead } from '../../../src/protocol/share-head.js';
import { manifest, NOW, pubA, SHARE_A, seedA, seedM } from './helpers/signed-manifests.js';

function head(m: ManifestV1, seed = seedA, shareId = m.shareId): ShareHead {
  const h = { shareId, latestSeq: m.seq, latestManifestId: manifestId(m), updatedAt: BigInt(NOW) };
  try {
    return signShareHead(h, seed);
  } catch {
    return { ...h, sig: new Uint8Array(64).fill(3) }; // a head signed by a key that is not the share's
  }
}

function record(over: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return { shareId: SHARE_A, sharePubkey: null, trust: 'normal', weight: 1, latestSeq: 0n, latestManifestId: null, subscribedAt: 0n, ...over };
}

/** An in-memory world: heads per share, DHT manifest values, peers' manifests; `accept` updates the records. */
function world(init: { records: SubscriptionRecord[]; heads: Record<string, ShareHead | null>; dht?: ManifestV1[]; peer?: Array<ManifestV1 | Uint8Array> }) {
  const records = new Map(init.records.map((r) => [r.shareId, r]));
  const accepted: Array<{ shareId: string; seq: bigint }> = [];
  const refused: string[] = [];
  const dht = new Map((init.dht ?? []).map((m) => [toHex(manifestId(m)), encodeManifest(m)]));
  const ports: SyncPorts = {
    getShareHead: async (shareId) => {
      const h = init.heads[toHex(shareId)];
      if (h === undefined) throw new Error('lookup failed');
      return h;
    },
    cachedManifest: () => undefined,
    dhtManifest: async (id) => dht.get(toHex(id)) ?? null,
    peerManifest: async () => {
      const p = init.peer?.shift();
      return p === undefined ? null : p instanceof Uint8Array ? p : encodeManifest(p);
    },
    accept: async (r, m) => {
      records.set(r.shareId, r);
      accepted.push({ shareId: r.shareId, seq: m.seq });
    },
    nowUnix: () => NOW,
    current: (id) => records.get(id),
    onRefused: (_s, stage, reason) => refused.push(`${stage}:${reason}`),
  };
  return { ports, records, accepted, refused };
}

describe('runSync', () => {
  it('accepts a newer manifest from the DHT, pins the share pubkey, then refuses heads signed by another key', async () => {
    const m1 = manifest(1n);
    const w = world({ records: [record()], heads: { [SHARE_A]: head(m1) }, dht: [m1] });
    const r = await runSync([...w.records.values()], w.ports);
    expect(r).toEqual({ checked: 1, updated: [{ shareId: SHARE_A, seq: 1n, manifestId: toHex(manifestId(m1)) }], failed: [] });
    expect(w.records.get(SHARE_A)?.sharePubkey).toBe(toHex(pubA));

    // Mallory signs a head for A's share id pointing at her own manifest with a higher seq.
    const forged = head(manifest(5n, seedM), seedM, m1.shareId);
    const w2 = world({ records: [...w.records.values()], heads: { [SHARE_A]: forged } });
    const r2 = await runSync([...w2.records.values()], w2.ports);
    expect(r2.updated).toEqual([]);
    expect(r2.failed).toMatchObject([{ shareId: SHARE_A, code: 'VERIFY_FAILED' }]);
    expect(w2.records.get(SHARE_A)?.latestSeq).toBe(1n);
  });

  it('ignores a rolled-back head, and refuses a forged manifest while the pubkey is still unknown', async () => {
    const m2 = manifest(2n);
    const rolled = world({ records: [record({ latestSeq: 2n, latestManifestId: toHex(manifestId(m2)) })], heads: { [SHARE_A]: head(manifest(1n)) } });
    expect(await runSync([...rolled.records.values()], rolled.ports)).toEqual({ checked: 1, updated: [], failed: [] });
    expect(rolled.accepted).toEqual([]);

    // Unknown pubkey: a head naming mallory's manifest (under A's share id claim) reaches the manifest check and fails there.
    const evil = manifest(3n, seedM);
    const h = { shareId: shareIdFromPubkey(pubA), latestSeq: 3n, latestManifestId: manifestId(evil), updatedAt: 1n, sig: new Uint8Array(64) };
    const w = world({ records: [record()], heads: { [SHARE_A]: h }, peer: [evil] });
    const r = await runSync([...w.records.values()], w.ports);
    expect(r.failed).toMatchObject([{ shareId: SHARE_A, code: 'VERIFY_FAILED' }]);
    expect(w.refused).toContain('manifest:wrong_share');
    expect(w.records.get(SHARE_A)?.latestSeq).toBe(0n);
  });

  it('falls back to peers when the DHT has no manifest, skips garbage, and isolates failures per subscription', async () => {
    const m1 = manifest(1n);
    const seedB = new Uint8Array(32).fill(11);
    const shareB = toHex(shareIdFromPubkey(keypairFromSeed(seedB).publicKey));
    const shareC = 'cc'.repeat(32);
    const w = world({
      records: [record(), record({ shareId: shareB }), record({ shareId: shareC })],
      heads: { [SHARE_A]: head(m1), [shareB]: null }, // C's lookup throws
      peer: [m1],
    });
    const r = await runSync([...w.records.values()], w.ports);
    expect(r.checked).toBe(3);
    expect(r.updated.map((u) => u.shareId)).toEqual([SHARE_A]);
    expect(r.failed.map((f) => f.shareId)).toEqual([shareC]);

    const m2 = manifest(2n);
    const w2 = world({ records: [...w.records.values()], heads: { [SHARE_A]: head(m2), [shareB]: null, [shareC]: null }, peer: [new Uint8Array([1, 2, 3])] });
    const r2 = await runSync([...w2.records.values()], w2.ports);
    expect(r2.failed).toMatchObject([{ shareId: SHARE_A, code: 'VERIFY_FAILED' }]);
    expect(w2.records.get(SHARE_A)?.latestSeq).toBe(1n);

    const w3 = world({ records: [...w.records.values()], heads: { [SHARE_A]: head(m2), [shareB]: null, [shareC]: null } });
    const r3 = await runSync([...w3.records.values()], w3.ports);
    expect(r3.failed).toMatchObject([{ shareId: SHARE_A, code: 'NOT_FOUND' }]);
  });
});
