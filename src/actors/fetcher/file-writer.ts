/**
 * Writes verified chunks of one item at their offsets into `<target>.scp2p-partial` (positional writes, no
 * file in memory), then `finalize()` re-hashes the whole partial file with BLAKE3 (streaming, one 1 MiB
 * buffer) against the content id and only then renames it to the target. Until that rename nothing carries
 * the target's name, so a crash, a full disk or a failed check never leaves a half file that looks complete.
 *
 * The partial file is opened with O_NOFOLLOW and without O_TRUNC: a resumed download keeps what it wrote.
 * With `directWrites`, full chunks go through a second descriptor opened with O_DIRECT (direct-io.ts says why);
 * a file system that refuses it (open or first write fails with EINVAL) gets every write through the page cache.
 */
import { constants as FS, type BigIntStats } from 'node:fs';
import { open as fsOpen, rename, stat, statfs, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ScpError } from '../../errors.js';
import { bytesEqual } from '../../protocol/bytes.js';
import { CHUNK_SIZE, chunkCountForSize } from '../../protocol/content.js';
import { blake3Hasher, type Blake3Hasher } from '../../protocol/hash.js';
import { directWriteSlots, O_DIRECT, type AlignedSlots } from './direct-io.js';
import { directWritable } from '../runtime/shared-chunk-slab.js';
import { fsError } from './fs-errors.js';
import { PARTIAL_SUFFIX } from './safe-path.js';

/** The part of fs.promises.FileHandle the writer and reader use: a seam for fault-injection tests. */
export interface FileHandleLike {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  truncate(len: number): Promise<void>;
  stat(opts: { bigint: true }): Promise<BigIntStats>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export type OpenFile = (path: string, flags: number, mode?: number) => Promise<FileHandleLike>;

export const openFile: OpenFile = (path, flags, mode) => fsOpen(path, flags, mode) as Promise<FileHandleLike>;

export interface DiskQuota {
  /** Bytes downloads may hold in total. */
  limitBytes: number;
  /** Bytes already held by other downloads and seeded items. */
  usedBytes: number;
}

export interface FileWriterInit {
  /** Final path, already resolved and checked (safe-path.ts). */
  targetPath: string;
  size: number;
  contentId: Uint8Array;
  /** Replace an existing file at the target. Default false: CONFLICT. */
  overwrite?: boolean;
  quota?: DiskQuota;
  /** Refuse up front when the file system has less free space than the item still needs. Default true. */
  checkFreeSpace?: boolean;
  /** Write full chunks with O_DIRECT, bypassing the page cache, where the file system allows it. Default false. */
  directWrites?: boolean;
  open?: OpenFile;
}

export interface FinalizeOptions {
  /** With the chunk hashes, a mismatch names the bad chunks (kept for a re-fetch) instead of discarding all. */
  chunkHashes?: readonly Uint8Array[];
  hasher?: () => Blake3Hasher;
  /**
   * The content digest already computed over the verified chunks as they were written (PrefixHasher). When it
   * equals the content id the second pass over the file is skipped; otherwise the file is re-hashed as usual.
   */
  streamedDigest?: Uint8Array;
}

const HASH_BUFFER = 1 << 20;
const PARTIAL_FLAGS = FS.O_RDWR | FS.O_CREAT | FS.O_NOFOLLOW;
const DIRECT_FLAGS = O_DIRECT === undefined ? undefined : FS.O_RDWR | FS.O_NOFOLLOW | O_DIRECT;

export class FileWriter {
  readonly targetPath: string;
  readonly partialPath: string;
  readonly size: number;
  readonly chunkCount: number;
  readonly #contentId: Uint8Array;
  readonly #overwrite: boolean;
  #fh: FileHandleLike | undefined;
  /** The O_DIRECT descriptor of the partial file, while direct writes work. */
  #direct: FileHandleLike | undefined;
  #slots: AlignedSlots | undefined;
  #bytesWritten = 0;

  private constructor(init: FileWriterInit, fh: FileHandleLike, direct: FileHandleLike | undefined) {
    this.targetPath = init.targetPath;
    this.partialPath = init.targetPath + PARTIAL_SUFFIX;
    this.size = init.size;
    this.chunkCount = chunkCountForSize(init.size);
    this.#contentId = init.contentId;
    this.#overwrite = init.overwrite ?? false;
    this.#fh = fh;
    this.#direct = direct;
    if (direct) this.#slots = directWriteSlots();
  }

