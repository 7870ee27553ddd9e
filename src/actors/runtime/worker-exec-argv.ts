/**
 * Worker threads inherit the parent's execArgv; a few flags are only valid for a main entry (the acceptance
 * runner starts node with --input-type=module over stdin) and make a worker fail at boot. Drop those.
 */
export function workerExecArgv(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--input-type') && !a.startsWith('--eval') && a !== '-e' && !a.startsWith('--print'));
}
