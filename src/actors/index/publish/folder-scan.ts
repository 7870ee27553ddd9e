/**
 * Walking what a user publishes: a folder (every regular file below it, `ItemV1.path` relative to it) or a
 * list of files (loose items, no path). Stable order: entries sorted by name (UTF-16 code units, not the
 * locale) at each level, depth first, so the same tree always yields the same item order.
 *
 * Symlinks are followed only when their target resolves inside the folder (a symlinked directory once:
 * loops are cut); a link pointing outside is skipped and reported, never read.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ScpError } from '../../../errors.js';
import { mimeForName, normalizeItemPath, tagsForItem } from './item-path.js';

export interface ScannedFile {
  absPath: string;
  /** Normalised `/`-separated path relative to the published folder; null for loose files. */
  path: string | null;
  name: string;
  size: bigint;
  mtimeNs: bigint;
  ino: bigint;
  mime: string | null;
  tags: string[];
}

export interface SkippedEntry {
  path: string;
  reason: 'symlink_outside' | 'not_regular' | 'unreadable' | 'loop';
}

export interface ScanResult {
  files: ScannedFile[];
  skipped: SkippedEntry[];
}

/** A ceiling on the walk itself (far above what one share can hold) so a mistaken `/` cannot run forever. */
export const MAX_SCAN_ENTRIES = 1_000_000;

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export async function scanFolder(folder: string, opts: { signal?: AbortSignal } = {}): Promise<ScanResult> {
  const rootAbs = path.resolve(folder);
  let rootReal: string;
  try {
    rootReal = await realpath(rootAbs);
    if (!(await stat(rootReal)).isDirectory()) throw ScpError.badInput(`${folder} is not a folder; publish files with publishFiles`);
  } catch (e) {
    if (e instanceof ScpError) throw e;
    throw ScpError.notFound(`cannot read folder ${folder}: ${(e as Error).message}`);
  }
  const files: ScannedFile[] = [];
  const skipped: SkippedEntry[] = [];
  const visited = new Set<string>([rootReal]);
  let entries = 0;

  const walk = async (dirAbs: string, relSegs: string[]): Promise<void> => {
    if (opts.signal?.aborted) throw ScpError.aborted('folder scan');
    let list;
    try {
      list = (await readdir(dirAbs, { withFileTypes: true })).sort(byName);
    } catch {
      skipped.push({ path: relSegs.join('/') || '.', reason: 'unreadable' });
      return;
    }
    for (const ent of list) {
      if (++entries > MAX_SCAN_ENTRIES) {
        throw ScpError.limit(`${folder} holds more than ${MAX_SCAN_ENTRIES} entries; publish smaller sub-folders`);
      }
      const abs = path.join(dirAbs, ent.name);
      const segs = [...relSegs, ent.name];
      const rel = segs.join('/');
      let target = abs;
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      if (ent.isSymbolicLink()) {
        try {
          target = await realpath(abs);
        } catch {
          skipped.push({ path: rel, reason: 'unreadable' });
          continue;
        }
        if (!inside(rootReal, target)) {
          skipped.push({ path: rel, reason: 'symlink_outside' });
          continue;
        }
        const st = await stat(target).catch(() => null);
        isDir = st?.isDirectory() ?? false;
        isFile = st?.isFile() ?? false;
      }
      if (isDir) {
        const real = await realpath(target).catch(() => target);
        if (visited.has(real)) {
          skipped.push({ path: rel, reason: 'loop' });
          continue;
        }
        visited.add(real);
        await walk(abs, segs);
      } else if (isFile) {
        const f = await describeEntry(target, ent.name, normalizeItemPath(rel));
        if (f) files.push(f);
        else skipped.push({ path: rel, reason: 'unreadable' });
      } else {
        skipped.push({ path: rel, reason: 'not_regular' });
      }
    }
  };
  await walk(rootAbs, []);
  return { files, skipped };
}

/** Loose files (publishFiles): each must be a regular file; item path null, name = base name. */
export async function scanFiles(paths: readonly string[]): Promise<ScannedFile[]> {
  const out: ScannedFile[] = [];
  for (const p of paths) {
    const abs = path.resolve(p);
    const st = await stat(abs).catch(() => null);
    if (!st) throw ScpError.notFound(`cannot read ${p}: no such file`);
    if (!st.isFile()) throw ScpError.badInput(`${p} is not a regular file${st.isDirectory() ? '; publish folders with publishFolder' : ''}`);
    const f = await describeEntry(abs, path.basename(abs), null);
    if (!f) throw ScpError.io(`cannot read ${p}`);
    out.push(f);
  }
  return out;
}

async function describeEntry(absPath: string, name: string, relPath: string | null): Promise<ScannedFile | null> {
  const st = await stat(absPath, { bigint: true }).catch(() => null);
  if (!st || !st.isFile()) return null;
  return {
    absPath,
    path: relPath,
    name,
    size: st.size,
    mtimeNs: st.mtimeNs,
    ino: st.ino,
    mime: mimeForName(name),
    tags: tagsForItem(name, relPath),
  };
}

