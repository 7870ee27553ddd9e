/**
 * Seeding: serves chunk i of a registered item, bytes [i·262144, min((i+1)·262144, size)), from its file on
 * disk by positional reads into pooled 256 KiB buffers — never a whole file in memory. Per-peer concurrency
 * caps (a bounded wait queue, then LIMIT), an optional bandwidth cap (TokenBucket on the injected clock) and
 * a small LRU of open file handles.
 *
 * A read returns a lease: send `bytes`, then `release()` the buffer to the pool. If the buffer was transferred
 * to another thread (its ArrayBuffer detached), release() simply drops it.
 */
import { constants as FS } from 'node:fs';
import type { Clock } from '../runtime/clock.js';
import { ScpError } from '../../errors.js';
import { CHUNK_SIZE, chunkCountForSize } from '../../protocol/content.js';
import { ErrorText } from '../../protocol/registry.js';
import { allocChunkData, chunkDataCodec } from '../../protocol/transfer-messages.js';
import { openFile, readFull, type FileHandleLike, type OpenFile } from './file-writer.js';
import { fsError } from './fs-errors.js';
import type { BandwidthGate } from './transfer-limits.js';

/** The reference's wire text for a chunk it cannot serve (PROTOCOL.md §8.1). */
export const CHUNK_NOT_FOUND_TEXT = 'chunk not found';

export interface ChunkLease {
  bytes: Uint8Array;
  release(): void;
}

export interface ChunkReaderInit {
  /** Reads in progress per peer. Default 4. */
  maxPerPeer?: number;
  /** Reads waiting per peer beyond that; more are refused with LIMIT. Default 64. */
  maxQueuedPerPeer?: number;
  /** Open file handles kept (least recently used closed first). Default 64. */
  maxOpenFiles?: number;
  /** Free chunk buffers kept for reuse. Default 16. */
  poolSize?: number;
  /** Optional cap on bytes served per second (a TokenBucket, or the live UploadGate: global and per peer). */
  bandwidth?: BandwidthGate;
  open?: OpenFile;
}

export interface ChunkReaderComponents {
  clock: Clock;
}

interface Entry {
  path: string;
  size: number;
  fh?: Promise<FileHandleLike>;
}

interface PeerSlots {
  active: number;
  waiting: (() => void)[];
}

/**
 * GET_CHUNK answered from disk: chunk `index` of `contentIdHex` read straight into the exact-size CHUNK_DATA reply
 * that `alloc` provides (no copy of the chunk), or the reference's error text (§8.1). Used by the fetcher and by the
 * session's copy of its serve table (session/chunk-server.ts).
 */
export async function readChunkData(
  reader: ChunkReader,
  peer: string,
  contentId: Uint8Array,
  contentIdHex: string,
  index: number,
  alloc?: (size: number) => Uint8Array,
): Promise<{ payload: Uint8Array; chunkBytes: number } | { error: string }> {
  let payload: Uint8Array | undefined;
  const into = (len: number): Uint8Array => {
    const r = allocChunkData(contentId, index, len, alloc);
    payload = r.payload;
    return r.bytes;
  };
  let lease: ChunkLease;
  try {
    lease = await reader.read(peer, contentIdHex, index, into);
  } catch (err) {
    return { error: err instanceof ScpError && err.code === 'LIMIT' ? ErrorText.CHUNK_RATE_LIMITED : ErrorText.CHUNK_NOT_FOUND };
  }
  try {
    // A reader that ignored `into` handed back its own buffer: one copy into the reply.
    return { payload: payload ?? chunkDataCodec.encode({ contentId, chunkIndex: index, bytes: lease.bytes }), chunkBytes: lease.bytes.length };
  } finally {
    lease.release();
  }
}

export class ChunkBufferPool {
  readonly #free: Uint8Array[] = [];
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  acquire(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(CHUNK_SIZE);
  }
  release(buf: Uint8Array): void {
    // A transferred buffer is detached (byteLength 0): nothing to keep.
    if (buf.buffer.byteLength === CHUNK_SIZE && buf.byteOffset === 0 && this.#free.length < this.#max) this.#free.push(buf);
  }
  get free(): number {
    return this.#free.length;
  }
}

export class ChunkReader {
  readonly pool: ChunkBufferPool;
  readonly #clock: Clock;
  readonly #open: OpenFile;
  readonly #maxPerPeer: number;
  readonly #maxQueued: number;
  readonly #maxOpen: number;
  readonly #bandwidth: BandwidthGate | undefined;
  readonly #items = new Map<string, Entry>();
  /** Content ids with an open handle, least recently used first. */
  readonly #lru = new Set<string>();
  readonly #peers = new Map<string, PeerSlots>();

  constructor(components: ChunkReaderComponents, init: ChunkReaderInit = {}) {
    this.#clock = components.clock;
    this.#open = init.open ?? openFile;
    this.#maxPerPeer = Math.max(1, init.maxPerPeer ?? 4);
    this.#maxQueued = Math.max(0, init.maxQueuedPerPeer ?? 64);
    this.#maxOpen = Math.max(1, init.maxOpenFiles ?? 64);
    this.#bandwidth = init.bandwidth;
    this.pool = new ChunkBufferPool(init.poolSize ?? 16);
  }

