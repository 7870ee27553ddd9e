import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { describeFile } from '../../../../src/actors/index/publish/describe-file.js';
import { scanFolder } from '../../../../src/actors/index/publish/folder-scan.js';
import { HashCache, LmdbHashCacheStore, MemoryHashCacheStore } from '../../../../src/actors/index/publish/hash-cache.js';
import { buildManifest, checkPublishLimits, itemFromFile, manifestFitsDht, textItem } from '../../../../src/actors/index/publish/manifest-builder.js';
import {
  createKeyring,
  listPublishers,
  normalizePublisherLabel,
  resolvePublisher,
  setDefaultPublisher,
} from '../../../../src/actors/index/publish/publisher-keys.js';
import { MemoryIndexStore } from '../../../../src/actors/index/search/index-store.js';
import { SearchIndex } from '../../../../src/actors/index/search/search-index.js';
import { toHex } from '../../../../src/protocol/bytes.js';
import { CHUNK_SIZE, describeContent } from '../../../../src/protocol/content.js';
import { keypairFromSeed } from '../../../../src/protocol/keys.js';
import { verifyManifest, signManifest, type ItemV1 } from '../../../../src/protocol/manifest.js';

const base = mkdtempSync(path.join(tmpdir(), 'scp2p-publish-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const seed = new Uint8Array(32).fill(1);
const pub = keypairFromSeed(seed).publicKey;

describe('describeFile + HashCache', () => {
  it('streams a file to the same description as describeContent', async () => {
    const bytes = new Uint8Array(CHUNK_SIZE * 2 + 123).map((_, i) => (i * 7) & 0xff);
    const p = path.join(base, 'blob.bin');
    writeFileSync(p, bytes);
    const d = await describeFile(p);
    const want = describeContent(bytes);
    expect(toHex(d.contentId)).toBe(toHex(want.contentId));
    expect(d.chunkCount).toBe(3);
    expect(toHex(d.chunkListHash)).toBe(toHex(want.chunkListHash));
  });

  it('re-publishing an unchanged folder hashes nothing again; a changed file is hashed again (memory and lmdb stores)', async () => {
    const root = path.join(base, 'cache');
    mkdirSync(path.join(root, 'sub'), { recursive: true });
    writeFileSync(path.join(root, 'a.txt'), 'alpha');
    writeFileSync(path.join(root, 'sub', 'b.txt'), 'beta');
    const env = open({ path: path.join(base, 'db'), maxDbs: 2 });
    for (const store of [new MemoryHashCacheStore(), new LmdbHashCacheStore(env.openDB({ name: 'index/hash-cache' }))]) {
      const cache = new HashCache(store);
      let hashed = 0;
      const hash = (p: string) => {
        hashed++;
        return describeFile(p);
      };
      const run = async () => {
        const { files } = await scanFolder(root);
        const out = [];
        for (const f of files) out.push(itemFromFile(f, (await cache.describe(f, hash)).description));
        return out;
      };
      const first = await run();
      expect(hashed).toBe(2);
      const second = await run();
      expect(hashed).toBe(2);
      expect(second).toEqual(first);
      writeFileSync(path.join(root, 'a.txt'), 'alpha, changed');
      const third = await run();
      expect(hashed).toBe(3);
      expect(toHex(third[0]!.contentId)).not.toBe(toHex(first[0]!.contentId));
      expect(cache.prune([path.join(root, 'a.txt')])).toBe(1);
      writeFileSync(path.join(root, 'a.txt'), 'alpha');
    }
    await env.close();
  });
});

function fakeItem(i: number, pathStr: string | null, chunks = 1): ItemV1 {
  return {
    contentId: new Uint8Array(32).fill(i & 0xff),
    size: BigInt(chunks * CHUNK_SIZE),
    name: `f${i}`,
    path: pathStr,
    mime: null,
    tags: [],
    chunkCount: chunks,
    chunkListHash: new Uint8Array(32),
  };
}

describe('buildManifest', () => {
  it('seq = previous + 1 (first 1), created_at = now, no expiry; it signs, verifies and indexes', async () => {
    const items = [fakeItem(1, 'docs/a.txt'), fakeItem(2, 'b.txt')];
    const m1 = buildManifest({ sharePubkey: pub, previousSeq: null, title: 'T', visibility: 'private', items, nowUnix: 1_000 });
    expect(m1).toMatchObject({ seq: 1n, createdAt: 1_000n, expiresAt: null, signature: null, description: null, communities: [] });
    const m2 = buildManifest({ sharePubkey: pub, previousSeq: 41n, title: 'T', visibility: 'public', items, nowUnix: 2_000 });
    expect(m2.seq).toBe(42n);
    const signed = signManifest(m2, seed);
    expect(() => verifyManifest(signed, 2_000)).not.toThrow();
    expect(manifestFitsDht(signed)).toBe(true);
    const idx = SearchIndex.open(new MemoryIndexStore());
    idx.indexManifest(signed);
    expect(idx.shareItems(toHex(signed.shareId))!.map((i) => i.path)).toEqual(['docs/a.txt', 'b.txt']);
    expect(() => buildManifest({ sharePubkey: pub, previousSeq: null, title: 'T', visibility: 'private', communities: [new Uint8Array(32)], items, nowUnix: 1 })).toThrow(/public/);
  });

  it('refuses more than 3,000 items or 100,000 chunks with a split plan by top-level folder', () => {
    const items = Array.from({ length: 4_000 }, (_, i) => fakeItem(i, `${['music', 'photos', 'video'][i % 3]}/f${i}`));
    let err: unknown;
    try {
      checkPublishLimits(items);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'LIMIT', details: { reason: 'too_many_items', items: 4_000 } });
    expect((err as Error).message).toMatch(/4,000 files; one share holds at most 3,000/);
    expect((err as Error).message).toMatch(/Split it into 2 shares/);
    expect((err as Error).message).toMatch(/music\/, photos\//);
    expect((err as Error).message).toMatch(/--publisher/);
    const chunky = Array.from({ length: 3 }, (_, i) => fakeItem(i, `d${i}/big`, 40_000));
    expect(() => checkPublishLimits(chunky)).toThrow(/120,000 chunks/);
    const oneHuge = [fakeItem(1, 'huge/x', 150_000)];
    expect(() => checkPublishLimits(oneHuge)).toThrow(/huge alone is too big/);
    expect(() => checkPublishLimits(items.slice(0, 3_000))).not.toThrow();
  });

  it('a text item is named after the title', () => {
    const it = textItem('Notes', describeContent(new TextEncoder().encode('hello')));
    expect(it).toMatchObject({ name: 'Notes.txt', mime: 'text/plain', path: null, tags: ['text'], size: 5n });
  });
});

describe('publisher keys', () => {
  it('default publisher without a label; a label is made once and kept; labels validated', () => {
    let n = 0;
    const newSeed = () => new Uint8Array(32).fill(100 + n++);
    const ring0 = createKeyring(seed, 1);
    const d = resolvePublisher(ring0, undefined, newSeed, 2);
    expect(d).toMatchObject({ created: false, identity: { label: 'default', sharePubkey: toHex(pub) } });
    const w = resolvePublisher(d.ring, ' work ', newSeed, 3);
    expect(w.created).toBe(true);
    const again = resolvePublisher(w.ring, 'work', newSeed, 4);
    expect(again.created).toBe(false);
    expect(again.identity.shareId).toBe(w.identity.shareId);
    expect(n).toBe(1);
    expect(listPublishers(w.ring).map((p) => [p.label, p.isDefault])).toEqual([['default', true], ['work', false]]);
    expect(resolvePublisher(setDefaultPublisher(w.ring, 'work'), undefined, newSeed, 5).identity.label).toBe('work');
    expect(() => normalizePublisherLabel('')).toThrow(/1–64/);
    expect(() => normalizePublisherLabel('a\u0007')).toThrow(/control/);
    expect(() => setDefaultPublisher(w.ring, 'nope')).toThrow(/no publisher/);
    expect(JSON.stringify(listPublishers(w.ring))).not.toMatch(/seed/);
  });
});
