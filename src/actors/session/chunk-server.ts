/**
 * GET_CHUNK answered in the session's own thread, from the file on disk, without the hop to the fetcher.
 *
 * What is seeded stays the fetcher's business (SeedService, lmdb `fetcher/seeds`); the fetcher sends us a copy of
 * its serve table (contentId → path and size, `ServeTableUpdate`) and we read chunks with the same ChunkReader,
 * per-peer caps included. Serving a chunk through the fetcher cost its thread two messages, a wake-up and its
 * JavaScript per chunk: 0.25–0.3 CPU-s per GiB served (20% of a seeder), and more in a first run, where the
 * fetcher's code has to be compiled too.
 *
 * `serve` returns undefined when we have no say, and the request then goes to the fetcher as before:
 *   - the content is not in our table (an item seeded a moment ago, or a session restarted before the table came);
 *   - an upload cap is set (`direct: false`): caps and their accounting live in the fetcher alone.
 * A table that is behind the fetcher's is therefore never wrong, only slower, except for removals, which the fetcher
 * waits for (stopSeeding) before it answers.
 */
import type { WireReply } from '../../messages/wire.js';
import type { ServeTableUpdate } from '../../messages/session-mailbox.js';
import { toHex } from '../../protocol/bytes.js';
import { ChunkBufferPool } from '../runtime/chunk-buffer-pool.js';
import type { Clock } from '../runtime/clock.js';
import { ChunkReader, readChunkData } from '../fetcher/chunk-reader.js';

/** Until the fetcher's table says otherwise (its `seedMaxPerPeer` default). */
const DEFAULT_MAX_PER_PEER = 8;

export interface ChunkServerComponents {
  clock: Clock;
  /** Counts a chunk answered with its bytes (metrics: the TransferStats event). */
  served(bytes: number): void;
}

export class ChunkServer {
  readonly #c: ChunkServerComponents;
  #reader: ChunkReader;
  #direct = false;
  #maxPerPeer = DEFAULT_MAX_PER_PEER;
  /** CHUNK_DATA replies are read into these and come back once the socket has taken them (`giveBack`). */
  readonly #replies = new ChunkBufferPool(32);
  readonly #sent = new WeakSet<ArrayBufferLike>();
  #servedHere = 0;

  constructor(components: ChunkServerComponents) {
    this.#c = components;
    this.#reader = new ChunkReader({ clock: components.clock }, { maxPerPeer: this.#maxPerPeer });
  }

  /** Chunks answered here since start (`status().serve.chunksServedBySession`). */
  get servedHere(): number {
    return this.#servedHere;
  }

  /**
   * Applies the fetcher's table: a whole one, or changes to it. The table changes at once, in the order updates
   * come; only the closing of files waits.
   */
  apply(u: ServeTableUpdate): Promise<void> {
    const closing: Promise<void>[] = [];
    if (u.kind === 'reset') {
      if (u.maxPerPeer !== this.#maxPerPeer) {
        // The per-peer cap is fixed in a ChunkReader; it changes only with the fetcher's config.
        closing.push(this.#reader.close());
        this.#maxPerPeer = u.maxPerPeer;
        this.#reader = new ChunkReader({ clock: this.#c.clock }, { maxPerPeer: u.maxPerPeer });
      }
      // Items kept keep their open file (and the reads under way on it).
      const keep = new Set(u.files.map((f) => f.contentId));
      for (const id of this.#reader.contentIds()) if (!keep.has(id)) closing.push(this.#reader.unregister(id));
    }
    for (const f of u.kind === 'reset' ? u.files : (u.set ?? [])) this.#reader.register(f.contentId, f.path, f.size);
    if (u.kind === 'change') for (const id of u.remove ?? []) closing.push(this.#reader.unregister(id));
    if (u.direct !== undefined) this.#direct = u.direct;
    return Promise.all(closing).then(() => undefined);
  }

  /** The answer to GET_CHUNK(contentId, index) from `peer` (a NodeId), or undefined: ask the fetcher. */
  serve(peer: string, contentId: Uint8Array, index: number): Promise<WireReply> | undefined {
    if (!this.#direct) return undefined;
    const id = toHex(contentId);
    if (!this.#reader.has(id)) return undefined;
    return this.#read(peer, contentId, id, index);
  }

  async #read(peer: string, contentId: Uint8Array, id: string, index: number): Promise<WireReply> {
    const r = await readChunkData(this.#reader, peer, contentId, id, index, (n) => this.#replies.take(n));
    if ('error' in r) return r;
    this.#servedHere++;
    this.#c.served(r.chunkBytes);
    if (r.payload.byteOffset === 0) this.#sent.add(r.payload.buffer);
    return { payload: r.payload };
  }

  /** Whether `bytes` is a reply of ours, to hand back with `giveBack` once the socket has taken it. */
  owns(bytes: Uint8Array): boolean {
    return this.#sent.has(bytes.buffer);
  }

  giveBack(bytes: Uint8Array): void {
    if (!this.#sent.delete(bytes.buffer)) return;
    this.#replies.give([bytes.buffer as ArrayBuffer]);
  }

  /** A reply of ours moves to another thread (a serve thread), which hands its buffer back through `recycle`. */
  lend(bytes: Uint8Array): boolean {
    return this.#sent.delete(bytes.buffer);
  }

  /** Reply buffers back from another thread (only whole ones of the pool's size are kept). */
  recycle(buffers: readonly ArrayBuffer[]): void {
    this.#replies.give(buffers);
  }

  async close(): Promise<void> {
    this.#direct = false;
    await this.#reader.close();
  }
}
