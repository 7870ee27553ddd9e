/**
 * A hostile publisher whose signed manifest names files outside the download folder ("../", absolute paths,
 * backslashes): the subscriber syncs it from a reference-format peer (DHT head + GET_MANIFEST), lists the items,
 * and `downloadItems` refuses with BAD_INPUT before any network activity — nothing is written outside (or inside)
 * the target, and the node keeps serving.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from '../../src/index.js';
import { toHex } from '../../src/protocol/bytes.js';
import { describeContent } from '../../src/protocol/content.js';
import { shareHeadKey } from '../../src/protocol/dht-keys.js';
import { shareIdFromPubkey } from '../../src/protocol/ids.js';
import { publicKeyFromSeed } from '../../src/protocol/keys.js';
import { encodeManifest, manifestId, signManifest, type ItemV1 } from '../../src/protocol/manifest.js';
import { NO_CAPABILITIES } from '../../src/protocol/peer-addr.js';
import { encodeShareHead, signShareHead } from '../../src/protocol/share-head.js';
import { RefServer } from '../interop/reference-peer.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('path traversal in a hostile manifest', () => {
  it('downloadItems refuses every escaping name with BAD_INPUT and writes nothing', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-hostile-trav-'));
    cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
    const seed = new Uint8Array(32).fill(0x66);
    const sharePubkey = publicKeyFromSeed(seed);
    const shareId = shareIdFromPubkey(sharePubkey);
    const d = describeContent(new TextEncoder().encode('owned'));
    const item = (name: string, p: string | null): ItemV1 => ({ contentId: d.contentId, size: d.size, name, path: p, mime: null, tags: [], chunkCount: d.chunkCount, chunkListHash: d.chunkListHash });
    const evil = [item('evil.txt', '../../outside/evil.txt'), item('..', null), item('abs.txt', '/tmp/abs.txt'), item('win.txt', '..\\..\\win.txt')];
    const m = signManifest(
      { version: 1, sharePubkey, shareId, seq: 1n, createdAt: BigInt(Math.floor(Date.now() / 1000)), expiresAt: null, title: 'hostile', description: null, visibility: 'public', communities: [], items: evil, recommendedShares: [], signature: null },
      seed,
    );
    const mid = manifestId(m);
    const ref = await RefServer.start({ capabilities: { ...NO_CAPABILITIES, dht: true } });
    cleanups.push(() => ref.close());
    ref.manifests.set(toHex(mid), encodeManifest(m));
    const key = shareHeadKey(shareId);
    ref.dht.set(toHex(key), { key, value: encodeShareHead(signShareHead({ shareId, latestSeq: 1n, latestManifestId: mid, updatedAt: m.createdAt }, seed)), ttlSecs: 3_600n });

    const b = await Node.start({ dataDir: path.join(root, 'b'), listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap: [ref.url] });
    cleanups.push(() => b.stop());
    await b.connect(ref.url);
    await b.subscribe(toHex(shareId), { sharePubkey: toHex(sharePubkey) });
    let items: Awaited<ReturnType<Node['listShareItems']>> = [];
    for (let i = 0; i < 20 && items.length === 0; i++) {
      await b.syncSubscriptions();
      items = await b.listShareItems(toHex(shareId)).catch(() => []);
      if (items.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    // Whether the index keeps such items or drops them on sync, none of them may be written anywhere.
    const target = path.join(root, 'target');
    fs.mkdirSync(target);
    if (items.length > 0) {
      const err = await b.downloadItems(toHex(shareId), 'all', target).catch((e: unknown) => e as { code?: string });
      expect((err as { code?: string }).code).toBe('BAD_INPUT');
      for (const one of items) {
        const e1 = await b.downloadItems(toHex(shareId), [one.contentId], target).catch((e: unknown) => e as { code?: string });
        expect((e1 as { code?: string }).code).toBe('BAD_INPUT');
      }
    }
    expect(fs.readdirSync(target)).toEqual([]);
    expect(fs.existsSync(path.join(root, 'outside'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'win.txt'))).toBe(false);
    expect(ref.log.filter((e) => e.type === 500 || e.type === 502)).toEqual([]); // no chunk was ever asked for
    expect(b.health().actors.every((x) => x.restarts === 0)).toBe(true);
    expect(items.length, 'the hostile manifest reached the subscriber').toBeGreaterThan(0);
  }, 90_000);
});
