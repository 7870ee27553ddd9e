import { Worker } from 'node:worker_threads';

/** Flags only a main entry takes (the acceptance runner starts node with --input-type=module over stdin). */
const mainOnly = (a: string): boolean => a.startsWith('--input-type') || a.startsWith('--eval') || a === '-e' || a.startsWith('--print');

let accepted: string[] | undefined;

/**
 * The execArgv our worker threads start with: the parent's, less what a worker refuses. Main-entry flags make a
 * worker fail at boot; V8 and process-wide flags (`node --max-old-space-size=4096 app.js`, --stack-size,
 * --maglev) make `new Worker` throw — they already hold for every thread, so dropping them loses nothing.
 * Worked out once per process: a list that has flags left is tried on a throwaway worker (a thread that runs
 * nothing and ends), and the flags Node names as refused are dropped.
 */
export function workerExecArgv(): string[] {
  return (accepted ??= acceptedByWorkers(process.execArgv.filter((a) => !mainOnly(a))));
}

/** `argv` less the flags a worker refuses (all of them when Node's message cannot be read). */
export function acceptedByWorkers(argv: string[], probe: (argv: string[]) => void = tryWorker): string[] {
  if (argv.length === 0) return argv;
  try {
    probe(argv);
    return argv;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return [];
    const named = refusedFlags((err as Error).message);
    const kept = argv.filter((a) => !named.has(a));
    if (kept.length === argv.length || kept.length === 0) return [];
    try {
      probe(kept);
      return kept;
    } catch {
      return [];
    }
  }
}

/** The flags in Node's "Initiated Worker with invalid execArgv flags: --a, --b=1". */
export function refusedFlags(message: string): Set<string> {
  const at = message.indexOf(': ');
  return new Set(at < 0 ? [] : message.slice(at + 2).split(', ').map((s) => s.trim()).filter(Boolean));
}

/** Throws as `new Worker` does; a worker that starts runs nothing and ends by itself (no terminate mid-boot). */
function tryWorker(argv: string[]): void {
  new Worker('', { eval: true, execArgv: argv, stdout: true, stderr: true }).unref();
}
