import fs from 'node:fs';
import path from 'node:path';
import { ScpError } from '../errors.js';

/**
 * One running node per data directory. The lock file holds the owner's pid; a lock whose process is gone is
 * stale and taken over. Within one process a second node on the same directory is refused as well.
 */
const heldHere = new Set<string>();

export interface DataDirLock {
  readonly dir: string;
  release(): void;
}

export function lockDataDir(dataDir: string): DataDirLock {
  const dir = path.resolve(dataDir);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'LOCK');
  if (heldHere.has(dir)) throw inUse(dir, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      heldHere.add(dir);
      let released = false;
      return {
        dir,
        release() {
          if (released) return;
          released = true;
          heldHere.delete(dir);
          fs.rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ScpError.io(`cannot lock data directory ${dir}: ${String(err)}`, err);
      const owner = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) throw inUse(dir, owner);
      // Stale: its process is gone (or it was ours and we no longer hold it).
      fs.rmSync(file, { force: true });
    }
  }
  throw ScpError.io(`cannot lock data directory ${dir}: another process keeps racing for it`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inUse(dir: string, pid: number): ScpError {
  return new ScpError(
    'CONFLICT',
    `data directory ${dir} is in use by a running scp2p node (pid ${pid}); stop that node first or pick another --data-dir`,
    { dataDir: dir, pid },
  );
}
