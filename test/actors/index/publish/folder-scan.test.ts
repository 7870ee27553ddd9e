import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanFiles, scanFolder } from '../../../../src/actors/index/publish/folder-scan.js';
import { normalizeItemPath, tagsForItem } from '../../../../src/actors/index/publish/item-path.js';

const base = mkdtempSync(path.join(tmpdir(), 'scp2p-scan-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function tree(root: string, files: Record<string, string>): void {
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), body);
  }
}

describe('item paths and tags', () => {
  it('normalises like the reference and refuses escapes', () => {
    expect(normalizeItemPath('a\\b\\c.txt')).toBe('a/b/c.txt');
    expect(normalizeItemPath('./a//b/./c')).toBe('a/b/c');
    expect(() => normalizeItemPath('a/../b')).toThrow(/\.\./);
    expect(() => normalizeItemPath('C:/x')).toThrow(/drive letter/);
    expect(() => normalizeItemPath('')).toThrow(/empty/);
    expect(() => normalizeItemPath('é'.repeat(513))).toThrow(/1024 are allowed/);
    expect(normalizeItemPath('é'.repeat(512))).toHaveLength(512);
  });

  it('tags: folders from the top, then the extension, lowercased, unique, at most 8', () => {
    expect(tagsForItem('song.MP3', 'Music/Rock/song.MP3')).toEqual(['music', 'rock', 'mp3']);
    expect(tagsForItem('.bashrc', null)).toEqual([]);
    expect(tagsForItem('a.txt', 'TXT/a.txt')).toEqual(['txt']);
    expect(tagsForItem('f.x', 'a/b/c/d/e/f/g/h/i/f.x')).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'x']);
  });
});

describe('scanFolder', () => {
  it('walks nested and non-ASCII names in a stable order with relative paths, mime and tags', async () => {
    const root = path.join(base, 'share');
    tree(root, {
      'b.txt': 'b',
      'Ünïcödé/résumé.pdf': 'pdf',
      '日本語/写真 1.jpg': 'jpg',
      'a/z/deep.flac': 'x'.repeat(1000),
      'a/y.md': '# y',
      'emoji 🎉/party.png': 'png',
    });
    const { files, skipped } = await scanFolder(root);
    expect(skipped).toEqual([]);
    expect(files.map((f) => f.path)).toEqual(['a/y.md', 'a/z/deep.flac', 'b.txt', 'emoji 🎉/party.png', 'Ünïcödé/résumé.pdf', '日本語/写真 1.jpg'].sort((a, b) => {
      // code unit order per segment, as the scan promises
      const sa = a.split('/');
      const sb = b.split('/');
      for (let i = 0; i < Math.min(sa.length, sb.length); i++) if (sa[i] !== sb[i]) return sa[i]! < sb[i]! ? -1 : 1;
      return sa.length - sb.length;
    }));
    const deep = files.find((f) => f.name === 'deep.flac')!;
    expect(deep).toMatchObject({ size: 1000n, mime: 'audio/x-flac', tags: ['a', 'z', 'flac'], absPath: path.join(root, 'a/z/deep.flac') });
    expect(files.find((f) => f.name === 'résumé.pdf')).toMatchObject({ mime: 'application/pdf', tags: ['ünïcödé', 'pdf'] });
    expect(files.find((f) => f.name === '写真 1.jpg')).toMatchObject({ mime: 'image/jpeg', tags: ['日本語', 'jpg'] });
    expect((await scanFolder(root)).files).toEqual(files);
  });

  it('follows symlinks inside the folder, never outside, and cuts loops', async () => {
    const root = path.join(base, 'links');
    const outside = path.join(base, 'outside');
    tree(root, { 'real/file.txt': 'in' });
    tree(outside, { 'secret.txt': 'no' });
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'leak.txt'));
    symlinkSync(outside, path.join(root, 'leakdir'));
    symlinkSync(path.join(root, 'real', 'file.txt'), path.join(root, 'alias.txt'));
    symlinkSync(root, path.join(root, 'real', 'loop'));
    const { files, skipped } = await scanFolder(root);
    expect(files.map((f) => f.path)).toEqual(['alias.txt', 'real/file.txt']);
    expect(skipped).toEqual(
      expect.arrayContaining([
        { path: 'leak.txt', reason: 'symlink_outside' },
        { path: 'leakdir', reason: 'symlink_outside' },
        { path: 'real/loop', reason: 'loop' },
      ]),
    );
  });

  it('fingerprints change with content, and loose files have no path', async () => {
    const root = path.join(base, 'fp');
    tree(root, { 'x.bin': 'one' });
    const [a] = await scanFiles([path.join(root, 'x.bin')]);
    expect(a).toMatchObject({ path: null, name: 'x.bin', tags: ['bin'] });
    writeFileSync(path.join(root, 'x.bin'), 'three');
    utimesSync(path.join(root, 'x.bin'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const [b] = await scanFiles([path.join(root, 'x.bin')]);
    expect(b!.size).toBe(5n);
    expect(b!.mtimeNs).not.toBe(a!.mtimeNs);
    await expect(scanFiles([root])).rejects.toThrow(/not a regular file/);
    await expect(scanFolder(path.join(root, 'x.bin'))).rejects.toThrow(/not a folder/);
    await expect(scanFolder(path.join(base, 'nope'))).rejects.toThrow(/cannot read/);
  });
});
