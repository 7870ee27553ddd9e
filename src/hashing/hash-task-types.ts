/** Tasks for the hashing pool's workers and what they answer; buffers travel by transfer both ways. */
export type HashTask =
  | { kind: 'chunks'; buffer: ArrayBuffer; length: number; chunkSize: number }
  | {
      kind: 'file';
      path: string;
      chunkSize: number;
      /** Chunk range [firstChunk, endChunk); the whole file when absent. */
      firstChunk?: number;
      endChunk?: number;
      /** Also BLAKE3 the whole byte stream (the ContentId); only meaningful for the full range. */
      contentHash: boolean;
    };

export type HashTaskResult =
  | { kind: 'chunks'; buffer: ArrayBuffer; hashes: ArrayBuffer }
  | { kind: 'file'; size: number; chunkHashes: ArrayBuffer; contentId: ArrayBuffer | null };
