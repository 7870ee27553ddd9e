/**
 * ChunkServer (actors/session/chunk-server.ts): the session's copy of the fetcher's serve table. It answers
 * GET_CHUNK with the file's exact bytes while it holds the item and no upload cap is set, and says "not mine"
 * (undefined: the fetcher answers) otherwise; a model run checks that after any sequence of table updates.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ChunkServer } from '../../../src/actors/session/chunk-server.js';
import { systemClock } from '../../../src/actors/runtime/clock.js';
import type { ServableFile, ServeTableUpdate } from '../../../src/messages/session-mailbox.js';
import type { WireReply } from '../../../src/messages/wire.js';
import { fromHex, toHex } from '../../../src/protocol/bytes.js';
import { CHUNK_SIZE } from '../../../src/protocol/content.js';
import { ErrorText } from '../../../src/protocol/registry.js';
import { chunkDataCodec } from '../../../src/protocol/transfer-messages.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-chunk-server-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, size: number): { f: ServableFile; data: Buffer } {
  const data = randomBytes(size);
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return { f: { contentId: toHex(randomBytes(32)), path: p, size }, data };
}

function server(): { s: ChunkServer; served: number[] } {
  const served: number[] = [];
  return { s: new ChunkServer({ clock: systemClock, served: (n) => served.push(n) }), served };
}

const reset = (files: ServableFile[], direct = true, maxPerPeer = 8): ServeTableUpdate => ({ kind: 'reset', files, direct, maxPerPeer });

function payloadOf(r: WireReply | undefined): Uint8Array {
  if (!r || !('payload' in r)) throw new Error(`expected a payload, got ${JSON.stringify(r)}`);
  return r.payload;
}

function chunkOf(r: WireReply | undefined): { contentId: string; chunkIndex: number; bytes: Uint8Array } {
  const d = chunkDataCodec.decode(payloadOf(r));
  return { contentId: toHex(d.contentId), chunkIndex: d.chunkIndex, bytes: d.bytes };
}

describe('ChunkServer', () => {
  it('answers with the file bytes, the short last chunk included, and says "not mine" before the table comes', async () => {
    const { f, data } = file('a.bin', 2 * CHUNK_SIZE + 1_000);
    const { s, served } = server();
    const id = fromHex(f.contentId, 32);
    expect(s.serve('peer', id, 0)).toBeUndefined();
    await s.apply(reset([f]));
    for (const i of [0, 1, 2]) {
      const c = chunkOf(await s.serve('peer', id, i));
      expect(c.contentId).toBe(f.contentId);
      expect(c.chunkIndex).toBe(i);
      expect(Buffer.from(c.bytes).equals(data.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE))).toBe(true);
    }
    expect(served).toEqual([CHUNK_SIZE, CHUNK_SIZE, 1_000]);
    expect(s.servedHere).toBe(3);
    // Past the end: the reference's text, as the fetcher answers it.
    expect(await s.serve('peer', id, 3)).toEqual({ error: ErrorText.CHUNK_NOT_FOUND });
    // Content it does not hold: the fetcher's business.
    expect(s.serve('peer', randomBytes(32), 0)).toBeUndefined();
    await s.close();
    expect(s.serve('peer', id, 0)).toBeUndefined();
  });

  it('passes everything to the fetcher while an upload cap is set, and takes it back when lifted', async () => {
    const { f } = file('b.bin', CHUNK_SIZE);
    const { s } = server();
    const id = fromHex(f.contentId, 32);
    await s.apply(reset([f], false));
    expect(s.serve('peer', id, 0)).toBeUndefined();
    await s.apply({ kind: 'change', direct: true });
    expect(chunkOf(await s.serve('peer', id, 0)).chunkIndex).toBe(0);
    await s.apply({ kind: 'change', direct: false });
    expect(s.serve('peer', id, 0)).toBeUndefined();
    await s.close();
  });

  it('a reply buffer given back after the write is used again; one not given back is not', async () => {
    const { f } = file('c.bin', 3 * CHUNK_SIZE);
    const { s } = server();
    const id = fromHex(f.contentId, 32);
    await s.apply(reset([f]));
    const first = payloadOf(await s.serve('peer', id, 0));
    expect(s.owns(first)).toBe(true);
    s.giveBack(first);
    expect(s.owns(first)).toBe(false);
    s.giveBack(first); // twice: ignored (a buffer is pooled once)
    const second = payloadOf(await s.serve('peer', id, 1));
    const third = payloadOf(await s.serve('peer', id, 2));
    expect(second.buffer).toBe(first.buffer);
    expect(third.buffer).not.toBe(first.buffer);
    expect(s.owns(new Uint8Array(16))).toBe(false);
    await s.close();
  });

  it('a reply lent to a serve thread leaves the pool until its buffer is recycled, then is used again', async () => {
    const { f } = file('l.bin', 2 * CHUNK_SIZE);
    const { s } = server();
    const id = fromHex(f.contentId, 32);
    await s.apply(reset([f]));
    const lent = payloadOf(await s.serve('peer', id, 0));
    expect(s.lend(lent)).toBe(true);
    expect(s.lend(lent)).toBe(false); // lent once
    expect(s.owns(lent)).toBe(false); // and not given back by the write path as well
    s.recycle([new ArrayBuffer(1_000)]); // not of the pool's size: dropped
    s.recycle([lent.buffer as ArrayBuffer]);
    expect(payloadOf(await s.serve('peer', id, 1)).buffer).toBe(lent.buffer);
    await s.close();
  });

  it('a file that shrank is not served (no wrong bytes), and a peer past its queue is refused as rate limited', async () => {
    const { f } = file('d.bin', 4 * CHUNK_SIZE);
    const { s } = server();
    const id = fromHex(f.contentId, 32);
    await s.apply(reset([f], true, 1));
    fs.truncateSync(f.path, CHUNK_SIZE);
    expect(await s.serve('peer', id, 3)).toEqual({ error: ErrorText.CHUNK_NOT_FOUND });
    const { f: g } = file('e.bin', CHUNK_SIZE);
    await s.apply({ kind: 'change', set: [g] });
    // One read at a time per peer and 64 waiting: of 70 asked at once, 5 are refused; another peer is not.
    const gid = fromHex(g.contentId, 32);
    const replies = await Promise.all(Array.from({ length: 70 }, () => s.serve('greedy', gid, 0)));
    expect(replies.filter((r) => r && 'error' in r && r.error === ErrorText.CHUNK_RATE_LIMITED)).toHaveLength(5);
    expect(replies.filter((r) => r && 'payload' in r)).toHaveLength(65);
    expect(chunkOf(await s.serve('other', gid, 0)).chunkIndex).toBe(0);
    await s.close();
  });

  it('model: after any sequence of resets, sets, removals and cap changes it serves exactly what the table holds', async () => {
    const pool = Array.from({ length: 5 }, (_, i) => file(`m${i}.bin`, 1_000 + i));
    const update: fc.Arbitrary<ServeTableUpdate> = fc.oneof(
      fc.record({ kind: fc.constant('reset' as const), files: fc.subarray(pool.map((p) => p.f)), direct: fc.boolean(), maxPerPeer: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('change' as const), set: fc.subarray(pool.map((p) => p.f)), remove: fc.subarray(pool.map((p) => p.f.contentId)) }),
      fc.record({ kind: fc.constant('change' as const), direct: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(update, { maxLength: 12 }), async (updates) => {
        const { s } = server();
        const held = new Set<string>();
        let direct = false;
        // Updates land in the order sent, without waiting for files to close (as the session applies them).
        const applied: Promise<void>[] = [];
        for (const u of updates) {
          applied.push(s.apply(u));
          if (u.kind === 'reset') {
            held.clear();
            for (const f of u.files) held.add(f.contentId);
          } else {
            for (const f of u.set ?? []) held.add(f.contentId);
            for (const id of u.remove ?? []) held.delete(id);
          }
          if (u.direct !== undefined) direct = u.direct;
        }
        await Promise.all(applied);
        for (const { f, data } of pool) {
          const r = s.serve('p', fromHex(f.contentId, 32), 0);
          if (!direct || !held.has(f.contentId)) {
            expect(r).toBeUndefined();
            continue;
          }
          expect(Buffer.from(chunkOf(await r).bytes).equals(data)).toBe(true);
        }
        await s.close();
      }),
      { numRuns: 60 },
    );
  });
});
