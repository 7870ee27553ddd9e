/**
 * A corrupt-chunk seeder in a live swarm: a reference-format peer (test/interop/reference-peer.ts) that lists
 * the genuine chunk hashes but serves every chunk with a flipped byte, next to an honest seeding node. The
 * downloader verifies each chunk, penalises the liar (banned after `maxCorruptPerPeer` = 3 bad chunks) and
 * finishes from the honest seeder with every byte right; no corrupt byte ever reaches the target file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from '../../src/index.js';
import { fromHex } from '../../src/protocol/bytes.js';
import { describeContent } from '../../src/protocol/content.js';
import { FLAG_RESPONSE, type Envelope } from '../../src/protocol/envelope.js';
import { NO_CAPABILITIES } from '../../src/protocol/peer-addr.js';
import { MessageType } from '../../src/protocol/registry.js';
import { chunkDataCodec, chunkHashListCodec, getChunkCodec } from '../../src/protocol/transfer-messages.js';
import { RefServer } from '../interop/reference-peer.js';

const CHUNK = 256 * 1024;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a corrupt-chunk seeder in the swarm', () => {
  it('is penalised and routed around; the download completes from the honest seeder, verified', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-hostile-corrupt-'));
    cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
    const bytes = new Uint8Array(12 * CHUNK + 4_321);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >>> 13)) & 0xff;
    const file = path.join(root, 'file.bin');
    fs.writeFileSync(file, bytes);
    const d = describeContent(bytes);

    const honest = await Node.start({ dataDir: path.join(root, 'honest'), listen: { tcp: 0, quic: null }, host: '127.0.0.1' });
    cleanups.push(() => honest.stop());
    const pub = await honest.publishFiles([file], { title: 'swarm' });
    const [item] = await honest.listShareItems(pub.shareId);
    expect(fromHex(item!.contentId, 32)).toEqual(d.contentId);

    const liar = await RefServer.start({ capabilities: { ...NO_CAPABILITIES, contentSeed: true } });
    cleanups.push(() => liar.close());
    let liarChunks = 0;
    const ok = (env: Envelope, type: number, payload: Uint8Array): Envelope => ({ type, reqId: env.reqId, flags: FLAG_RESPONSE, payload });
    liar.handlers.set(MessageType.GET_CHUNK_HASHES, (env) => ok(env, MessageType.CHUNK_HASH_LIST, chunkHashListCodec.encode({ contentId: d.contentId, hashes: d.chunkHashes })));
    liar.handlers.set(MessageType.GET_CHUNK, (env) => {
      const q = getChunkCodec.decode(env.payload);
      liarChunks++;
      const chunk = bytes.slice(q.chunkIndex * CHUNK, Math.min(bytes.length, (q.chunkIndex + 1) * CHUNK));
      chunk[chunk.length >> 1] = chunk[chunk.length >> 1]! ^ 0x5a;
      return ok(env, MessageType.CHUNK_DATA, chunkDataCodec.encode({ contentId: d.contentId, chunkIndex: q.chunkIndex, bytes: chunk }));
    });

    const b = await Node.start({ dataDir: path.join(root, 'b'), listen: { tcp: 0, quic: null }, host: '127.0.0.1' });
    cleanups.push(() => b.stop());
    const out = path.join(root, 'out', 'file.bin');
    fs.mkdirSync(path.dirname(out));
    // The liar first, so it is certainly asked.
    const rec = await b.downloadContent(item!.contentId, out, { peers: [liar.url, honest.addresses()[0]!], timeoutMs: 60_000 });
    expect(rec.state).toBe('completed');
    expect(Buffer.compare(fs.readFileSync(out), Buffer.from(bytes))).toBe(0);
    expect(liarChunks).toBeGreaterThan(0); // it was in the swarm...
    expect(liarChunks).toBeLessThanOrEqual(3 + 8); // ...and banned after 3 bad chunks (plus what was already in flight)
    expect(fs.readdirSync(path.dirname(out))).toEqual(['file.bin']); // no partial file or bitmap left behind
    // Corrupt chunks were received into the shared slab like the rest; rejected, their slots went back all the same.
    await expect.poll(async () => (await b.status()).serve?.slabSlotsInUse, { timeout: 5_000 }).toBe(0);
  }, 90_000);
});
