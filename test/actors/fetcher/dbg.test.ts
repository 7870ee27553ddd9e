import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { DownloadManager } from '../../../src/actors/fetcher/download-manager.js';
import { DownloadStore, MemoryKeyValue } from '../../../src/actors/fetcher/fetcher-store.js';
import { systemClock } from '../../../src/actors/runtime/clock.js';
import { createRandom } from '../../../src/actors/runtime/random.js';
import { toHex } from '../../../src/protocol/bytes.js';
import { CHUNK_SIZE, describeContent } from '../../../src/protocol/content.js';
import { fakeNetwork, makeSeeder } from './fake-seeders.js';
it('dbg', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dbg-'));
  const data = new Uint8Array(randomBytes(5 * CHUNK_SIZE + 1));
  const path = join(dir, 's.bin'); await writeFile(path, data);
  const desc = describeContent(data);
  const seeders = [makeSeeder(), makeSeeder()];
  for (const s of seeders) await s.service.seed({ contentId: toHex(desc.contentId), path, size: data.length });
  const net = fakeNetwork(seeders);
  const t0 = performance.now();
  const req: typeof net.request = async (p, t, pl, o) => { const t1 = performance.now(); try { return await net.request(p, t, pl, o); } finally { console.log('req', p.port, t, (t1 - t0).toFixed(1), (performance.now()-t1).toFixed(1)); } };
  const m = new DownloadManager({ clock: systemClock, random: createRandom(3), request: req, discover: async () => seeders.map((s) => s.addr), store: new DownloadStore(new MemoryKeyValue()), emit: (e) => console.log('ev', e.type, (performance.now() - t0).toFixed(1)), completed: async () => {} },
    { downloadDir: dir, maxConcurrentDownloads: 2, requestTimeoutMs: 2000, checkFreeSpace: false, policy: { failureBackoffBaseMs: 5, maxBackoffMs: 20, stallRoundMs: 10 }, flush: { maxDirtyChunks: 2, maxDirtyMs: 20 } });
  await m.downloadItems({ shareId: 'aa'.repeat(32), targetDir: join(dir, 'o'), items: [{ shareId: 'aa'.repeat(32), contentId: toHex(desc.contentId), name: 'a.bin', path: 'x/a.bin', size: BigInt(data.length), mime: null, tags: [], chunkCount: desc.chunkCount, chunkListHash: toHex(desc.chunkListHash) }] });
  console.log('total', performance.now() - t0);
});
