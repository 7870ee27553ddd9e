import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Node } from '../../src/index.js';
import type { NodeEvent } from '../../src/messages/node-events.js';
import { nodeTestDirs } from './node-test-helpers.js';

const { nodes, tmp } = nodeTestDirs('scp2p-catalog-');

const FILES: Record<string, string | number> = {
  'Reisebericht Übersicht.pdf': 300_000,
  'photos/2026/sunset-beach.jpg': 700_000,
  'photos/2026/東京タワー.png': 262_144,
  'notes/readme.txt': 'hello notes',
  'empty.bin': 0,
};

function makeFolder(): string {
  const src = tmp('scp2p-catalog-src-');
  let n = 1;
  for (const [rel, v] of Object.entries(FILES)) {
    const p = path.join(src, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, typeof v === 'string' ? v : Buffer.alloc(v, n++));
  }
  return src;
}

async function start(bootstrap: string[] = []): Promise<Node> {
  const n = await Node.start({ dataDir: tmp(), listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap, actorMode: 'inline' });
  nodes.push(n);
  return n;
}

describe('catalog on one node', () => {
  it('publishes a folder (nested, non-ASCII names), finds its items, re-publishes with seq + 1 without re-hashing, keeps it all across a restart', async () => {
    const src = makeFolder();
    const dataDir = tmp();
    let a = await Node.start({ dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', actorMode: 'inline' });
    nodes.push(a);
    const events: NodeEvent[] = [];
    a.events$.subscribe((e) => events.push(e));

    const pub = await a.publishFolder(src, { title: 'Holiday archive', description: 'trip photos and notes', visibility: 'public' });
    expect(pub.shareId).toBe(a.id.shareId); // the default publisher is the node's default share
    expect(pub.seq).toBe(1n);
    const items = await a.listShareItems(pub.shareId);
    expect(items.map((i) => i.path).sort()).toEqual(Object.keys(FILES).sort());
    const tower = items.find((i) => i.name === '東京タワー.png');
    expect(tower).toMatchObject({ mime: 'image/png', size: 262_144n, chunkCount: 1 });
    expect(tower?.tags).toEqual(['photos', '2026', 'png']);

    expect((await a.search('sunset')).hits.map((h) => h.name)).toContain('sunset-beach.jpg');
    expect((await a.search('ÜBERSICHT')).hits.length).toBe(1);
    expect((await a.search('nonexistentword')).hits).toEqual([]);
    const own = await a.listOwnShares();
    expect(own).toMatchObject([{ shareId: pub.shareId, seq: 1n, title: 'Holiday archive', visibility: 'public', items: 5, publisher: 'default' }]);
    expect(events.some((e) => e.type === 'ManifestUpdated' && e.shareId === pub.shareId && e.own)).toBe(true);
    expect(events.some((e) => e.type === 'SearchIndexUpdated' && e.added === 5)).toBe(true);
    const firstProgress = events.filter((e) => e.type === 'PublishProgress').at(-1);
    expect(firstProgress).toMatchObject({ filesDone: 5, filesTotal: 5, hashed: 5, cached: 0 });

    fs.writeFileSync(path.join(src, 'notes/added-later.md'), 'second edition');
    events.length = 0;
    const pub2 = await a.publishFolder(src, { title: 'Holiday archive', visibility: 'public' });
    expect(pub2.seq).toBe(2n);
    expect(pub2.shareId).toBe(pub.shareId);
    expect(events.filter((e) => e.type === 'PublishProgress').at(-1)).toMatchObject({ filesDone: 6, hashed: 1, cached: 5 });
    expect((await a.search('added-later')).hits.length).toBe(1);

    // A second publisher label is a second share; the default share is untouched.
    const t = await a.publishText('Recipe', 'flour, water, salt', { publisher: 'kitchen' });
    expect(t.shareId).not.toBe(pub.shareId);
    expect(t.seq).toBe(1n);
    expect((await a.listShareItems(t.shareId)).map((i) => i.name)).toEqual(['Recipe.txt']);
    const resolved = await a.downloadItems(t.shareId, ['00'.repeat(32)], tmp()).catch((e) => e);
    expect(resolved).toMatchObject({ code: 'NOT_FOUND' });

    await a.stop();
    a = await Node.start({ dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', actorMode: 'inline' });
    nodes.push(a);
    expect((await a.listOwnShares()).map((s) => [s.publisher, s.seq]).sort()).toEqual([
      ['default', 2n],
      ['kitchen', 1n],
    ]);
    expect((await a.search('sunset')).hits.length).toBe(1);
    const t2 = await a.publishText('Recipe', 'flour, water, salt, yeast', { publisher: 'kitchen' });
    expect(t2).toMatchObject({ shareId: t.shareId, seq: 2n });

    expect(await a.unpublish(t.shareId)).toEqual({ removed: true });
    expect((await a.listOwnShares()).map((s) => s.publisher)).toEqual(['default']);
    await expect(a.listShareItems(t.shareId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Publishing again after unpublish counts on from the last seq.
    expect((await a.publishText('Recipe', 'bread', { publisher: 'kitchen' })).seq).toBe(3n);
  });

  it('refuses bad input with clear errors', async () => {
    const a = await start();
    await expect(a.subscribe('xyz')).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(a.listShareItems('ab'.repeat(32))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(a.publishFolder(path.join(tmp(), 'missing'), { title: 't' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const sub = await a.subscribe('ab'.repeat(32), { trust: 'trusted' });
    expect(sub).toMatchObject({ trust: 'trusted', latestSeq: 0n });
    await expect(a.listShareItems('ab'.repeat(32))).rejects.toThrow(/not been synced/);
  });
});

// Two nodes need the session and DHT actors; until they land (no listener → no address), this is skipped.
describe('catalog across two nodes', () => {
  it('B subscribes by share id, syncs, searches, sees the re-publish', async (t) => {
    const a = await start();
    if (a.addresses().length === 0) {
      t.skip();
      return;
    }
    const b = await start(a.addresses());
    const src = makeFolder();
    const pub = await a.publishFolder(src, { title: 'Holiday archive', visibility: 'private' });
    await b.subscribe(pub.shareId);
    const r1 = await b.syncSubscriptions();
    expect(r1.updated).toEqual([{ shareId: pub.shareId, seq: 1n, manifestId: pub.manifestId }]);
    expect((await b.listShareItems(pub.shareId)).length).toBe(5);
    expect((await b.search('sunset')).hits.map((h) => h.name)).toEqual(['sunset-beach.jpg']);
    expect((await b.search('übersicht')).hits.length).toBe(1);

    fs.writeFileSync(path.join(src, 'notes/added-later.md'), 'second edition');
    const pub2 = await a.publishFolder(src, { title: 'Holiday archive', visibility: 'private' });
    expect(pub2.seq).toBe(2n);
    await b.syncSubscriptions();
    expect((await b.search('added-later')).hits.length).toBe(1);
    expect((await b.listSubscriptions())[0]).toMatchObject({ latestSeq: 2n, latestManifestId: pub2.manifestId });

    // Nothing newer: a second sync changes nothing. (Forged and rolled-back heads: test/actors/index/sync-run.test.ts,
    // until the DHT actor offers a way to plant one from a test.)
    const r3 = await b.syncSubscriptions();
    expect(r3.updated).toEqual([]);
    expect((await b.listSubscriptions())[0]).toMatchObject({ latestSeq: 2n });
  });
});
