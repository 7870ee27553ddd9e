/**
 * Seeding: what this node serves (PROTOCOL.md §8.1) and announces as provider (§8.4 step 4).
 *
 * - `seed` records contentId → { path, size, chunk hashes } in `fetcher/seeds`, registers the file with the
 *   ChunkReader (reads from disk, per-peer caps, optional bandwidth cap) and announces it. Without chunk hashes
 *   the file is hashed once (content id checked) before it is served.
 * - Inbound wire requests: GET_CHUNK → CHUNK_DATA (the encoded reply's buffer is transferred, not copied),
 *   GET_CHUNK_HASHES → CHUNK_HASH_LIST (cached; computed from the file on demand), HAVE_CONTENT → empty ack.
 *   Errors carry the reference's texts ("chunk not found", "chunk hashes not found").
 * - Announcing is best effort and in the background: a DHT that is down never fails or delays seeding;
 *   `pendingAnnounces` are retried.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { ScpError, ProtocolError } from '../../errors.js';
import type { WireReply, WireRequest } from '../../messages/wire.js';
import type { ServableFile } from '../../messages/session-mailbox.js';
import { bytesEqual, fromHex, toHex } from '../../protocol/bytes.js';
import { chunkCountForSize } from '../../protocol/content.js';
import { ErrorText, MessageType, decodeRequestPayload } from '../../protocol/registry.js';
import { chunkHashListCodec } from '../../protocol/transfer-messages.js';
import { withTransfer, type Transfer } from '../runtime/transfer.js';
import { readChunkData, type ChunkReader } from './chunk-reader.js';
import { concatHashes, splitHashes } from './download-job.js';
import type { KeyValue, StoredSeed } from './fetcher-store.js';

export interface FileHashes {
  contentId: Uint8Array;
  chunkHashes: Uint8Array[];
  size: bigint;
}

export interface SeedServiceComponents {
  seeds: KeyValue<StoredSeed>;
  reader: ChunkReader;
  /** ContentId and chunk hashes of a file (the hashing pool). */
  hashFile(path: string): Promise<FileHashes>;
  /** Adds our addresses to the content's provider record (dht.addProvider). */
  announce(contentId: Uint8Array): Promise<void>;
  /** Removes them (dht.removeProvider). */
  unannounce(contentId: Uint8Array): Promise<void>;
  /** Wall time in ms (for `addedAt`). */
  now(): number;
  /** Memory for a CHUNK_DATA reply (a recycled buffer from runtime/chunk-buffer-pool.ts); default: fresh. */
  allocReply?: (size: number) => Uint8Array;
  /** Counts a chunk answered with its bytes (metrics; transfer-stats.ts). */
  served?(bytes: number): void;
  /**
   * The session's copy of what we serve, from which it answers GET_CHUNK itself (session/chunk-server.ts). A removal
   * is waited for, so nothing is served after `stop` returns; an addition is not (until it lands, we serve it).
   */
  servable?(change: { set?: ServableFile[]; remove?: string[] }): Promise<void>;
}

export interface SeedRequest {
  contentId: string;
  path: string;
  size: bigint | number;
  chunkHashes?: Uint8Array;
}

export class SeedService {
  readonly #c: SeedServiceComponents;
  /** Content ids whose last announce failed; retried by `retryAnnounces`. */
  readonly pendingAnnounces = new Set<string>();
  readonly #hashing = new Map<string, Promise<Uint8Array>>();

  constructor(components: SeedServiceComponents) {
    this.#c = components;
  }

  /** Serves everything recorded in lmdb (a restart); announces nothing by itself. */
  restore(): number {
    let n = 0;
    for (const [, s] of this.#c.seeds.entries('')) {
      this.#c.reader.register(s.contentId, s.path, s.size);
      n++;
    }
    return n;
  }

  has(contentId: string): boolean {
    return this.#c.seeds.get(contentId.toLowerCase()) !== undefined;
  }

