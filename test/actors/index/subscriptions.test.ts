import { describe, expect, it } from 'vitest';
import {
  applyAccepted,
  decideHead,
  decideManifest,
  MAX_SUBSCRIPTIONS,
  newSubscription,
  subscribe,
  syncBatches,
  unsubscribe,
  type SubscriptionRecord,
} from '../../../src/actors/index/subscriptions.js';
import { toHex } from '../../../src/protocol/bytes.js';
import { shareIdFromPubkey } from '../../../src/protocol/ids.js';
import { keypairFromSeed } from '../../../src/protocol/keys.js';
import { manifestId, signManifest, type ManifestV1 } from '../../../src/protocol/manifest.js';
import { signShareHead, type ShareHead } from '../../../src/protocol/share-head.js';
import { manifest, NOW, pubA, pubM, SHARE_A, seedA, seedM } from './helpers/signed-manifests.js';

function head(m: ManifestV1, seed = seedA, over: Partial<ShareHead> = {}): ShareHead {
  const h = signShareHead({ shareId: m.shareId, latestSeq: m.seq, latestManifestId: manifestId(m), updatedAt: BigInt(NOW) }, seed);
  return { ...h, ...over };
}

function rec(over: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return { ...subscribe([], { shareId: SHARE_A }, 1).record, ...over };
}

/** The whole pass for one subscription: head → fetch decision → manifest decision. */
function sync(r: SubscriptionRecord, h: ShareHead | null, served: ManifestV1 | undefined, source: 'peer' | 'dht' = 'peer') {
  const d = decideHead(r, h);
  if (d.action !== 'fetch') return { record: r, outcome: d };
  if (!served) return { record: r, outcome: { action: 'skip' as const, reason: 'not_found' } };
  const m = decideManifest({ record: r, expected: d, manifest: served, nowUnix: NOW, source });
  return { record: m.action === 'accept' ? m.record : r, outcome: m };
}

describe('subscriptions', () => {
  it('subscribe validates ids and pubkeys, defaults trust normal, updates in place, caps at 200', () => {
    const { records, record, created } = subscribe([], { shareId: SHARE_A.toUpperCase(), sharePubkey: toHex(pubA) }, 5);
    expect(created).toBe(true);
    expect(record).toMatchObject({ shareId: SHARE_A, sharePubkey: toHex(pubA), trust: 'normal', latestSeq: 0n, subscribedAt: 5n });
    const upd = subscribe(records, { shareId: SHARE_A, trust: 'trusted' }, 9);
    expect(upd.created).toBe(false);
    expect(upd.records).toHaveLength(1);
    expect(upd.record).toMatchObject({ trust: 'trusted', subscribedAt: 5n, sharePubkey: toHex(pubA) });
    expect(() => subscribe([], { shareId: 'zz' }, 1)).toThrow(/share id/);
    expect(() => subscribe([], { shareId: SHARE_A, sharePubkey: toHex(pubM) }, 1)).toThrow(/does not belong/);
    expect(() => subscribe([], { shareId: SHARE_A, trust: 'bogus' as never }, 1)).toThrow(/trust/);
    let many: SubscriptionRecord[] = [];
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) many = subscribe(many, { shareId: i.toString(16).padStart(64, '0') }, 1).records;
    expect(() => subscribe(many, { shareId: SHARE_A }, 1)).toThrow(/at most 200/);
    expect(unsubscribe(many, many[0]!.shareId).records).toHaveLength(MAX_SUBSCRIPTIONS - 1);
    expect(syncBatches(many).map((b) => b.length)).toEqual(Array(10).fill(20));
  });

  it('newSubscription (worker shell form) keeps subscribedAt and updates trust', () => {
    const s = newSubscription({ shareId: SHARE_A }, 10);
    expect(s).toEqual({ shareId: SHARE_A, sharePubkey: null, trust: 'normal', subscribedAt: 10n });
    expect(newSubscription({ shareId: SHARE_A, trust: 'trusted' }, 20, s)).toEqual({ ...s, trust: 'trusted' });
  });
});

