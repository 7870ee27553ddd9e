/**
 * File-system failures as typed errors that say what to do next. Download and seeding code never lets a
 * raw errno reach the user.
 */
import { ScpError } from '../../errors.js';

export function fsError(err: unknown, doing: string, path: string): ScpError {
  if (err instanceof ScpError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
  const details = { errno: code, path };
  const mk = (msg: string): ScpError => new ScpError('IO', msg, details, { cause: err });
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return mk(`disk full while ${doing} ${path}; free some space (or pick another folder) and resume the download`);
    case 'EACCES':
    case 'EPERM':
      return mk(`permission denied while ${doing} ${path}; pick a download folder this user can write to`);
    case 'EROFS':
      return mk(`${path} is on a read-only file system; pick a writable download folder`);
    case 'ENOENT':
    case 'ENOTDIR':
      return mk(`${path} (or a folder above it) no longer exists while ${doing} it; check the download folder`);
    case 'EISDIR':
      return mk(`${path} is a folder, not a file; remove it or pick another target`);
    case 'ENAMETOOLONG':
      return mk(`the path ${path} is too long for this file system; pick a shorter download folder`);
    case 'ELOOP':
      return mk(`${path} is a symlink; the download refuses to write through it`);
    case 'EMFILE':
    case 'ENFILE':
      return mk(`too many open files while ${doing} ${path}; raise the open-file limit (ulimit -n) or run fewer downloads`);
    case 'EIO':
      return mk(`the disk reported an I/O error while ${doing} ${path}; check the disk`);
    default:
      return mk(`${doing} ${path} failed (${code}: ${(err as Error | undefined)?.message ?? String(err)})`);
  }
}