  /** What we serve now, for the session's copy (a file that changed under us has left the reader). */
  servableFiles(): ServableFile[] {
    return this.list()
      .filter((s) => this.#c.reader.has(s.contentId))
      .map((s) => ({ contentId: s.contentId, path: s.path, size: s.size }));
  }

  list(): StoredSeed[] {
    return [...this.#c.seeds.entries('')].map(([, v]) => v);
  }

  async seed(req: SeedRequest): Promise<void> {
    const idBytes = fromHex(req.contentId, 32, 'contentId');
    const contentId = toHex(idBytes);
    if (typeof req.path !== 'string' || !isAbsolute(req.path)) throw ScpError.badInput(`seed path must be absolute, got ${JSON.stringify(req.path)}`);
    const size = Number(req.size);
    if (!Number.isSafeInteger(size) || size < 0) throw ScpError.badInput(`seed size must be a non-negative integer, got ${String(req.size)}`);
    const st = await stat(req.path).catch((err: NodeJS.ErrnoException) => {
      throw ScpError.badInput(`cannot seed ${req.path}: ${err.code ?? err.message}; check the file exists`);
    });
    if (!st.isFile()) throw ScpError.badInput(`cannot seed ${req.path}: not a regular file`);
    if (st.size !== size) throw ScpError.badInput(`cannot seed ${req.path}: it has ${st.size} bytes, the item says ${size}`);
    let hashes = req.chunkHashes ?? null;
    if (hashes !== null && hashes.length !== chunkCountForSize(size) * 32) {
      throw ScpError.badInput(`chunkHashes must hold ${chunkCountForSize(size)} hashes of 32 bytes for ${size} bytes, got ${hashes.length} bytes`);
    }
    if (hashes === null) {
      const d = await this.#c.hashFile(req.path);
      if (!bytesEqual(d.contentId, idBytes) || Number(d.size) !== size) {
        throw ScpError.verifyFailed(`${req.path} does not match content id ${contentId}; it changed since it was described`);
      }
      hashes = concatHashes(d.chunkHashes);
    }
    const rec: StoredSeed = { contentId, path: req.path, size, chunkHashes: new Uint8Array(hashes), addedAt: this.#c.now() };
    await this.#c.seeds.put(contentId, rec);
    this.#c.reader.register(contentId, req.path, size);
    void this.#c.servable?.({ set: [{ contentId, path: req.path, size }] }).catch(() => undefined);
    // In the background: a slow or absent DHT never holds up (or fails) seeding; failures are retried.
    void this.#announce(contentId);
  }

  /** Stops serving and unpublishes our provider entry; false when it was not seeded. */
  async stop(contentIdHex: string): Promise<boolean> {
    const contentId = toHex(fromHex(contentIdHex, 32, 'contentId'));
    const had = this.#c.seeds.get(contentId) !== undefined;
    await this.#c.seeds.remove(contentId);
    await this.#c.reader.unregister(contentId);
    await this.#c.servable?.({ remove: [contentId] }).catch(() => undefined); // a session that is down starts empty
    this.pendingAnnounces.delete(contentId);
    if (had) await this.#c.unannounce(fromHex(contentId, 32)).catch(() => undefined);
    return had;
  }

  /** Re-announces every seeded item; resolves with how many announces succeeded. */
  async reannounceAll(): Promise<number> {
    let ok = 0;
    for (const s of this.list()) if (await this.#announce(s.contentId)) ok++;
    return ok;
  }

  async retryAnnounces(): Promise<void> {
    for (const id of [...this.pendingAnnounces]) if (this.has(id)) await this.#announce(id);
  }

  async #announce(contentId: string): Promise<boolean> {
    try {
      await this.#c.announce(fromHex(contentId, 32));
      this.pendingAnnounces.delete(contentId);
      return true;
    } catch {
      this.pendingAnnounces.add(contentId);
      return false;
    }
  }

  // ---- serving

  /** Answers one inbound request routed to the fetcher (GET_CHUNK, GET_CHUNK_HASHES, HAVE_CONTENT). */
  async handleWire(req: WireRequest): Promise<WireReply | Transfer<WireReply>> {
    let decoded: ReturnType<typeof decodeRequestPayload>;
    try {
      decoded = decodeRequestPayload(req.messageType, req.payload);
    } catch (err) {
      return { error: err instanceof ProtocolError ? (err.wireText ?? err.message) : String((err as Error).message) };
    }
    switch (decoded.type) {
      case MessageType.HAVE_CONTENT:
        return { payload: new Uint8Array(0) };
      case MessageType.GET_CHUNK:
        return this.#serveChunk(req.from.nodeId, toHex(decoded.payload.contentId), decoded.payload.chunkIndex);
      case MessageType.GET_CHUNK_HASHES:
        return this.#serveHashes(toHex(decoded.payload.contentId));
      default:
        return { error: ErrorText.UNSUPPORTED_MESSAGE_TYPE };
    }
  }

  async #serveChunk(peer: string, contentId: string, index: number): Promise<WireReply | Transfer<WireReply>> {
    // The reply's buffer then moves to the session: no copy of the chunk in this thread.
    const r = await readChunkData(this.#c.reader, peer, fromHex(contentId, 32), contentId, index, this.#c.allocReply);
    if ('error' in r) return r;
    this.#c.served?.(r.chunkBytes);
    return withTransfer({ payload: r.payload }, [r.payload.buffer as ArrayBuffer]);
  }

  async #serveHashes(contentId: string): Promise<WireReply> {
    const rec = this.#c.seeds.get(contentId);
    if (!rec || !this.#c.reader.has(contentId)) return { error: ErrorText.CHUNK_HASHES_NOT_FOUND };
    try {
      const hashes = rec.chunkHashes ?? (await this.#computeHashes(rec));
      return { payload: chunkHashListCodec.encode({ contentId: fromHex(contentId, 32), hashes: splitHashes(hashes) }) };
    } catch {
      return { error: ErrorText.CHUNK_HASHES_NOT_FOUND };
    }
  }

  /** On demand for a record without hashes; concurrent asks share one computation; the result is cached. */
  #computeHashes(rec: StoredSeed): Promise<Uint8Array> {
    let p = this.#hashing.get(rec.contentId);
    if (!p) {
      p = (async () => {
        const d = await this.#c.hashFile(rec.path);
        if (Number(d.size) !== rec.size || !bytesEqual(d.contentId, fromHex(rec.contentId, 32))) {
          await this.#c.reader.unregister(rec.contentId);
          throw ScpError.verifyFailed(`${rec.path} no longer matches content id ${rec.contentId}; it is not served`);
        }
        const all = concatHashes(d.chunkHashes);
        await this.#c.seeds.put(rec.contentId, { ...rec, chunkHashes: all });
        return all;
      })().finally(() => this.#hashing.delete(rec.contentId));
      this.#hashing.set(rec.contentId, p);
    }
    return p;
  }
}
