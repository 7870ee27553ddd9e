import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { contentToStopSeeding, publicShareList, type OwnShareRecord } from '../../../src/actors/index/own-shares.js';
import { describeRequest } from '../../../src/actors/index/publish-items.js';
import { describeFile } from '../../../src/actors/index/publish/describe-file.js';
import { HashCache, MemoryHashCacheStore } from '../../../src/actors/index/publish/hash-cache.js';
import { identityFromSeed } from '../../../src/actors/index/publish/publisher-keys.js';
import { PublisherStore } from '../../../src/actors/index/publisher-store.js';
import { handleWire } from '../../../src/actors/index/wire-handlers.js';
import { toHex } from '../../../src/protocol/bytes.js';
import { describeContent } from '../../../src/protocol/content.js';
import { ErrorText, MessageType } from '../../../src/protocol/registry.js';
import { listPublicSharesCodec, publicShareListCodec } from '../../../src/protocol/share-messages.js';
import { getManifestCodec, manifestDataCodec } from '../../../src/protocol/transfer-messages.js';
import { IdentityStore } from '../../../src/store/identity-store.js';

const base = mkdtempSync(path.join(tmpdir(), 'scp2p-index-helpers-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function own(shareId: string, over: Partial<OwnShareRecord> = {}): OwnShareRecord {
  return {
    shareId,
    sharePubkey: shareId,
    publisher: 'p',
    seq: '1',
    manifestId: 'aa'.repeat(32),
    title: `t${shareId.slice(0, 2)}`,
    description: null,
    visibility: 'public',
    items: 1,
    updatedAt: '100',
    head: new Uint8Array(),
    files: [],
    active: true,
    ...over,
  };
}

describe('own shares', () => {
  it('lists public active shares by updated_at desc, seq desc, share id asc, at least one entry', () => {
    const recs = [
      own('03'.repeat(32), { updatedAt: '100', seq: '1' }),
      own('01'.repeat(32), { updatedAt: '100', seq: '1' }),
      own('02'.repeat(32), { updatedAt: '100', seq: '5' }),
      own('04'.repeat(32), { updatedAt: '200' }),
      own('05'.repeat(32), { updatedAt: '300', visibility: 'private' }),
      own('06'.repeat(32), { updatedAt: '400', active: false }),
    ];
    expect(publicShareList(recs, 64).map((s) => toHex(s.shareId).slice(0, 2))).toEqual(['04', '02', '01', '03']);
    expect(publicShareList(recs, 0)).toHaveLength(1);
  });

  it('stops seeding only content no other active share of ours holds', () => {
    const f = (c: string) => ({ contentId: c, absPath: `/x/${c}`, size: '1' });
    const recs = [own('01'.repeat(32), { files: [f('a'), f('b')] }), own('02'.repeat(32), { files: [f('b')] }), own('03'.repeat(32), { files: [f('a')], active: false })];
    expect(contentToStopSeeding(recs, '01'.repeat(32), [f('a'), f('b'), f('a')])).toEqual(['a']);
  });
});

describe('wire handlers', () => {
  const mid = new Uint8Array(32).fill(5);
  const state = {
    manifestBytes: (id: string) => (id === toHex(mid) ? new Uint8Array([0xa0]) : undefined),
    ownShares: () => [own('01'.repeat(32)), own('02'.repeat(32), { visibility: 'private' })],
  };
  it('answers GET_MANIFEST from the cache, else the reference text', () => {
    const ok = handleWire(state, { messageType: MessageType.GET_MANIFEST, payload: getManifestCodec.encode({ manifestId: mid }) });
    expect('payload' in ok && manifestDataCodec.decode(ok.payload)).toEqual({ manifestId: mid, bytes: new Uint8Array([0xa0]) });
    const miss = handleWire(state, { messageType: MessageType.GET_MANIFEST, payload: getManifestCodec.encode({ manifestId: new Uint8Array(32) }) });
    expect(miss).toEqual({ error: ErrorText.MANIFEST_NOT_FOUND });
    expect('error' in handleWire(state, { messageType: MessageType.GET_MANIFEST, payload: new Uint8Array([0xff]) })).toBe(true);
  });
  it('answers LIST_PUBLIC_SHARES with our public shares only', () => {
    const r = handleWire(state, { messageType: MessageType.LIST_PUBLIC_SHARES, payload: listPublicSharesCodec.encode({ maxEntries: 64 }) });
    const list = 'payload' in r ? publicShareListCodec.decode(r.payload) : null;
    expect(list?.shares.map((s) => toHex(s.shareId))).toEqual(['01'.repeat(32)]);
  });
});

describe('describeRequest', () => {
  it('describes a folder with progress, from the cache the second time; text is written once and servable', async () => {
    const root = path.join(base, 'folder');
    mkdirSync(path.join(root, 'Ünter'), { recursive: true });
    writeFileSync(path.join(root, 'a.txt'), 'alpha');
    writeFileSync(path.join(root, 'Ünter', 'b.bin'), Buffer.alloc(300_000, 1));
    const cache = new HashCache(new MemoryHashCacheStore());
    const seen: number[] = [];
    const c = { cache, hash: (p: string) => describeFile(p), textDir: path.join(base, 'text'), onProgress: (p: { filesDone: number }) => seen.push(p.filesDone) };
    const r1 = await describeRequest({ kind: 'folder', dir: root, title: 't' }, c);
    expect(r1.files.map((f) => f.item.path)).toEqual(['a.txt', 'Ünter/b.bin']);
    expect(r1.files[1]?.chunkHashes).toHaveLength(2);
    expect(seen).toEqual([0, 1, 2]);
    const r2 = await describeRequest({ kind: 'folder', dir: root, title: 't' }, c);
    expect(r2.progress).toMatchObject({ hashed: 0, cached: 2 });

    const t = await describeRequest({ kind: 'text', title: 'Note', text: 'héllo' }, c);
    const want = describeContent(new TextEncoder().encode('héllo'));
    expect(toHex(t.files[0]!.item.contentId)).toBe(toHex(want.contentId));
    expect(readFileSync(t.files[0]!.absPath, 'utf8')).toBe('héllo');
  });

  it('refuses a folder beyond 3,000 files before hashing, with a LIMIT error that says how to split', async () => {
    const root = path.join(base, 'many');
    for (const d of ['x', 'y']) {
      mkdirSync(path.join(root, d), { recursive: true });
      for (let i = 0; i < 1_600; i++) writeFileSync(path.join(root, d, `${i}.txt`), '');
    }
    let hashed = 0;
    const c = { cache: new HashCache(new MemoryHashCacheStore()), hash: (p: string) => (hashed++, describeFile(p)), textDir: base };
    const err = await describeRequest({ kind: 'folder', dir: root, title: 't' }, c).catch((e) => e);
    expect(err).toMatchObject({ code: 'LIMIT' });
    expect(err.message).toMatch(/Split it into 2 shares/);
    expect(hashed).toBe(0);
  });
});

describe('PublisherStore', () => {
  it('uses the persistence-owned default key, keeps labelled keys encrypted at rest and reads them back', () => {
    const env = open({ path: path.join(base, 'db'), maxDbs: 16, compression: false });
    try {
      const identity = new IdentityStore(env, undefined).loadOrCreate();
      const s = PublisherStore.open(env, undefined, 0);
      expect(s.ring.identities.map((i) => i.shareId)).toEqual([identity.shareId]);
      const seed = new Uint8Array(32).fill(42);
      s.add(identityFromSeed('music', seed, 5n), (n) => new Uint8Array(n).fill(1));
      const raw = env.openDB({ name: 'index/publishers' }).get('music') as { secret: { ciphertext: Uint8Array } };
      expect(Buffer.from(raw.secret.ciphertext).includes(Buffer.from(seed))).toBe(false);
      const again = PublisherStore.open(env, undefined, 0);
      expect(again.ring.identities.find((i) => i.label === 'music')?.seed).toEqual(seed);
    } finally {
      env.close();
    }
  });
});