describe('sync decisions', () => {
  const m1 = manifest(1n);
  const m2 = manifest(2n);

  it('a newer genuine head is fetched and its manifest accepted; the pubkey is learnt and pinned', () => {
    const r0 = rec();
    const s1 = sync(r0, head(m1), m1);
    expect(s1.outcome).toMatchObject({ action: 'accept', manifestId: toHex(manifestId(m1)) });
    expect(s1.record).toMatchObject({ latestSeq: 1n, latestManifestId: toHex(manifestId(m1)), sharePubkey: toHex(pubA) });
    expect(sync(s1.record, head(m1), m1).outcome).toEqual({ action: 'skip', reason: 'not_newer' });
    expect(sync(s1.record, null, undefined).outcome).toEqual({ action: 'skip', reason: 'no_head' });
    const s2 = sync(s1.record, head(m2), m2);
    expect(s2.record.latestSeq).toBe(2n);
  });

  it('forged heads are refused when the pubkey is known (wrong signer, tampered seq, bad sig length, other share)', () => {
    const r = rec({ sharePubkey: toHex(pubA) });
    expect(decideHead(r, head(m2, seedA, { latestSeq: 99n }))).toEqual({ action: 'refuse', reason: 'bad_signature' });
    expect(decideHead(r, { ...head(m2), sig: new Uint8Array(10) })).toEqual({ action: 'refuse', reason: 'bad_signature_length' });
    const mallory = manifest(5n, seedM);
    expect(decideHead(r, head(mallory, seedM))).toEqual({ action: 'refuse', reason: 'wrong_share' });
    // A head for share A signed by mallory's key.
    const forged = { ...head(m2), sig: signShareHead({ ...head(m2), shareId: shareIdFromPubkey(pubM) }, seedM).sig };
    expect(decideHead(r, forged)).toEqual({ action: 'refuse', reason: 'bad_signature' });
  });

  it('forged manifests are refused and leave the good record untouched', () => {
    const good = sync(rec(), head(m1), m1).record;
    const h2 = head(m2);
    const d = decideHead(good, h2);
    expect(d.action).toBe('fetch');
    if (d.action !== 'fetch') return;
    const check = (m: ManifestV1, source: 'peer' | 'dht' = 'peer') => decideManifest({ record: good, expected: d, manifest: m, nowUnix: NOW, source });
    // Manifest that is not the one the head names.
    expect(check(manifest(3n))).toEqual({ action: 'refuse', reason: 'manifest_id_mismatch' });
    // Tampered after signing (id recomputed by a forger who also forged the head: signature fails).
    const tampered = { ...m2, title: 'evil' };
    expect(decideManifest({ record: good, expected: { manifestId: toHex(manifestId(tampered)), seq: 2n }, manifest: tampered, nowUnix: NOW, source: 'peer' })).toEqual({
      action: 'refuse',
      reason: 'bad_signature',
    });
    // Mallory's own valid manifest for mallory's share, advertised for share A.
    const mm = manifest(2n, seedM);
    expect(decideManifest({ record: good, expected: { manifestId: toHex(manifestId(mm)), seq: 2n }, manifest: mm, nowUnix: NOW, source: 'peer' })).toEqual({
      action: 'refuse',
      reason: 'wrong_share',
    });
    // share_id claimed for A but key is mallory's: the derivation check fails.
    const lying = signManifest({ ...manifest(2n, seedM), shareId: shareIdFromPubkey(pubA), signature: null }, seedM);
    expect(decideManifest({ record: good, expected: { manifestId: toHex(manifestId(lying)), seq: 2n }, manifest: lying, nowUnix: NOW, source: 'peer' })).toEqual({
      action: 'refuse',
      reason: 'share_id_mismatch',
    });
    // Expired.
    const exp = manifest(2n, seedA, { expiresAt: BigInt(NOW - 1), createdAt: BigInt(NOW - 10) });
    expect(decideManifest({ record: good, expected: { manifestId: toHex(manifestId(exp)), seq: 2n }, manifest: exp, nowUnix: NOW, source: 'peer' })).toEqual({
      action: 'refuse',
      reason: 'expired',
    });
    // Unsigned.
    const unsigned = { ...m2, signature: null };
    expect(decideManifest({ record: good, expected: { manifestId: toHex(manifestId(unsigned)), seq: 2n }, manifest: unsigned, nowUnix: NOW, source: 'peer' })).toEqual({
      action: 'refuse',
      reason: 'unsigned',
    });
    expect(check(m2)).toMatchObject({ action: 'accept' });
  });

  it('rolled-back heads and manifests are refused: an old genuine manifest under a forged high seq cannot pin the share', () => {
    const at2 = sync(sync(rec(), head(m1), m1).record, head(m2), m2).record;
    // Genuine old head: skipped.
    expect(decideHead(at2, head(m1))).toEqual({ action: 'skip', reason: 'not_newer' });
    // Pubkey unknown (fresh subscription that saw m2 via a link-less subscribe is pinned now, so use an unpinned record).
    const unpinned: SubscriptionRecord = { ...at2, sharePubkey: null };
    const forgedHead: ShareHead = { ...head(m1), latestSeq: 1_000n, sig: new Uint8Array(64) };
    const d = decideHead(unpinned, forgedHead);
    expect(d).toEqual({ action: 'fetch', manifestId: toHex(manifestId(m1)), seq: 1_000n });
    if (d.action === 'fetch') {
      expect(decideManifest({ record: unpinned, expected: d, manifest: m1, nowUnix: NOW, source: 'dht' })).toEqual({ action: 'refuse', reason: 'seq_mismatch' });
    }
    // A forged head naming an old manifest with its true seq is below the recorded seq: skipped before any fetch.
    expect(decideHead(unpinned, { ...head(m1), sig: new Uint8Array(64) })).toEqual({ action: 'skip', reason: 'not_newer' });
    // A manifest whose seq is not above the record (e.g. served for a stale expectation).
    expect(decideManifest({ record: at2, expected: { manifestId: toHex(manifestId(m1)), seq: 1n }, manifest: m1, nowUnix: NOW, source: 'peer' })).toEqual({
      action: 'refuse',
      reason: 'rolled_back',
    });
  });

  it('limits apply to GET_MANIFEST answers, not to DHT values', () => {
    const big = manifest(1n, seedA, {
      items: Array.from({ length: 3_001 }, (_, i) => ({
        contentId: new Uint8Array(32).fill(i % 251),
        size: 1n,
        name: `f${i}`,
        path: null,
        mime: null,
        tags: [],
        chunkCount: 1,
        chunkListHash: new Uint8Array(32),
      })),
    });
    const d = decideHead(rec(), head(big));
    if (d.action !== 'fetch') throw new Error('expected fetch');
    expect(decideManifest({ record: rec(), expected: d, manifest: big, nowUnix: NOW, source: 'peer' })).toEqual({ action: 'refuse', reason: 'too_many_items' });
    expect(decideManifest({ record: rec(), expected: d, manifest: big, nowUnix: NOW, source: 'dht' }).action).toBe('accept');
  });

  it('per-subscription isolation: one subscription refusing does not touch another', () => {
    const seedB = new Uint8Array(32).fill(3);
    const pubB = keypairFromSeed(seedB).publicKey;
    let records = subscribe([], { shareId: SHARE_A }, 1).records;
    records = subscribe(records, { shareId: toHex(shareIdFromPubkey(pubB)), sharePubkey: toHex(pubB) }, 1).records;
    const mb = manifest(1n, seedB);
    const results = records.map((r) =>
      r.shareId === SHARE_A ? sync(r, head(m1), { ...m1, title: 'tampered' }) : sync(r, head(mb, seedB), mb),
    );
    expect(results[0]!.outcome).toEqual({ action: 'refuse', reason: 'manifest_id_mismatch' });
    expect(results[1]!.outcome.action).toBe('accept');
    for (const res of results) records = applyAccepted(records, res.record);
    expect(records.map((r) => r.latestSeq)).toEqual([0n, 1n]);
  });
});
