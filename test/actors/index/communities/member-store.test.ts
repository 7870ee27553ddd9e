/**
 * Persisted member directories: what the directory tells its sink reaches lmdb, a reload re-verifies it under the
 * same rules (expired and no-longer-admitted records are dropped from disk), leaving clears one community only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemberDirectory } from '../../../../src/actors/index/communities/member-directory.js';
import { openMemberStore } from '../../../../src/actors/index/communities/member-store.js';
import { toHex } from '../../../../src/protocol/bytes.js';
import { publicKeyFromSeed } from '../../../../src/protocol/keys.js';
import { openEnvironment } from '../../../../src/store/environment.js';
import { NOW, communityId, communityIdHex, communityPubkey, nodeSeed, record, tokenFor } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function env() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-members-'));
  const e = openEnvironment(dir);
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => e.close());
  return e;
}

const keys = (d: MemberDirectory, now: number): string[] => d.live(now).map((r) => toHex(r.memberNodePubkey));

describe('member store (index/community-members)', () => {
  it('a directory reloads from disk: live records back, expired ones dropped from the store, tombstones kept', async () => {
    const e = env();
    const store = openMemberStore(e);
    const mk = (epoch: bigint) => new MemberDirectory({ communityShareId: communityId, communityPubkey, epoch, sink: store.sink(communityIdHex) });
    const d = mk(1n);
    d.accept(record(1), NOW);
    d.accept(record(2, { ttl: 100 }), NOW);
    d.accept(record(3), NOW);
    d.accept(record(3, { issuedAt: NOW + 1, left: true }), NOW + 1); // replaces 3's join record on disk
    await e.flushed;
    expect(store.load(communityIdHex).map((r) => [toHex(r.memberNodePubkey), r.left])).toHaveLength(3);

    const again = mk(2n);
    expect(again.restore(store.load(communityIdHex), NOW + 200)).toEqual({ restored: 2, dropped: 1 }); // 2 expired
    expect(keys(again, NOW + 200)).toEqual([toHex(record(1).memberNodePubkey)]);
    expect(again.tombstones(NOW + 200).map((r) => toHex(r.memberNodePubkey))).toEqual([toHex(record(3).memberNodePubkey)]);
    await e.flushed;
    expect(store.load(communityIdHex)).toHaveLength(2);
    // a restored directory is a new epoch: old delta cursors reset, numbering starts again
    expect(again.delta(d.syncCursor(), 10, NOW + 200).reset).toBe(true);
  });

  it('clear forgets one community only; undecodable entries are deleted on load', async () => {
    const e = env();
    const store = openMemberStore(e);
    store.sink(communityIdHex).put('aa', record(1));
    store.sink('ff'.repeat(32)).put('bb', record(2));
    await e.openDB<Uint8Array, string>({ name: 'index/community-members' }).put(`${communityIdHex}:cc`, new Uint8Array([0xff, 0x00]));
    expect(store.load(communityIdHex)).toHaveLength(1);
    await e.flushed;
    await store.clear(communityIdHex);
    expect(store.load(communityIdHex)).toEqual([]);
    expect(store.load('ff'.repeat(32))).toHaveLength(1);
  });

  it('turning strict on drops join records without a token admitting their member, on disk too', async () => {
    const e = env();
    const store = openMemberStore(e);
    const d = new MemberDirectory({ communityShareId: communityId, communityPubkey, epoch: 1n, sink: store.sink(communityIdHex) });
    d.accept(record(1), NOW);
    d.accept(record(2, { token: tokenFor(publicKeyFromSeed(nodeSeed(2))) }), NOW);
    d.accept(record(3, { token: tokenFor(publicKeyFromSeed(nodeSeed(4))) }), NOW); // someone else's token
    d.setStrict(true, NOW);
    expect(keys(d, NOW)).toEqual([toHex(record(2).memberNodePubkey)]);
    await e.flushed;
    expect(store.load(communityIdHex).map((r) => toHex(r.memberNodePubkey))).toEqual([toHex(record(2).memberNodePubkey)]);
  });
});