  /** Makes `contentId` (hex) servable from `path`, whose size must be `size`. */
  register(contentId: string, path: string, size: number): void {
    const old = this.#items.get(contentId);
    if (old && old.path === path && old.size === size) return;
    if (old) void this.unregister(contentId);
    this.#items.set(contentId, { path, size });
  }

  /** Stops serving `contentId` (stopSeeding) and closes its file. */
  async unregister(contentId: string): Promise<void> {
    const e = this.#items.get(contentId);
    this.#items.delete(contentId);
    this.#lru.delete(contentId);
    if (e?.fh) await e.fh.then((fh) => fh.close(), () => undefined).catch(() => undefined);
  }

  has(contentId: string): boolean {
    return this.#items.has(contentId);
  }

  contentIds(): string[] {
    return [...this.#items.keys()];
  }

  /** Reads inflight + waiting for `peer`. */
  load(peer: string): number {
    const s = this.#peers.get(peer);
    return s ? s.active + s.waiting.length : 0;
  }

  /**
   * Reads chunk `index`. With `into`, the bytes go straight into the view `into(length)` returns (exactly
   * `length` bytes, the caller's own memory) instead of a pooled buffer; the lease's release() is then a no-op.
   */
  async read(peer: string, contentId: string, index: number, into?: (length: number) => Uint8Array): Promise<ChunkLease> {
    const e = this.#items.get(contentId);
    if (!e || !Number.isInteger(index) || index < 0 || index >= chunkCountForSize(e.size)) {
      throw ScpError.notFound(CHUNK_NOT_FOUND_TEXT, { contentId, index });
    }
    await this.#acquire(peer);
    let buf: Uint8Array | undefined;
    try {
      const start = index * CHUNK_SIZE;
      const len = Math.min(CHUNK_SIZE, e.size - start);
      if (this.#bandwidth) {
        const wait = this.#bandwidth.reserve(len, this.#clock.now(), peer);
        if (wait > 0) await new Promise<void>((r) => this.#clock.setTimeout(r, wait));
      }
      const fh = await this.#handle(contentId, e);
      const target = into?.(len);
      if (target !== undefined && target.length !== len) throw ScpError.badInput(`read target must hold ${len} bytes, got ${target.length}`);
      if (target === undefined) buf = this.pool.acquire();
      try {
        await readFull(fh, target ?? (buf as Uint8Array), len, start);
      } catch (err) {
        // The file shrank or vanished under us: stop serving it rather than send wrong bytes.
        void this.unregister(contentId);
        if (err instanceof ScpError) throw ScpError.notFound(CHUNK_NOT_FOUND_TEXT, { contentId, index, why: err.message });
        throw fsError(err, 'reading', e.path);
      }
      if (target !== undefined) return { bytes: target, release: () => {} };
      const held = buf as Uint8Array;
      const bytes = held.subarray(0, len);
      let released = false;
      return {
        bytes,
        release: () => {
          if (released) return;
          released = true;
          this.pool.release(held);
        },
      };
    } catch (err) {
      if (buf) this.pool.release(buf);
      throw err;
    } finally {
      this.#releaseSlot(peer);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#items.keys()].map((id) => this.unregister(id)));
  }

  async #handle(contentId: string, e: Entry): Promise<FileHandleLike> {
    this.#lru.delete(contentId);
    this.#lru.add(contentId);
    if (!e.fh) {
      e.fh = (async () => {
        const fh = await this.#open(e.path, FS.O_RDONLY).catch((err: unknown) => {
          throw fsError(err, 'opening', e.path);
        });
        const st = await fh.stat({ bigint: true });
        if (Number(st.size) !== e.size) {
          await fh.close().catch(() => undefined);
          throw ScpError.notFound(CHUNK_NOT_FOUND_TEXT, { contentId, why: `${e.path} changed size (${st.size} ≠ ${e.size})` });
        }
        return fh;
      })();
      e.fh.catch(() => {
        if (this.#items.get(contentId) === e) e.fh = undefined; // retry the open next time
      });
      while (this.#lru.size > this.#maxOpen) {
        const oldest = this.#lru.values().next().value as string;
        this.#lru.delete(oldest);
        const o = this.#items.get(oldest);
        if (o?.fh) {
          const p = o.fh;
          o.fh = undefined;
          void p.then((fh) => fh.close(), () => undefined).catch(() => undefined);
        }
      }
    }
    return e.fh;
  }

  async #acquire(peer: string): Promise<void> {
    let s = this.#peers.get(peer);
    if (!s) {
      s = { active: 0, waiting: [] };
      this.#peers.set(peer, s);
    }
    if (s.active < this.#maxPerPeer) {
      s.active++;
      return;
    }
    if (s.waiting.length >= this.#maxQueued) {
      throw ScpError.limit(`peer ${peer} has ${s.active + s.waiting.length} chunk reads pending; refusing more`, { peer });
    }
    const slots = s;
    await new Promise<void>((resolve) => slots.waiting.push(resolve));
  }

  #releaseSlot(peer: string): void {
    const s = this.#peers.get(peer);
    if (!s) return;
    const next = s.waiting.shift();
    if (next) {
      next(); // the slot passes straight to the next waiter
      return;
    }
    s.active--;
    if (s.active === 0) this.#peers.delete(peer);
  }
}
