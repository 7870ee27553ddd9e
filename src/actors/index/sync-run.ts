/**
 * One sync pass (PROTOCOL.md §6.10) over the subscriptions, with every side effect injected (`SyncPorts`):
 * ShareHead lookup → decideHead → manifest from the cache, else the DHT (`manifest:loc:`), else GET_MANIFEST
 * from peers → decideManifest → `accept`. Batches of 20 lookups at a time; a failure or refusal touches only
 * its own subscription, and a refused head or manifest leaves the cached good one as it was.
 * Decisions live in subscriptions.ts; this file only sequences them.
 */
import { ScpError } from '../../errors.js';
import type { SyncReport } from '../../messages/index-mailbox.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { decodeManifest, type ManifestV1 } from '../../protocol/manifest.js';
import type { ShareHead } from '../../protocol/share-head.js';
import { decideHead, decideManifest, syncBatches, type SubscriptionRecord } from './subscriptions.js';

export interface SyncPorts {
  getShareHead(shareId: Uint8Array, sharePubkey: Uint8Array | null): Promise<ShareHead | null>;
  cachedManifest(manifestIdHex: string): ManifestV1 | undefined;
  /** The `manifest:loc:` DHT value, or null. */
  dhtManifest(manifestId: Uint8Array): Promise<Uint8Array | null>;
  /** MANIFEST_DATA bytes for the id from some peer (the caller picks and tries peers), or null. */
  peerManifest(manifestId: Uint8Array, record: SubscriptionRecord): Promise<Uint8Array | null>;
  /** Store, index, persist the accepted record, emit events. */
  accept(record: SubscriptionRecord, manifest: ManifestV1, manifestIdHex: string): Promise<void>;
  nowUnix(): number;
  /** Current record (it may have changed, e.g. unsubscribed, while the pass ran). */
  current(shareId: string): SubscriptionRecord | undefined;
  onRefused?(shareId: string, stage: 'head' | 'manifest', reason: string, source?: string): void;
}

export async function runSync(records: readonly SubscriptionRecord[], ports: SyncPorts): Promise<SyncReport> {
  const report: SyncReport = { checked: 0, updated: [], failed: [] };
  for (const batch of syncBatches(records)) {
    await Promise.all(
      batch.map(async (r) => {
        report.checked++;
        try {
          const up = await syncOne(r, ports);
          if (up) report.updated.push(up);
        } catch (e) {
          const err = e instanceof ScpError ? e : ScpError.internal(e instanceof Error ? e.message : String(e), e);
          report.failed.push({ shareId: r.shareId, code: err.code, error: err.message });
        }
      }),
    );
  }
  return report;
}

async function syncOne(record: SubscriptionRecord, ports: SyncPorts): Promise<{ shareId: string; seq: bigint; manifestId: string } | null> {
  const head = await ports.getShareHead(fromHex(record.shareId, 32), record.sharePubkey ? fromHex(record.sharePubkey, 32) : null);
  const hd = decideHead(record, head);
  if (hd.action === 'skip') return null;
  if (hd.action === 'refuse') {
    ports.onRefused?.(record.shareId, 'head', hd.reason);
    throw ScpError.verifyFailed(`the share head found for ${record.shareId.slice(0, 16)}… was refused (${hd.reason}); keeping the cached manifest`, {
      reason: hd.reason,
    });
  }
  const expected = { manifestId: hd.manifestId, seq: hd.seq };
  const idBytes = fromHex(hd.manifestId, 32);
  const reasons: string[] = [];

  const tryManifest = async (m: ManifestV1 | undefined, source: 'cache' | 'dht' | 'peer'): Promise<boolean> => {
    if (!m) return false;
    const cur = ports.current(record.shareId);
    if (!cur) return false;
    const d = decideManifest({ record: cur, expected, manifest: m, nowUnix: ports.nowUnix(), source });
    if (d.action === 'refuse') {
      reasons.push(`${source}: ${d.reason}`);
      ports.onRefused?.(record.shareId, 'manifest', d.reason, source);
      return false;
    }
    await ports.accept(d.record, m, d.manifestId);
    return true;
  };
  const decode = (b: Uint8Array | null): ManifestV1 | undefined => {
    if (!b) return undefined;
    try {
      return decodeManifest(b);
    } catch {
      reasons.push('undecodable manifest');
      return undefined;
    }
  };

  if (await tryManifest(ports.cachedManifest(hd.manifestId), 'cache')) return done();
  if (await tryManifest(decode(await ports.dhtManifest(idBytes).catch(() => null)), 'dht')) return done();
  if (await tryManifest(decode(await ports.peerManifest(idBytes, record)), 'peer')) return done();
  if (!ports.current(record.shareId)) return null; // unsubscribed meanwhile
  if (reasons.length > 0) {
    throw ScpError.verifyFailed(`manifest ${hd.manifestId.slice(0, 16)}… of share ${record.shareId.slice(0, 16)}… was refused (${reasons.join(', ')}); keeping the cached one`, {
      reasons,
    });
  }
  throw ScpError.notFound(`manifest ${hd.manifestId.slice(0, 16)}… (seq ${hd.seq}) of share ${record.shareId.slice(0, 16)}… is on no reachable peer; try again later`);

  function done(): { shareId: string; seq: bigint; manifestId: string } {
    return { shareId: record.shareId, seq: hd.action === 'fetch' ? hd.seq : 0n, manifestId: toHex(idBytes) };
  }
}
