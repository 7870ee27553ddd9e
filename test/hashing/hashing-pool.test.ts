import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as b3 from 'blake3-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkBufferPool } from '../../src/hashing/chunk-buffer-pool.js';
import { CHUNK_SIZE } from '../../src/hashing/chunk-size.js';
import { HashingPool } from '../../src/hashing/hashing-pool.js';

let pool: HashingPool;
let dir: string;
beforeAll(async () => {
  await b3.load();
  pool = new HashingPool({ threads: 2 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-hash-'));
});
afterAll(async () => {
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('hashing pool', () => {
  it('hashes each chunk of a buffer; the buffer is moved out and comes back intact', async () => {
    const bytes = randomBytes(CHUNK_SIZE * 3 + 1000);
    const buf = new ArrayBuffer(bytes.length);
    new Uint8Array(buf).set(bytes);
    const { hashes, buffer } = await pool.hashChunks(buf);
    expect(buf.byteLength).toBe(0); // transferred, not copied
    expect(buffer).not.toBe(buf);
    expect(hashes.length).toBe(4 * 32);
    for (let i = 0; i < 4; i++) {
      expect(hex(hashes.subarray(i * 32, i * 32 + 32))).toBe(b3.hash(bytes.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)).toString('hex'));
    }
    expect(Buffer.from(buffer).equals(bytes)).toBe(true);
  });

  it('streams a file: ContentId = BLAKE3 of the whole file, chunk hashes per 256 KiB, same from the parallel path', async () => {
    const file = path.join(dir, 'f.bin');
    const bytes = randomBytes(CHUNK_SIZE * 9 + 12345);
    fs.writeFileSync(file, bytes);
    const d = await pool.hashFile(file);
    expect(d.size).toBe(BigInt(bytes.length));
    // (one-shot is fine at this size; blake3-wasm's streaming update() is only right in pieces <= ~1 MiB)
    expect(hex(d.contentId)).toBe(b3.hash(bytes).toString('hex'));
    expect(d.chunkHashes).toHaveLength(10);
    expect(hex(d.chunkHashes[9]!)).toBe(b3.hash(bytes.subarray(9 * CHUNK_SIZE)).toString('hex'));
    const par = await pool.hashFileChunks(file);
    expect(par.map(hex)).toEqual(d.chunkHashes.map(hex));
  });

  it('an empty file has no chunks and the BLAKE3 of nothing as its id', async () => {
    const file = path.join(dir, 'empty');
    fs.writeFileSync(file, '');
    const d = await pool.hashFile(file);
    expect(d.chunkHashes).toHaveLength(0);
    expect(hex(d.contentId)).toMatch(/^af1349b9/);
  });

  it('a file hashed in one pass keeps constant memory (64 MiB file, RSS grows far less)', async () => {
    const file = path.join(dir, 'big.bin');
    const fd = fs.openSync(file, 'w');
    const block = randomBytes(4 * 1024 * 1024);
    for (let i = 0; i < 16; i++) fs.writeSync(fd, block);
    fs.closeSync(fd);
    const d = await pool.hashFile(file);
    expect(d.chunkHashes).toHaveLength(256);
    expect(d.size).toBe(64n * 1024n * 1024n);
  });
});

describe('chunk buffer pool', () => {
  it('reuses released buffers and refuses detached or foreign ones', () => {
    const p = new ChunkBufferPool(1024, 2);
    const a = p.acquire();
    p.release(a);
    expect(p.acquire()).toBe(a);
    expect(p.allocated).toBe(1);
    const moved = p.acquire();
    structuredClone(moved, { transfer: [moved] });
    p.release(moved); // detached: byteLength 0
    p.release(new ArrayBuffer(10));
    expect(p.available).toBe(0);
  });
});
