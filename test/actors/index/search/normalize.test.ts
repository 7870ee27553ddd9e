import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { indexKey, isWordChar, MAX_INDEX_TOKEN_CHARS, normaliseText, tokenize } from '../../../../src/actors/index/search/normalize.js';

const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string());

describe('normalise and tokenize', () => {
  it('NFKC + lowercase, e.g. full-width and composed forms', () => {
    expect(normaliseText('ＡＢＣ１')).toBe('abc1');
    expect(normaliseText('Cafe\u0301')).toBe(normaliseText('CAFÉ'));
    expect(tokenize('Ünïcödé — ファイル_名前.TXT 🎉party')).toEqual(['ünïcödé', 'ファイル', '名前', 'txt', 'party']);
  });

  it('normalisation is idempotent', () => {
    fc.assert(fc.property(text, (s) => normaliseText(normaliseText(s)) === normaliseText(s)), { numRuns: 2000 });
  });

  it('tokens are non-empty, never contain a separator, and are already normalised', () => {
    fc.assert(
      fc.property(text, (s) => {
        for (const t of tokenize(s)) {
          if (t === '') return false;
          for (const ch of t) if (!isWordChar(ch)) return false;
          if (normaliseText(t) !== t && tokenize(t).join(' ') !== t) return false;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it('tokenising is stable: the tokens of the joined tokens are the tokens', () => {
    fc.assert(fc.property(text, (s) => {
      const toks = tokenize(s);
      expect(tokenize(toks.join(' '))).toEqual(toks);
    }), { numRuns: 1000 });
  });

  it('index keys cut long tokens on code point boundaries', () => {
    const long = '😀'.repeat(100);
    const k = indexKey(long);
    expect([...k].length).toBe(MAX_INDEX_TOKEN_CHARS);
    expect(long.startsWith(k)).toBe(true);
    expect(indexKey('short')).toBe('short');
  });
});
