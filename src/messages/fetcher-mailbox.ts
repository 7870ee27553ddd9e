import type { CommonMailbox } from './mailbox.js';

export interface FetcherMailbox extends CommonMailbox {
  /** Hash a buffer of whole chunks on the hashing pool; the buffer travels by transfer and comes back. */
  hashChunks: { req: { buffer: ArrayBuffer; chunkSize: number }; reply: { hashes: Uint8Array; buffer: ArrayBuffer } };
  /** Bulk-bytes probe: the buffer moves here and back (bench and tests of the zero-copy path). */
  bounce: { req: { buffer: ArrayBuffer }; reply: { buffer: ArrayBuffer } };
}
