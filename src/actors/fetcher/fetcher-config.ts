/**
 * The fetcher's settings, read from its actor config (`ctx.config`, set by Node.start / the supervisor).
 * Every key is optional:
 *
 * | key                     | default                | meaning                                                        |
 * |-------------------------|------------------------|----------------------------------------------------------------|
 * | `hashThreads`           | 2                      | threads of the fetcher's hashing pool                          |
 * | `parallelChunks`        | 24                     | chunks in flight per download, at least (§8.3; reference: 8)   |
 * | `chunksPerPeer`         | 4                      | per active provider: target = max(this × providers, the above) |
 * | `maxParallelChunks`     | 32                     | ceiling of the in-flight target                                |
 * | `refillBatch`           | 8                      | requests refilled together once that many fit (swarm-scheduler)|
 * | `maxConcurrentDownloads`| 4                      | downloads running at once; the rest wait queued                |
 * | `downloadDir`           | `<dataDir>/downloads`  | where relative outPath / targetDir land                        |
 * | `diskQuotaBytes`        | none                   | bytes all downloads may hold together                          |
 * | `requestTimeoutMs`      | 8000                   | per GET_CHUNK / GET_CHUNK_HASHES request                       |
 * | `seedBytesPerSecond`    | none                   | cap on bytes served to all peers together                      |
 * | `seedMaxPerPeer`        | 8                      | chunk reads in progress per peer (more wait, then LIMIT)       |
 * | `reannounceIntervalMs`  | 600000 (10 min)        | how often every seeded item's provider record is re-announced  |
 * | `directWrites`          | true                   | full chunks written with O_DIRECT (bypassing the page cache)   |
 * | `epochMs`               | wall time at start     | wall clock = epochMs + ctx.clock.now() (virtual dates in sims) |
 */
import { join } from 'node:path';

export interface FetcherConfig {
  hashThreads: number;
  parallelChunks: number;
  chunksPerPeer: number;
  maxParallelChunks: number;
  refillBatch: number;
  maxConcurrentDownloads: number;
  downloadDir: string;
  diskQuotaBytes: number | null;
  requestTimeoutMs: number;
  seedBytesPerSecond: number | null;
  seedMaxPerPeer: number;
  reannounceIntervalMs: number;
  directWrites: boolean;
  epochMs: number | null;
}

export function readFetcherConfig(config: Record<string, unknown>, dataDir: string): FetcherConfig {
  const pos = (k: string, d: number): number => {
    const v = config[k];
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : d;
  };
  const opt = (k: string): number | null => {
    const v = config[k];
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null;
  };
  return {
    hashThreads: Math.floor(pos('hashThreads', 2)),
    parallelChunks: Math.floor(pos('parallelChunks', 24)),
    chunksPerPeer: config.chunksPerPeer === 0 ? 0 : Math.floor(pos('chunksPerPeer', 4)),
    maxParallelChunks: Math.floor(pos('maxParallelChunks', 32)),
    refillBatch: Math.floor(pos('refillBatch', 8)),
    maxConcurrentDownloads: Math.floor(pos('maxConcurrentDownloads', 4)),
    downloadDir: typeof config.downloadDir === 'string' && config.downloadDir.length > 0 ? config.downloadDir : join(dataDir, 'downloads'),
    diskQuotaBytes: opt('diskQuotaBytes'),
    requestTimeoutMs: pos('requestTimeoutMs', 8_000),
    seedBytesPerSecond: opt('seedBytesPerSecond'),
    seedMaxPerPeer: Math.floor(pos('seedMaxPerPeer', 8)),
    reannounceIntervalMs: pos('reannounceIntervalMs', 600_000),
    directWrites: config.directWrites !== false,
    epochMs: typeof config.epochMs === 'number' ? config.epochMs : null,
  };
}
