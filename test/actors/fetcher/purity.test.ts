import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The fetcher's decision-making cores are sans-I/O (STYLE.md): time is an argument, randomness injected.
const dir = join(import.meta.dirname, '../../../src/actors/fetcher');
const PURE = ['swarm-scheduler.ts', 'chunk-bitmap.ts', '../runtime/token-bucket.ts', 'download-registry.ts'];
const FORBIDDEN: [RegExp, string][] = [
  [/\bDate\.now\(|\bnew Date\(|performance\.now\(/, 'a clock (pass now as an argument)'],
  [/\bsetTimeout\(|\bsetInterval\(|\bsetImmediate\(/, 'timers'],
  [/\bMath\.random\(/, 'unseeded randomness (inject a Random)'],
  [/from 'node:/, 'node I/O modules'],
];

describe('fetcher cores stay pure', () => {
  for (const f of PURE) {
    it(f, () => {
      const src = readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => !l.trim().startsWith('*') && !l.trim().startsWith('//'))
        .join('\n');
      for (const [re, why] of FORBIDDEN) expect(re.test(src), `${f} uses ${why}`).toBe(false);
    });
  }
});
