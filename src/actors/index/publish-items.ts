/**
 * From a publish request to described items: scan (folder or files), then describe every file through the
 * hash cache (unchanged files are not hashed again), `concurrency` files at a time, reporting progress.
 * Hashing itself is injected (`hash`): the worker passes the hashing pool (constant memory, off this
 * thread); tests pass describeFile. Text is written once under `textDir/<contentId>.txt` so it can be served.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ScpError } from '../../errors.js';
import type { PublishRequest } from '../../messages/index-mailbox.js';
import { toHex } from '../../protocol/bytes.js';
import { describeContent, type ContentDescription } from '../../protocol/content.js';
import { MAX_MANIFEST_ITEMS } from '../../protocol/limits.js';
import type { ItemV1 } from '../../protocol/manifest.js';
import { scanFiles, scanFolder, type ScannedFile } from './publish/folder-scan.js';
import type { HashCache } from './publish/hash-cache.js';
import { checkPublishLimits, itemFromFile, textItem } from './publish/manifest-builder.js';

export interface DescribedFile {
  absPath: string;
  item: ItemV1;
  chunkHashes: Uint8Array[];
}

export interface PublishProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: bigint;
  bytesTotal: bigint;
  hashed: number;
  cached: number;
}

export interface DescribeComponents {
  cache: HashCache;
  hash: (absPath: string) => Promise<ContentDescription>;
  textDir: string;
  concurrency?: number;
  onProgress?: (p: PublishProgress) => void;
  signal?: AbortSignal;
}

export interface DescribeResult {
  files: DescribedFile[];
  skipped: number;
  progress: PublishProgress;
}

export async function describeRequest(req: PublishRequest, c: DescribeComponents): Promise<DescribeResult> {
  if (req.kind === 'text') return describeText(req.title, req.text, c.textDir);
  let scanned: ScannedFile[];
  let skipped = 0;
  if (req.kind === 'folder') {
    const r = await scanFolder(req.dir, c.signal ? { signal: c.signal } : {});
    scanned = r.files;
    skipped = r.skipped.length;
    if (scanned.length === 0) throw ScpError.badInput(`${req.dir} holds no readable files to publish`);
  } else if (req.kind === 'files') {
    if (!Array.isArray(req.paths) || req.paths.length === 0) throw ScpError.badInput('publishFiles needs at least one path');
    scanned = await scanFiles(req.paths);
  } else {
    throw ScpError.badInput(`unknown publish kind "${(req as { kind: unknown }).kind}"`);
  }
  // Refuse a catalog that cannot fit before hashing for hours: the item count is known now, and a chunk
  // estimate from the sizes is exact (fixed 256 KiB chunks).
  checkPublishLimits(scanned.map((f) => ({ path: f.path, chunkCount: Math.ceil(Number(f.size) / 262_144) })));
  if (scanned.length > MAX_MANIFEST_ITEMS) throw ScpError.internal('limit check let too many items through');

  const progress: PublishProgress = {
    filesDone: 0,
    filesTotal: scanned.length,
    bytesDone: 0n,
    bytesTotal: scanned.reduce((s, f) => s + f.size, 0n),
    hashed: 0,
    cached: 0,
  };
  c.onProgress?.({ ...progress });
  const out: DescribedFile[] = new Array(scanned.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= scanned.length) return;
      if (c.signal?.aborted) throw ScpError.aborted('publish');
      const f = scanned[i] as ScannedFile;
      const { description, cached } = await c.cache.describe(f, c.hash);
      out[i] = { absPath: f.absPath, item: itemFromFile(f, description), chunkHashes: description.chunkHashes };
      progress.filesDone++;
      progress.bytesDone += f.size;
      if (cached) progress.cached++;
      else progress.hashed++;
      c.onProgress?.({ ...progress });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, c.concurrency ?? 2) }, lane));
  return { files: out, skipped, progress };
}

async function describeText(title: string, text: string, textDir: string): Promise<DescribeResult> {
  if (typeof text !== 'string') throw ScpError.badInput('publishText needs the text as a string');
  const bytes = new TextEncoder().encode(text);
  const d = describeContent(bytes);
  await mkdir(textDir, { recursive: true });
  const absPath = path.join(textDir, `${toHex(d.contentId)}.txt`);
  const tmp = `${absPath}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, absPath);
  const size = BigInt(bytes.length);
  return {
    files: [{ absPath, item: textItem(title, d), chunkHashes: d.chunkHashes }],
    skipped: 0,
    progress: { filesDone: 1, filesTotal: 1, bytesDone: size, bytesTotal: size, hashed: 1, cached: 0 },
  };
}

export function concatChunkHashes(hashes: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(hashes.length * 32);
  hashes.forEach((h, i) => all.set(h, i * 32));
  return all;
}
