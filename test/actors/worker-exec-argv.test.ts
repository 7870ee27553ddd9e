import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptedByWorkers, refusedFlags } from '../../src/actors/runtime/worker-exec-argv.js';

const refuse = (bad: Set<string>) => (argv: string[]) => {
  const named = argv.filter((a) => bad.has(a));
  if (named.length) throw Object.assign(new Error(`Initiated Worker with invalid execArgv flags: ${named.join(', ')}`), { code: 'ERR_WORKER_INVALID_EXEC_ARGV' });
};

describe('worker execArgv', () => {
  it('keeps what workers take and drops exactly the flags Node names as refused', () => {
    expect(acceptedByWorkers(['--enable-source-maps', '--max-old-space-size=2048', '--conditions=x', '--stack-size=900'], refuse(new Set(['--max-old-space-size=2048', '--stack-size=900'])))).toEqual([
      '--enable-source-maps',
      '--conditions=x',
    ]);
  });

  it('property: the result is the input less the refused flags, in order', () => {
    const flag = fc.stringMatching(/^--[a-z][a-z-]{0,12}(=[0-9]{1,4})?$/);
    fc.assert(
      fc.property(fc.uniqueArray(flag, { maxLength: 8 }), fc.array(fc.boolean(), { maxLength: 8 }), (argv, marks) => {
        const bad = new Set(argv.filter((_, i) => marks[i]));
        const kept = argv.filter((a) => !bad.has(a));
        expect(acceptedByWorkers(argv, refuse(bad))).toEqual(kept.length === 0 ? [] : kept);
      }),
    );
  });

  it('an unreadable refusal or another error leaves the workers no flags (they inherit the process-wide ones anyway)', () => {
    const garbled = () => {
      throw Object.assign(new Error('something else'), { code: 'ERR_WORKER_INVALID_EXEC_ARGV' });
    };
    expect(acceptedByWorkers(['--a', '--b'], garbled)).toEqual([]);
    expect(
      acceptedByWorkers(['--a'], () => {
        throw new Error('no');
      }),
    ).toEqual([]);
    expect(refusedFlags('Initiated Worker with invalid execArgv flags: --x=1, --y')).toEqual(new Set(['--x=1', '--y']));
  });

  it('a real worker refuses V8 flags and Node names them', () => {
    expect(acceptedByWorkers(['--max-old-space-size=2048'])).toEqual([]);
    expect(acceptedByWorkers(['--enable-source-maps', '--stack-size=900'])).toEqual(['--enable-source-maps']);
  });
});