  /** Checks target, quota and free space, then opens (or reopens, on resume) the partial file. */
  static async open(init: FileWriterInit): Promise<FileWriter> {
    const { targetPath, size } = init;
    if (!Number.isSafeInteger(size) || size < 0) throw ScpError.badInput(`item size must be a non-negative safe integer, got ${size}`);
    if (init.contentId.length !== 32) throw ScpError.badInput('content id must be 32 bytes');
    const partialPath = targetPath + PARTIAL_SUFFIX;
    if (!init.overwrite && (await exists(targetPath))) {
      throw new ScpError('CONFLICT', `${targetPath} already exists; remove it or download to another folder`, { path: targetPath });
    }
    if (init.quota && init.quota.usedBytes + size > init.quota.limitBytes) {
      throw ScpError.limit(
        `downloading ${size} bytes would exceed the disk quota (${init.quota.usedBytes} of ${init.quota.limitBytes} bytes used); raise the quota or remove downloads`,
        { quota: init.quota.limitBytes, used: init.quota.usedBytes, needed: size },
      );
    }
    if (init.checkFreeSpace ?? true) {
      const held = await stat(partialPath, { bigint: true }).then((s) => Number(s.blocks) * 512, () => 0);
      const needed = size - Math.min(held, size);
      const fsStat = await statfs(dirname(targetPath)).catch((err: unknown) => {
        throw fsError(err, 'checking free space for', targetPath);
      });
      const free = fsStat.bavail * fsStat.bsize;
      if (needed > free) {
        throw new ScpError('IO', `not enough disk space for ${targetPath}: needs ${needed} more bytes, ${free} free; free some space or pick another folder`, {
          errno: 'ENOSPC',
          path: targetPath,
          needed,
          free,
        });
      }
    }
    const fh = await (init.open ?? openFile)(partialPath, PARTIAL_FLAGS, 0o644).catch((err: unknown) => {
      throw fsError(err, 'creating', partialPath);
    });
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) throw ScpError.badInput(`${partialPath} is not a regular file; remove it and retry`);
      if (Number(st.size) !== size) await fh.truncate(size); // sparse: blocks are allocated as chunks land
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw fsError(err, 'preparing', partialPath);
    }
    const direct =
      init.directWrites && DIRECT_FLAGS !== undefined && size >= CHUNK_SIZE
        ? await (init.open ?? openFile)(partialPath, DIRECT_FLAGS).catch(() => undefined)
        : undefined;
    return new FileWriter(init, fh, direct);
  }

  /** True while full chunks are written with O_DIRECT. */
  get directWrites(): boolean {
    return this.#direct !== undefined;
  }

  /** Bytes written by this writer (not counting what a previous run left in the partial file). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /**
   * Writes a verified chunk at its offset. Safe to call concurrently for different chunks. `onCopied` is called
   * once the writer holds a copy of `bytes` of its own (a direct write's aligned slot), before the write
   * completes: from then on the caller may reuse `bytes`. Not called when the write is made from `bytes` itself.
   */
  async writeChunk(index: number, bytes: Uint8Array, onCopied?: () => void): Promise<void> {
    this.#handle();
    if (!Number.isInteger(index) || index < 0 || index >= this.chunkCount) {
      throw ScpError.badInput(`chunk index ${index} is out of range for ${this.chunkCount} chunks`);
    }
    const start = index * CHUNK_SIZE;
    const expected = Math.min(CHUNK_SIZE, this.size - start);
    if (bytes.length !== expected) throw ScpError.badInput(`chunk ${index} must be ${expected} bytes, got ${bytes.length}`);
    if (this.#direct && expected === CHUNK_SIZE) await this.#writeDirect(bytes, start, onCopied);
    else await this.#writeBuffered(bytes, start);
    this.#bytesWritten += expected;
  }

  async #writeBuffered(bytes: Uint8Array, start: number): Promise<void> {
    const fh = this.#handle();
    try {
      await writeAll(() => fh, bytes, start);
    } catch (err) {
      throw fsError(err, 'writing', this.partialPath);
    }
  }

  /**
   * One full chunk through the O_DIRECT descriptor, from an aligned slot (waiting for a free one). When the file
   * system refuses (EINVAL) direct writes stop for this file and the chunk goes through the page cache, from the
   * slot's copy (the caller may already have reused `bytes`). Other errors (ENOSPC, EIO) are the download's.
   */
  async #writeDirect(bytes: Uint8Array, start: number, onCopied: (() => void) | undefined): Promise<void> {
    // A chunk received into the session's shared slab is already aligned (runtime/shared-chunk-slab.ts): written
    // from there, no copy. If the kernel still refuses it (EINVAL) it takes the slot path below, which tells a
    // file system without O_DIRECT from a misplaced buffer.
    if (directWritable(bytes) && (await this.#writeDirectFrom(bytes, start))) return;
    const slots = this.#slots as AlignedSlots;
    const taken = slots.take();
    const slot = typeof taken === 'number' ? taken : await taken;
    try {
      const view = slots.fill(slot, bytes);
      onCopied?.();
      try {
        await writeAll(() => this.#direct, view, start);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw fsError(err, 'writing', this.partialPath);
        const d = this.#direct;
        this.#direct = undefined;
        await d?.close().catch(() => undefined);
        await this.#writeBuffered(view, start);
      }
    } finally {
      slots.release(slot);
    }
  }

  /** One direct write from the caller's memory; false when the kernel refused it (EINVAL) and nothing was written. */
  async #writeDirectFrom(bytes: Uint8Array, start: number): Promise<boolean> {
    const direct = this.#direct;
    if (!direct) return false;
    const sent = { n: 0 };
    try {
      await writeAll(() => direct, bytes, start, sent);
      return true;
    } catch (err) {
      // EINVAL, or the descriptor closed under us by a concurrent write that found O_DIRECT refused: the slot path decides.
      if (sent.n === 0 && ((err as NodeJS.ErrnoException).code === 'EINVAL' || this.#direct !== direct)) return false;
      throw fsError(err, 'writing', this.partialPath);
    }
  }

  /** fdatasync of the partial file (before persisting the chunk bitmap, when power loss matters). */
  async sync(): Promise<void> {
    await this.#handle().datasync().catch((err: unknown) => {
      throw fsError(err, 'syncing', this.partialPath);
    });
  }

  /**
   * Re-hashes the whole partial file; on a match renames it to the target. On a mismatch throws
   * VERIFY_FAILED: with chunk hashes and some bad chunks, the partial file stays (details.badChunks says
   * what to fetch again); otherwise the partial file is deleted.
   */
  async finalize(opts: FinalizeOptions = {}): Promise<void> {
    const fh = this.#handle();
    if (opts.streamedDigest && bytesEqual(opts.streamedDigest, this.#contentId)) return this.#commit();
    await this.sync();
    const hasher = (opts.hasher ?? blake3Hasher)();
    const buf = new Uint8Array(Math.min(HASH_BUFFER, Math.max(1, this.size)));
    try {
      for (let pos = 0; pos < this.size; ) {
        const n = await readFull(fh, buf, Math.min(buf.length, this.size - pos), pos);
        hasher.update(buf.subarray(0, n));
        pos += n;
      }
    } catch (err) {
      throw fsError(err, 'checking', this.partialPath);
    }
    const digest = hasher.digest();
    if (!bytesEqual(digest, this.#contentId)) {
      const badChunks = opts.chunkHashes ? await this.#badChunks(fh, opts.chunkHashes, opts.hasher ?? blake3Hasher) : [];
      if (badChunks.length === 0) await this.discard();
      throw ScpError.verifyFailed(
        badChunks.length > 0
          ? `${this.targetPath}: ${badChunks.length} chunk(s) on disk do not match their hashes; they are fetched again`
          : `${this.targetPath}: the downloaded file does not match its content id; nothing was kept — the publisher's chunk list may be wrong`,
        { path: this.targetPath, badChunks },
      );
    }
    await this.#commit();
  }

  /**
   * Chunk `index` read back for the content digest. A full chunk is read like it was written, with O_DIRECT
   * into an aligned slot: a read-back through the page cache fills fresh pages for bytes read once (4 seeders on
   * this VM once read back a third of all chunks: 1.6 CPU-s per GiB in the file threads). `release` frees the slot.
   */
  async readBack(index: number): Promise<{ bytes: Uint8Array; release(): void }> {
    const start = index * CHUNK_SIZE;
    const length = Math.min(CHUNK_SIZE, this.size - start);
    const direct = this.#direct;
    if (!direct || length !== CHUNK_SIZE) return { bytes: await this.readChunk(index), release: () => {} };
    const slots = this.#slots as AlignedSlots;
    const taken = slots.take();
    const slot = typeof taken === 'number' ? taken : await taken;
    try {
      const view = slots.view(slot, length);
      await readFull(direct, view, length, start);
      return { bytes: view, release: () => slots.release(slot) };
    } catch (err) {
      slots.release(slot);
      if ((err as NodeJS.ErrnoException).code === 'EINVAL') return { bytes: await this.readChunk(index), release: () => {} };
      throw fsError(err, 'reading back', this.partialPath);
    }
  }

  /** Reads chunk `index` back from the partial file into a fresh buffer. */
  async readChunk(index: number): Promise<Uint8Array> {
    const start = index * CHUNK_SIZE;
    const buf = new Uint8Array(Math.min(CHUNK_SIZE, this.size - start));
    try {
      await readFull(this.#handle(), buf, buf.length, start);
    } catch (err) {
      throw fsError(err, 'reading back', this.partialPath);
    }
    return buf;
  }

  /** The content is verified: close and move the partial file into place. */
  async #commit(): Promise<void> {
    await this.close();
    if (!this.#overwrite && (await exists(this.targetPath))) {
      throw new ScpError('CONFLICT', `${this.targetPath} appeared while downloading; the verified data stays in ${this.partialPath}`, {
        path: this.targetPath,
      });
    }
    await rename(this.partialPath, this.targetPath).catch((err: unknown) => {
      throw fsError(err, 'renaming into place', this.targetPath);
    });
  }

  /** Closes the handle, keeping the partial file (pause, stop). */
  async close(): Promise<void> {
    const fh = this.#fh;
    const direct = this.#direct;
    this.#fh = undefined;
    this.#direct = undefined;
    if (direct) await direct.close().catch(() => undefined);
    if (fh) await fh.close().catch(() => undefined);
  }

  /** Closes and deletes the partial file (cancel, hopeless mismatch). */
  async discard(): Promise<void> {
    await this.close();
    await unlink(this.partialPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw fsError(err, 'removing', this.partialPath);
    });
  }

  async #badChunks(fh: FileHandleLike, hashes: readonly Uint8Array[], mk: () => Blake3Hasher): Promise<number[]> {
    if (hashes.length !== this.chunkCount) return [];
    const bad: number[] = [];
    const buf = new Uint8Array(CHUNK_SIZE);
    for (let i = 0; i < this.chunkCount; i++) {
      const start = i * CHUNK_SIZE;
      const n = await readFull(fh, buf, Math.min(CHUNK_SIZE, this.size - start), start);
      if (!bytesEqual(mk().update(buf.subarray(0, n)).digest(), hashes[i] as Uint8Array)) bad.push(i);
    }
    return bad;
  }

  #handle(): FileHandleLike {
    if (!this.#fh) throw ScpError.badInput(`the partial file of ${this.targetPath} is closed`);
    return this.#fh;
  }
}

/** Reads exactly `length` bytes at `position` (positional reads may return less). */
export async function readFull(fh: FileHandleLike, buf: Uint8Array, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw ScpError.notFound(`file ended at ${position + got}, expected ${position + length} bytes`);
    got += bytesRead;
  }
  return got;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw fsError(err, 'checking', path);
    },
  );
}

/**
 * Writes all of `bytes` at file offset `pos`, going on after short writes (a write of 0 bytes is EIO). `handle()` is
 * asked before each write: undefined (direct writes turned off meanwhile) ends it with EINVAL. `sent.n` counts the
 * bytes written so far, for a caller that must know whether any were.
 */
async function writeAll(handle: () => FileHandleLike | undefined, bytes: Uint8Array, pos: number, sent = { n: 0 }): Promise<void> {
  while (sent.n < bytes.length) {
    const fh = handle();
    if (!fh) throw Object.assign(new Error('direct writes are off'), { code: 'EINVAL' });
    const { bytesWritten } = await fh.write(bytes, sent.n, bytes.length - sent.n, pos + sent.n);
    if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
    sent.n += bytesWritten;
  }
}
