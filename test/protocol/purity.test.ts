import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The protocol core is sans-I/O: no clocks, timers, randomness, file or network I/O, or threads.
// (A lint rule would do the same; this keeps the check inside `npm test` with no extra tooling.)
const dir = join(import.meta.dirname, '../../src/protocol');
const FORBIDDEN: [RegExp, string][] = [
  [/\bDate\.now\(|\bnew Date\(/, 'wall clock (pass now as an argument)'],
  [/\bsetTimeout\(|\bsetInterval\(|\bsetImmediate\(/, 'timers'],
  [/\bMath\.random\(/, 'unseeded randomness (inject a Random)'],
  [/\brandomBytes\(|\bgetRandomValues\(/, 'randomness (inject it)'],
  [/from 'node:(fs|fs\/promises|net|dgram|tls|http|https|worker_threads|child_process)'/, 'I/O or threads'],
];

describe('src/protocol stays pure', () => {
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    it(f, () => {
      const src = readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => !l.trim().startsWith('*') && !l.trim().startsWith('//'))
        .join('\n');
      for (const [re, why] of FORBIDDEN) expect(re.test(src), `${f} uses ${why}`).toBe(false);
    });
  }
});
