/**
 * Real loopback networks bootstrapped as a chain (issue 6): node i knows only node i−1 at start; the DHT's
 * self-lookups must fill every routing table, and the far end must find what the near end stored.
 *  - through the public Node API: a share published at the near end is synced at the far end (head + manifest);
 *  - through the Supervisor (the Node facade has no DHT door yet): routing-table sizes from `dht.stats`, a head
 *    put at the near end found by `getShareHead` from the far end, and the routing table and values coming back
 *    from lmdb after the DHT actor's worker exits.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/actors/runtime/clock.js';
import { shareHeadKey } from '../../src/protocol/dht-keys.js';
import { shareIdFromPubkey } from '../../src/protocol/ids.js';
import { publicKeyFromSeed } from '../../src/protocol/keys.js';
import { encodeShareHead, signShareHead } from '../../src/protocol/share-head.js';
import { Node } from '../../src/node.js';
import { DEFAULT_LIMITS, Supervisor } from '../../src/supervisor.js';

const N = 12;
let base: string;
let dirs = 0;
const nodes: Node[] = [];
const sups: Supervisor[] = [];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'scp2p-e2e-dht-'));
});
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => undefined)));
  await Promise.all(sups.splice(0).map((s) => s.stop().catch(() => undefined)));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() - t0 > ms) return v;
    await sleep(250);
  }
}

async function startSupervisor(dataDir: string, bootstrap: string[], dht: Record<string, unknown> = {}): Promise<Supervisor> {
  const sup = new Supervisor({
    dataDir,
    mode: 'worker',
    clock: systemClock,
    seed: dirs,
    limits: DEFAULT_LIMITS,
    actorConfig: {
      index: { hashThreads: 1 },
      fetcher: { hashThreads: 1 },
      session: { listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap },
      dht,
    },
  });
  await sup.start();
  sups.push(sup);
  return sup;
}

describe('DHT over a 12-node loopback chain', () => {
  it('public API: the far end syncs a share published at the near end, found through the DHT alone', async () => {
    for (let i = 0; i < N; i++) {
      const bootstrap = i ? nodes[i - 1]!.addresses().filter((a) => a.startsWith('tcp://')) : [];
      nodes.push(await Node.start({ dataDir: join(base, `node-${dirs++}`), listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap, hashThreads: 1 }));
    }
    await sleep(2_000);
    const pub = await nodes[0]!.publishText('far share', 'hello from the near end', { visibility: 'private' });
    const far = nodes[N - 1]!;
    await far.subscribe(pub.shareId);
    await far.syncSubscriptions();
    const items = await far.listShareItems(pub.shareId);
    expect(items).toHaveLength(1);
  });

  it('routing tables fill from a chain; a head put at the near end is found from the far end; the table survives a DHT crash', async () => {
    for (let i = 0; i < N; i++) {
      const bootstrap = i ? (await sups[i - 1]!.request('session', { type: 'addresses' })).filter((a) => a.startsWith('tcp://')) : [];
      // The middle node saves often and, once restarted, does not re-join for a minute: what it knows then is
      // what it reloaded from lmdb (its peers joined through the session's contact reports at start).
      const mid = i === N >> 1;
      await startSupervisor(join(base, `sup-${dirs++}`), bootstrap, mid ? { saveEveryMs: 200, joinDelayMs: 60_000 } : {});
    }
    const sizes = await until(
      () => Promise.all(sups.map(async (s) => (await s.request('dht', { type: 'stats' })).routingTableSize)),
      (v) => v.every((n) => n === N - 1),
      15_000,
    );
    expect(sizes).toEqual(Array(N).fill(N - 1));

    const seed = new Uint8Array(32).fill(42);
    const sharePubkey = publicKeyFromSeed(seed);
    const shareId = shareIdFromPubkey(sharePubkey);
    const head = signShareHead({ shareId, latestSeq: 7n, latestManifestId: new Uint8Array(32).fill(1), updatedAt: 1_700_000_000n }, seed);
    const put = await sups[0]!.request('dht', { type: 'put', key: shareHeadKey(shareId), value: encodeShareHead(head), replicate: true });
    expect(put.stored).toBe(N - 1); // fewer than K nodes: every other node is among the K closest
    const found = await sups[N - 1]!.request('dht', { type: 'getShareHead', shareId, sharePubkey });
    expect(found.head?.latestSeq).toBe(7n);

    // The middle node's DHT worker dies; the supervisor restarts it and it reloads its snapshot from lmdb.
    const mid = sups[N >> 1]!;
    const before = await mid.request('dht', { type: 'stats' });
    await sleep(500); // past one save period, so the snapshot on disk is current
    mid.crash('dht', 'exit');
    const restarts = (): number => mid.health().find((a) => a.name === 'dht')?.restarts ?? 0;
    const restartsBefore = restarts();
    await until(async () => mid.stateOf('dht') === 'running' && restarts() > restartsBefore, (ok) => ok, 15_000);
    // The first answer of the new incarnation: no lookup has run yet, so the table can only come from disk.
    const after = await until(
      () => mid.request('dht', { type: 'stats' }).catch(() => null),
      (s) => s !== null,
      15_000,
    );
    expect(restarts()).toBe(restartsBefore + 1);
    expect(after?.routingTableSize).toBe(before.routingTableSize);
    expect(after?.storedValues).toBeGreaterThanOrEqual(1);
  });
});
