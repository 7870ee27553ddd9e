/**
 * GET_CHUNK answered by the seeder's session from its copy of the fetcher's serve table (session/chunk-server.ts),
 * between two real loopback nodes: every chunk of a download is served there; an upload cap sends them through the
 * fetcher again; a crashed fetcher does not stop serving, a crashed session gets the table back; a stopped item is
 * no longer served by either.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Node } from '../../src/index.js';
import { CHUNK_SIZE } from '../../src/protocol/content.js';
import { nodeTestDirs, seederAndDownloader } from './node-test-helpers.js';

const { nodes, tmp } = nodeTestDirs('scp2p-session-serving-');

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function servedBySession(n: Node): Promise<number> {
  return (await n.status()).serve?.chunksServedBySession ?? -1;
}

const actorState = (n: Node, name: string): string | undefined => n.health().actors.find((a) => a.name === name)?.state;

describe('chunks served by the session', () => {
  it('serves from the table, yields to the fetcher under a cap, survives either actor crashing, stops when told', async () => {
    const size = 6 * CHUNK_SIZE + 4_321;
    const chunks = 7;
    const { root, data, seeder, dl, contentId } = await seederAndDownloader({ nodes, tmp }, size);
    let round = 0;
    const download = async (): Promise<void> => {
      const out = path.join(root, `out${round++}`, 'f.bin');
      const r = await dl.downloadContent(contentId, out, { peers: seeder.addresses() });
      expect(r.state).toBe('completed');
      expect(sha(fs.readFileSync(out))).toBe(sha(data));
    };

    await download();
    expect(await servedBySession(seeder)).toBe(chunks);

    // An upload cap is counted in the fetcher: the session passes every chunk on while it is set.
    await seeder.setLimits({ maxUploadBps: 64 * CHUNK_SIZE });
    await download();
    expect(await servedBySession(seeder)).toBe(chunks);
    await seeder.setLimits({ maxUploadBps: null });
    await download();
    expect(await servedBySession(seeder)).toBe(2 * chunks);

    // The fetcher crashes: the session goes on serving from its table, and the new fetcher's whole table keeps it.
    await seeder.debug.crashActor('fetcher', 'exit');
    await expect.poll(() => actorState(seeder, 'fetcher'), { timeout: 20_000 }).toBe('running');
    await download();
    expect(await servedBySession(seeder)).toBe(3 * chunks);

    // The session crashes: the new one starts with an empty table and asks the fetcher for it.
    await seeder.debug.crashActor('session', 'exit');
    await expect.poll(() => actorState(seeder, 'session'), { timeout: 20_000 }).toBe('running');
    await expect.poll(() => servedBySession(seeder), { timeout: 10_000 }).toBe(0);
    await download();
    expect(await servedBySession(seeder)).toBe(chunks);

    // Stopped: neither the session nor the fetcher serves it any more.
    expect((await seeder.stopSeeding(contentId)).stopped).toBe(true);
    const out = path.join(root, 'stopped', 'f.bin');
    await expect(dl.downloadContent(contentId, out, { peers: seeder.addresses(), timeoutMs: 15_000 })).rejects.toThrow();
    expect(await servedBySession(seeder)).toBe(chunks);
    expect(fs.existsSync(out)).toBe(false);
  }, 120_000);
});
