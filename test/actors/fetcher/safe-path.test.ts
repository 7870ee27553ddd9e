import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScpError } from '../../../src/errors.js';
import {
  assertInsideTarget,
  MAX_SEGMENT_BYTES,
  PARTIAL_SUFFIX,
  prepareItemPath,
  resolveItemPath,
} from '../../../src/actors/fetcher/safe-path.js';

const T = resolve('/tmp/target');

describe('resolveItemPath', () => {
  it('rebuilds folder paths under the target', () => {
    expect(resolveItemPath(T, 'docs/a.txt', 'a.txt')).toBe(join(T, 'docs', 'a.txt'));
    expect(resolveItemPath(T, null, 'a.txt')).toBe(join(T, 'a.txt'));
    expect(resolveItemPath(T, undefined, 'é 中文.bin')).toBe(join(T, 'é 中文.bin'));
    expect(resolveItemPath(T, 'a\\b\\c.txt', 'c.txt')).toBe(join(T, 'a', 'b', 'c.txt')); // reference: \ → /
    expect(resolveItemPath(T, './x//y/./z', 'z')).toBe(join(T, 'x', 'y', 'z'));
    expect(resolveItemPath(T, 'file: notes.txt', 'n')).toBe(join(T, 'file: notes.txt')); // fine on POSIX
    expect(resolveItemPath(T, '...', 'n')).toBe(join(T, '...'));
  });

  const hostile: [string | null, string, RegExp][] = [
    ['../evil', 'evil', /climbs out/],
    ['a/../../evil', 'evil', /climbs out/],
    ['a/b/..', 'x', /climbs out/],
    ['..\\..\\evil', 'evil', /climbs out/],
    ['a\\..\\..\\evil', 'evil', /climbs out/],
    ['/etc/passwd', 'passwd', /absolute/],
    ['\\etc\\passwd', 'passwd', /absolute/],
    ['\\\\server\\share\\x', 'x', /absolute/],
    ['//server/share/x', 'x', /absolute/],
    ['C:\\Windows\\x', 'x', /drive letter/],
    ['c:/x', 'x', /drive letter/],
    ['a/C:x', 'x', /drive letter/],
    ['a\u0000b', 'x', /NUL/],
    ['a/b\nc', 'x', /control/],
    ['a/\u001bc', 'x', /control/],
    ['', 'x', /empty/],
    ['./.', 'x', /names no file/],
    ['//', 'x', /absolute/],
    [null, '../x', /cannot contain/],
    [null, 'a/b', /cannot contain/],
    [null, 'a\\b', /cannot contain/],
    [null, '..', /climbs out/],
    [null, '', /empty/],
    ['x'.repeat(1025), 'x', /longer than 1024/],
    [`a/${'y'.repeat(MAX_SEGMENT_BYTES + 1)}`, 'x', /segment is longer/],
  ];
  for (const [p, name, why] of hostile) {
    it(`refuses ${JSON.stringify(p)} / ${JSON.stringify(name.slice(0, 20))}`, () => {
      let err: unknown;
      try {
        resolveItemPath(T, p, name);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ScpError);
      expect((err as ScpError).code).toBe('BAD_INPUT');
      expect((err as ScpError).message).toMatch(why);
      expect((err as ScpError).message).toMatch(/refusing unsafe item path/);
    });
  }

  it('portable mode also refuses Windows device names, streams and trailing dots', () => {
    for (const p of ['CON', 'a/nul.txt', 'Com1', 'lpt9.log', 'a/bb:stream', 'a/b.', 'a/b ', 'a/what?', 'a<b']) {
      expect(() => resolveItemPath(T, p, 'x', { portable: true }), p).toThrow(ScpError);
      expect(() => resolveItemPath(T, p, 'x', { portable: false }), p).not.toThrow();
    }
    expect(resolveItemPath(T, 'console/config.txt', 'x', { portable: true })).toBe(join(T, 'console', 'config.txt'));
  });

  it('property: whatever the path, the result stays strictly inside the target or the call throws BAD_INPUT', () => {
    const seg = fc.oneof(
      fc.constantFrom('..', '.', '', 'a', 'b.txt', 'C:', '\\', '/', '\u0000', 'con', '..\\', '~', '%2e%2e'),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 8 }), fc.constantFrom('/', '\\', ''), (parts, joiner) => {
        const p = parts.join(joiner);
        try {
          const out = resolveItemPath(T, p, 'n');
          expect(out.startsWith(T + '/')).toBe(true);
          expect(out.split('/')).not.toContain('..');
        } catch (e) {
          expect(e).toBeInstanceOf(ScpError);
          expect((e as ScpError).code).toBe('BAD_INPUT');
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('symlink escapes (real temp dir)', () => {
  let base: string;
  let target: string;
  let outside: string;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'scp2p-safe-path-'));
    target = join(base, 'target');
    outside = join(base, 'outside');
    await mkdir(join(target, 'inner'), { recursive: true });
    await mkdir(outside);
    await symlink(outside, join(target, 'escape')); // dir symlink leading out
    await symlink(join(target, 'inner'), join(target, 'ok-link')); // dir symlink staying in
    await symlink(join(outside, 'victim.txt'), join(target, 'file-link.txt')); // file symlink leading out
    await writeFile(join(outside, 'victim.txt'), 'keep me');
    await symlink(join(outside, 'p'), join(target, `planted.bin${PARTIAL_SUFFIX}`)); // planted partial
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('refuses a path through a symlinked folder that leads outside', async () => {
    await expect(prepareItemPath(target, 'escape/x.txt', 'x.txt')).rejects.toMatchObject({ code: 'BAD_INPUT', message: /symlink/ });
    await expect(prepareItemPath(target, 'escape/deep/er/x.txt', 'x.txt')).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('refuses an existing symlink at the final place or at the partial file', async () => {
    await expect(assertInsideTarget(target, join(target, 'file-link.txt'))).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(assertInsideTarget(target, join(target, 'planted.bin'))).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('allows symlinks that stay inside, and creates the parent folders', async () => {
    expect(await prepareItemPath(target, 'ok-link/a.txt', 'a.txt')).toBe(join(target, 'ok-link', 'a.txt'));
    const p = await prepareItemPath(target, 'new/sub/dir/f.bin', 'f.bin');
    expect(p).toBe(join(target, 'new', 'sub', 'dir', 'f.bin'));
    await writeFile(p, 'x'); // the folder exists now
  });

  it('a target folder that is itself a symlink is fine (its real path is the root)', async () => {
    const alias = join(base, 'alias');
    await symlink(target, alias);
    expect(await prepareItemPath(alias, 'z/y.txt', 'y.txt')).toBe(join(alias, 'z', 'y.txt'));
  });

  it('a missing target folder is a clear BAD_INPUT', async () => {
    await expect(assertInsideTarget(join(base, 'nope'), join(base, 'nope', 'a'))).rejects.toMatchObject({ code: 'BAD_INPUT', message: /not usable/ });
  });
});
