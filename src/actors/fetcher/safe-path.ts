/**
 * Where a downloaded item lands. Manifest item paths come from a publisher we do not trust, so a path is
 * rebuilt segment by segment under the target folder and refused (ScpError BAD_INPUT) when it could land
 * anywhere else: `..`, absolute paths, drive letters, NUL and control characters, `\` tricks (treated as a
 * separator, as the reference normalises it), over-long paths, and — on Windows or when `portable` —
 * reserved device names, `:` streams and trailing dots or spaces. `assertInsideTarget` then checks on disk that
 * no symlink on the way leads out of the target folder.
 */
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ScpError } from '../../errors.js';
import { MAX_ITEM_PATH_BYTES } from '../../protocol/limits.js';

/** Appended to the final file name while the download is in progress. */
export const PARTIAL_SUFFIX = '.scp2p-partial';
/** NAME_MAX on common file systems, less room for the partial suffix. */
export const MAX_SEGMENT_BYTES = 255 - Buffer.byteLength(PARTIAL_SUFFIX);

export interface SafePathOptions {
  /** Also refuse names Windows cannot hold. Default: true on win32, false elsewhere. */
  portable?: boolean;
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const DRIVE = /^[a-zA-Z]:/;
const WINDOWS_FORBIDDEN = /[<>:"|?*]/;

function refuse(itemPath: string, why: string): ScpError {
  const shown = JSON.stringify(itemPath.length > 120 ? `${itemPath.slice(0, 120)}…` : itemPath);
  return ScpError.badInput(`refusing unsafe item path ${shown}: ${why}; the item was not downloaded`, { itemPath, why });
}

/**
 * Splits and checks a manifest path into safe relative segments. `itemPath` is the item's relative path in a
 * folder share (`/`-separated, including the file name); when it is null the item's `name` is the file name.
 */
export function safeRelativeSegments(itemPath: string | null | undefined, name: string, opts: SafePathOptions = {}): string[] {
  const raw = itemPath ?? name;
  const portable = opts.portable ?? process.platform === 'win32';
  if (typeof raw !== 'string' || raw.length === 0) throw refuse(String(raw), 'it is empty');
  if (raw.includes('\u0000')) throw refuse(raw, 'it contains a NUL byte');
  if (CONTROL.test(raw)) throw refuse(raw, 'it contains control characters');
  if (Buffer.byteLength(raw) > MAX_ITEM_PATH_BYTES) throw refuse(raw, `it is longer than ${MAX_ITEM_PATH_BYTES} bytes`);
  if (itemPath == null && /[/\\]/.test(raw)) throw refuse(raw, 'a file name cannot contain / or \\');
  const normalised = raw.replace(/\\/g, '/');
  if (normalised.startsWith('/') || isAbsolute(raw)) throw refuse(raw, 'it is an absolute path');
  if (DRIVE.test(normalised)) throw refuse(raw, 'it starts with a drive letter');
  const segments: string[] = [];
  for (const seg of normalised.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw refuse(raw, 'it climbs out with ".."');
    if (DRIVE.test(seg)) throw refuse(raw, 'a segment looks like a drive letter');
    if (Buffer.byteLength(seg) > MAX_SEGMENT_BYTES) throw refuse(raw, `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
    if (portable) {
      if (WINDOWS_FORBIDDEN.test(seg)) throw refuse(raw, 'a segment holds a character Windows forbids (<>:"|?*)');
      if (/[. ]$/.test(seg)) throw refuse(raw, 'a segment ends with a dot or a space');
      if (WINDOWS_RESERVED.test(seg)) throw refuse(raw, `"${seg}" is a reserved device name on Windows`);
    }
    segments.push(seg);
  }
  if (segments.length === 0) throw refuse(raw, 'it names no file');
  return segments;
}

/** The absolute path of an item under `targetDir`, checked lexically (no file system access). */
export function resolveItemPath(targetDir: string, itemPath: string | null | undefined, name: string, opts: SafePathOptions = {}): string {
  const root = resolve(targetDir);
  const full = resolve(root, join(...safeRelativeSegments(itemPath, name, opts)));
  if (!isWithin(root, full) || full === root) throw refuse(itemPath ?? name, 'it resolves outside the target folder');
  return full;
}

/**
 * On disk: the deepest existing ancestor of `finalPath` (or the path itself, and its partial file, when they
 * exist) must resolve, through every symlink, to a place inside `targetDir`'s real path. Call it before
 * creating folders, and again after (`prepareItemPath` does both). Existing final or partial paths that are
 * symlinks are refused outright: the writer would otherwise write through them.
 */
export async function assertInsideTarget(targetDir: string, finalPath: string): Promise<void> {
  const rootReal = await realpath(resolve(targetDir)).catch((err: NodeJS.ErrnoException) => {
    throw ScpError.badInput(`target folder ${JSON.stringify(targetDir)} is not usable (${err.code ?? err.message}); create it or pick another`);
  });
  const full = resolve(finalPath);
  for (const leaf of [full, full + PARTIAL_SUFFIX]) {
    const st = await lstat(leaf).catch(() => undefined);
    if (st?.isSymbolicLink()) throw refuse(relative(resolve(targetDir), leaf), 'a symlink already sits at its place');
  }
  let probe = full;
  for (;;) {
    const real = await realpath(probe).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw ScpError.io(`cannot inspect ${probe}: ${err.code ?? err.message}`, err);
    });
    if (real !== undefined) {
      if (!isWithin(rootReal, real)) throw refuse(relative(resolve(targetDir), full), 'a symlink on its way leads outside the target folder');
      return;
    }
    const up = dirname(probe);
    if (up === probe) return;
    probe = up;
  }
}

/** Checks, creates the item's parent folders, and checks again (a symlink could have appeared meanwhile). */
export async function prepareItemPath(targetDir: string, itemPath: string | null | undefined, name: string, opts: SafePathOptions = {}): Promise<string> {
  const full = resolveItemPath(targetDir, itemPath, name, opts);
  await assertInsideTarget(targetDir, full);
  await mkdir(dirname(full), { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw ScpError.io(`cannot create folder ${dirname(full)}: ${err.code ?? err.message}; check permissions and free space`, err);
  });
  await assertInsideTarget(targetDir, full);
  return full;
}

function isWithin(root: string, p: string): boolean {
  if (p === root) return true;
  const withSep = root.endsWith(sep) ? root : root + sep;
  return p.startsWith(withSep);
}
