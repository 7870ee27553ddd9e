/**
 * Streaming content description of one file in this thread, constant memory (one 256 KiB read buffer plus
 * the describer's chunk buffer). The hashing pool is the fast path; this is its in-thread fallback and what
 * tests use.
 */
import { open } from 'node:fs/promises';
import { ScpError } from '../../../errors.js';
import { CHUNK_SIZE, ContentDescriber, type ContentDescription } from '../../../protocol/content.js';

export async function describeFile(absPath: string, opts: { signal?: AbortSignal; onBytes?: (n: number) => void } = {}): Promise<ContentDescription> {
  const fh = await open(absPath, 'r').catch((e: Error) => {
    throw ScpError.io(`cannot read ${absPath}: ${e.message}`, e);
  });
  try {
    const d = new ContentDescriber();
    const buf = new Uint8Array(CHUNK_SIZE);
    for (;;) {
      if (opts.signal?.aborted) throw ScpError.aborted(`hashing ${absPath}`);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      d.update(buf.subarray(0, bytesRead));
      opts.onBytes?.(bytesRead);
    }
    return d.finish();
  } finally {
    await fh.close();
  }
}
