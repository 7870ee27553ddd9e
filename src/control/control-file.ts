/**
 * Where a running node tells local clients how to reach it: `<dataDir>/control.json` (url, pid) and the
 * per-data-dir access token in `<dataDir>/control-token`. Both are 0600, so other local users can't drive the
 * node; the token also keeps web pages in a browser from driving it (they can't read the file).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ControlInfo {
  url: string;
  pid: number;
  startedAt: number;
}

export function controlFilePath(dataDir: string): string {
  return join(dataDir, 'control.json');
}

/** The data dir's token, made on first use and kept. */
export function loadOrCreateToken(dataDir: string): string {
  const p = join(dataDir, 'control-token');
  if (existsSync(p)) {
    const t = readFileSync(p, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(t)) return t;
  }
  mkdirSync(dataDir, { recursive: true });
  const t = randomBytes(32).toString('hex');
  writeAtomic(p, `${t}\n`);
  return t;
}

export function readToken(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, 'control-token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function writeControlInfo(dataDir: string, info: ControlInfo): void {
  writeAtomic(controlFilePath(dataDir), `${JSON.stringify(info)}\n`);
}

export function readControlInfo(dataDir: string): ControlInfo | undefined {
  try {
    return JSON.parse(readFileSync(controlFilePath(dataDir), 'utf8')) as ControlInfo;
  } catch {
    return undefined;
  }
}

export function removeControlInfo(dataDir: string, pid = process.pid): void {
  const info = readControlInfo(dataDir);
  if (info && info.pid === pid) rmSync(controlFilePath(dataDir), { force: true });
}

/** Write to a temporary name, then rename: a reader never sees half a file. */
export function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, path);
}
