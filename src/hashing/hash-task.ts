import fs from 'node:fs/promises';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { blake3, blake3Hasher } from '../protocol/hash.js';
import { HASH_SIZE } from './chunk-size.js';
import type { HashTask, HashTaskResult } from './hash-task-types.js';

/**
 * Runs in a Piscina worker. Chunks are hashed one by one; a whole file streams through one reused read buffer,
 * so memory stays constant for any file size. BLAKE3 comes from protocol/hash.ts (native where it loads, else
 * WASM fed in slices of at most 1 MiB).
 */

let readBuffer: Buffer | undefined;

export default async function hashTask(task: HashTask): Promise<unknown> {
  if (task.kind === 'chunks') {
    const bytes = new Uint8Array(task.buffer, 0, task.length);
    const n = Math.ceil(task.length / task.chunkSize);
    const hashes = new Uint8Array(n * HASH_SIZE);
    for (let i = 0; i < n; i++) {
      hashes.set(blake3(bytes.subarray(i * task.chunkSize, Math.min(task.length, (i + 1) * task.chunkSize))), i * HASH_SIZE);
    }
    const value: HashTaskResult = { kind: 'chunks', buffer: task.buffer, hashes: hashes.buffer };
    return move({ [transferableSymbol]: [task.buffer, hashes.buffer], [valueSymbol]: value } as never);
  }

  const fh = await fs.open(task.path, 'r');
  try {
    const size = (await fh.stat()).size;
    const totalChunks = Math.ceil(size / task.chunkSize);
    const first = task.firstChunk ?? 0;
    const end = Math.min(task.endChunk ?? totalChunks, totalChunks);
    if (!readBuffer || readBuffer.length !== task.chunkSize) readBuffer = Buffer.allocUnsafe(task.chunkSize);
    const hashes = new Uint8Array(Math.max(0, end - first) * HASH_SIZE);
    const whole = task.contentHash ? blake3Hasher() : undefined;
    for (let i = first; i < end; i++) {
      const want = Math.min(task.chunkSize, size - i * task.chunkSize);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(readBuffer, got, want - got, i * task.chunkSize + got);
        if (bytesRead === 0) throw new Error(`${task.path} shrank while being hashed`);
        got += bytesRead;
      }
      const chunk = readBuffer.subarray(0, want);
      hashes.set(blake3(chunk), (i - first) * HASH_SIZE);
      whole?.update(chunk);
    }
    const contentId = whole ? (whole.digest().slice().buffer as ArrayBuffer) : null;
    const value: HashTaskResult = { kind: 'file', size, chunkHashes: hashes.buffer, contentId };
    return move({ [transferableSymbol]: contentId ? [hashes.buffer, contentId] : [hashes.buffer], [valueSymbol]: value } as never);
  } finally {
    await fh.close();
  }
}
