import type { LimitsMailboxEntry } from '../limits.js';
import type { CommonMailbox } from './mailbox.js';
import type { ShareItemView } from './index-mailbox.js';
import type { WireMailboxEntry } from './wire.js';
import type { ServeTableUpdate } from './session-mailbox.js';

export type DownloadState = 'queued' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

/** A download as the embedding API lists it (API.md). */
export interface DownloadRecord {
  id: string;
  shareId: string | null;
  contentId: string;
  path: string;
  state: DownloadState;
  bytesDone: bigint;
  bytesTotal: bigint;
  error?: string | null;
}

export interface FetcherMailbox extends CommonMailbox, WireMailboxEntry {
  /** Hash a buffer of whole chunks on the hashing pool; the buffer travels by transfer and comes back. */
  hashChunks: { req: { buffer: ArrayBuffer; chunkSize: number }; reply: { hashes: Uint8Array; buffer: ArrayBuffer } };
  /** Bulk-bytes probe: the buffer moves here and back (bench and tests of the zero-copy path). */
  bounce: { req: { buffer: ArrayBuffer }; reply: { buffer: ArrayBuffer } };
  /**
   * Serve a local file's chunks (GET_CHUNK / GET_CHUNK_HASHES) and announce us as its provider.
   * `chunkHashes` = the 32-byte hashes concatenated, when the caller already has them.
   */
  seed: { req: { contentId: string; path: string; size: bigint; chunkHashes?: Uint8Array }; reply: void };
  /** Resolves when the file is complete and verified (or rejects with a typed error). */
  downloadContent: {
    req: { contentId: string; outPath: string; size?: bigint; chunkCount?: number; chunkListHash?: string; shareId?: string; peers?: string[] };
    reply: DownloadRecord;
  };
  /** Downloads every item under `targetDir`, rebuilding folder paths safely; resolves when all are verified. */
  downloadItems: { req: { shareId: string; items: ShareItemView[]; targetDir: string }; reply: DownloadRecord[] };
  listDownloads: { req: object; reply: DownloadRecord[] };
  pauseDownload: { req: { id: string }; reply: DownloadRecord };
  resumeDownload: { req: { id: string }; reply: DownloadRecord };
  cancelDownload: { req: { id: string }; reply: DownloadRecord };
  stopSeeding: { req: { contentId: string }; reply: { stopped: boolean } };
  /** The whole serve table, for a session that (re)started (session mailbox `serveTable`). */
  serveTable: { req: object; reply: ServeTableUpdate & { kind: 'reset' } };
  /** CHUNK_DATA reply buffers the session has written out, moved back for reuse (runtime/chunk-buffer-pool.ts). */
  recycleBuffers: { req: { buffers: ArrayBuffer[] }; reply: void };
  reannounceSeededContent: { req: object; reply: { announced: number } };
  /** Live download/upload caps and download concurrency (src/limits.ts; transfer-limits.ts). */
  setLimits: LimitsMailboxEntry;
}
