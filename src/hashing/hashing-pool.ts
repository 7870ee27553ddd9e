import fs from 'node:fs/promises';
import { Piscina } from 'piscina';
import { compiledUrl } from '../actors/runtime/compiled-url.js';
import { workerExecArgv } from '../actors/runtime/worker-exec-argv.js';
import { CHUNK_SIZE, HASH_SIZE } from './chunk-size.js';
import type { HashTask, HashTaskResult } from './hash-task-types.js';

export interface FileDigest {
  /** BLAKE3 of the whole file (its ContentId). */
  contentId: Uint8Array;
  /** BLAKE3 of each chunk, in order. */
  chunkHashes: Uint8Array[];
  size: bigint;
}

export interface HashingPoolOptions {
  threads?: number;
  /** Threads end after this long idle, so an idle node holds no hashing threads. */
  idleTimeoutMs?: number;
}

/**
 * BLAKE3 on a Piscina pool. The actors that hash (fetcher, index) each own one, created in their own thread,
 * so chunk bytes go actor -> pool worker -> actor by transfer and never through the main thread.
 */
/** Pool tasks running in this process: the deterministic simulator (src/sim/) waits for them before moving time. */
let tasksInFlight = 0;
export function hashTasksInFlight(): number {
  return tasksInFlight;
}

export class HashingPool {
  readonly #pool: Piscina<HashTask, HashTaskResult>;
  readonly threads: number;

  constructor(opts: HashingPoolOptions = {}) {
    this.threads = Math.max(1, opts.threads ?? 2);
    this.#pool = new Piscina({
      filename: compiledUrl('./hash-task.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: opts.idleTimeoutMs ?? 5_000,
      execArgv: workerExecArgv(),
    });
  }

  /** Hashes whole chunks laid out in `buffer[0, length)`; the buffer is transferred out and comes back. */
  async hashChunks(buffer: ArrayBuffer, length = buffer.byteLength, chunkSize = CHUNK_SIZE, signal?: AbortSignal): Promise<{ hashes: Uint8Array; buffer: ArrayBuffer }> {
    const r = await this.#run({ kind: 'chunks', buffer, length, chunkSize }, { transferList: [buffer], ...(signal ? { signal } : {}) });
    if (r.kind !== 'chunks') throw new Error('hashing pool answered the wrong task kind');
    return { hashes: new Uint8Array(r.hashes), buffer: r.buffer };
  }

  /** ContentId and chunk hashes of a file in one streaming pass (one thread: the whole-file hash is sequential). */
  async hashFile(path: string, chunkSize = CHUNK_SIZE, signal?: AbortSignal): Promise<FileDigest> {
    const r = await this.#run({ kind: 'file', path, chunkSize, contentHash: true }, signal ? { signal } : {});
    if (r.kind !== 'file' || !r.contentId) throw new Error('hashing pool answered the wrong task kind');
    return { contentId: new Uint8Array(r.contentId), chunkHashes: split(new Uint8Array(r.chunkHashes)), size: BigInt(r.size) };
  }

  /** Chunk hashes only, the file's chunk ranges spread over every pool thread (verification of a download). */
  async hashFileChunks(path: string, chunkSize = CHUNK_SIZE, signal?: AbortSignal): Promise<Uint8Array[]> {
    const size = (await fs.stat(path)).size;
    const total = Math.ceil(size / chunkSize);
    const per = Math.max(1, Math.ceil(total / (this.threads * 4)));
    const parts: Promise<HashTaskResult>[] = [];
    for (let first = 0; first < total; first += per) {
      const task: HashTask = { kind: 'file', path, chunkSize, firstChunk: first, endChunk: Math.min(total, first + per), contentHash: false };
      parts.push(this.#run(task, signal ? { signal } : {}));
    }
    const out: Uint8Array[] = [];
    for (const r of await Promise.all(parts)) if (r.kind === 'file') out.push(...split(new Uint8Array(r.chunkHashes)));
    return out;
  }

  async #run(task: HashTask, opts: Parameters<Piscina<HashTask, HashTaskResult>['run']>[1]): Promise<HashTaskResult> {
    tasksInFlight++;
    try {
      return await this.#pool.run(task, opts);
    } finally {
      tasksInFlight--;
    }
  }

  close(): Promise<void> {
    return this.#pool.destroy();
  }
}

function split(all: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += HASH_SIZE) out.push(all.subarray(i, i + HASH_SIZE));
  return out;
}
