import { randomBytes } from 'node:crypto';
import * as b3 from 'blake3-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../../src/hashing/chunk-size.js';
import type { Supervisor } from '../../src/supervisor.js';
import { makeSupervisor } from './helpers/supervisor-harness.js';

let sup: Supervisor;
beforeAll(async () => {
  await b3.load();
  sup = makeSupervisor('worker').sup;
  await sup.start();
});
afterAll(() => sup.stop());

describe('bulk bytes between threads', () => {
  it('a chunk buffer moves main -> fetcher -> its hashing pool -> back, never copied on the way out', async () => {
    const bytes = randomBytes(CHUNK_SIZE * 2);
    const buffer = new ArrayBuffer(bytes.length);
    new Uint8Array(buffer).set(bytes);
    const p = sup.request('fetcher', { type: 'hashChunks', buffer, chunkSize: CHUNK_SIZE }, { transfer: [buffer] });
    expect(buffer.byteLength).toBe(0);
    const r = await p;
    expect(Buffer.from(r.hashes.subarray(0, 32)).toString('hex')).toBe(b3.hash(bytes.subarray(0, CHUNK_SIZE)).toString('hex'));
    expect(Buffer.from(r.buffer).equals(bytes)).toBe(true);
  });

  it('bounce returns the very bytes it was given', async () => {
    const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
    const r = await sup.request('fetcher', { type: 'bounce', buffer }, { transfer: [buffer] });
    expect([...new Uint8Array(r.buffer)]).toEqual([1, 2, 3, 4]);
  });
});
