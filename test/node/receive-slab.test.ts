/**
 * The shared receive slab (runtime/shared-chunk-slab.ts) between two real loopback nodes: chunk answers land in
 * it and go to the fetcher without a copy, and every slot comes back — after a download completes, after one is
 * paused and after one is cancelled mid-way with requests in flight (a slot lost there is lost for good).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Node } from '../../src/index.js';
import { nodeTestDirs, seederAndDownloader as twoNodes } from './node-test-helpers.js';

const { nodes, tmp } = nodeTestDirs('scp2p-slab-');
const MiB = 1 << 20;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function slotsOut(n: Node): Promise<number | undefined> {
  return (await n.status()).serve?.slabSlotsInUse;
}

const seederAndDownloader = (bytes: number): ReturnType<typeof twoNodes> => twoNodes({ nodes, tmp }, bytes);

describe('shared receive slab between loopback nodes', () => {
  it('slots all come back after a completed, a paused and a cancelled download; files are exact', async () => {
    const { root, data, seeder, dl, shareId, contentId } = await seederAndDownloader(48 * MiB + 777);
    await dl.subscribe(shareId);
    await dl.syncSubscriptions();

    // Completed.
    const out1 = path.join(root, 'out1');
    let most = 0;
    const sampler = setInterval(() => void slotsOut(dl).then((n) => (most = Math.max(most, n ?? 0))), 5);
    const [rec] = await dl.downloadItems(shareId, 'all', out1).finally(() => clearInterval(sampler));
    expect(rec!.state).toBe('completed');
    expect(most).toBeGreaterThan(0); // the answers did go through the slab
    expect(sha(fs.readFileSync(path.join(out1, 'big.bin')))).toBe(sha(data));
    await expect.poll(() => slotsOut(dl), { timeout: 5_000 }).toBe(0);

    // Paused and cancelled mid-way, with chunk answers on the wire (a download cap keeps it running long enough).
    for (const how of ['pause', 'cancel'] as const) {
      // The seeder's upload cap keeps the download running with the downloader's requests waiting on the wire.
      await seeder.setLimits({ maxUploadBps: 12 * MiB });
      const out = path.join(root, `out-${how}`);
      const id = await new Promise<string>((resolve, reject) => {
        const sub = dl.events$.subscribe((e) => {
          if (e.type === 'DownloadProgress' && e.bytesDone > 4n * BigInt(MiB)) {
            sub.unsubscribe();
            resolve(e.id);
          }
        });
        dl.downloadContent(contentId, path.join(out, 'big.bin')).catch((err: unknown) => {
          sub.unsubscribe();
          reject(err);
        });
      }).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      const r = how === 'pause' ? await dl.pauseDownload(id) : await dl.cancelDownload(id);
      expect(r.state).toBe(how === 'pause' ? 'paused' : 'cancelled');
      expect(r.bytesDone).toBeLessThan(BigInt(data.length));
      await expect.poll(() => slotsOut(dl), { timeout: 5_000 }).toBe(0);
      if (how === 'pause') {
        await seeder.setLimits({ maxUploadBps: null });
        await dl.resumeDownload(id);
        await expect.poll(async () => (await dl.listDownloads()).find((d) => d.id === id)?.state, { timeout: 60_000 }).toBe('completed');
        expect(sha(fs.readFileSync(path.join(out, 'big.bin')))).toBe(sha(data));
        await expect.poll(() => slotsOut(dl), { timeout: 5_000 }).toBe(0);
      }
    }
  }, 120_000);

  it('a fetcher that crashes mid-download with chunks lent to it gets them reclaimed; the download resumes and completes', async () => {
    const { root, data, seeder, dl, contentId } = await seederAndDownloader(64 * MiB + 12_345);
    await seeder.setLimits({ maxUploadBps: 16 * MiB }); // still running when the crash comes
    const out = path.join(root, 'out', 'big.bin');
    let lentAtCrash = 0;
    const crashed = new Promise<void>((resolve) => {
      const sub = dl.events$.subscribe((e) => {
        if (e.type === 'DownloadProgress' && e.bytesDone > 8n * BigInt(MiB)) {
          sub.unsubscribe();
          void slotsOut(dl)
            .then((n) => (lentAtCrash = n ?? 0))
            .then(() => dl.debug.crashActor('fetcher', 'exit'))
            .then(() => resolve());
        }
      });
    });
    // The call fails with the crash; the download resumes by itself once the fetcher is back.
    const first = dl.downloadContent(contentId, out, { peers: seeder.addresses() }).catch((e: unknown) => e);
    await crashed;
    await first;
    await seeder.setLimits({ maxUploadBps: null });
    await expect.poll(async () => (await dl.listDownloads()).find((d) => d.contentId === contentId)?.state, { timeout: 60_000, interval: 200 }).toBe('completed');
    expect(sha(fs.readFileSync(out))).toBe(sha(data));
    expect(lentAtCrash).toBeGreaterThan(0);
    await expect.poll(() => slotsOut(dl), { timeout: 5_000 }).toBe(0);
  }, 120_000);
});
