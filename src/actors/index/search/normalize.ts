/**
 * Search text normalisation and tokenising (PROTOCOL.md §11). Local only: nothing here reaches the wire, so
 * small Unicode differences from the reference never affect interop.
 *
 * - normaliseText: NFKC, then lowercase, repeated until stable (at most a few rounds). The reference does one
 *   round; a handful of code points (e.g. some compatibility characters whose lowercase form is not NFKC)
 *   need a second one for the result to be idempotent, which the index relies on (a normalised key must
 *   normalise to itself).
 * - tokenize: split on every code point that is not alphabetic or numeric. `\p{Alphabetic}` ∪ `\p{N}` is
 *   exactly Rust's `char::is_alphanumeric`, a superset of `\p{L}\p{N}` that also keeps combining vowel signs
 *   (Devanagari, Thai, ...) inside their word.
 */

const SEPARATORS = /[^\p{Alphabetic}\p{N}]+/u;
const WORD_CHAR = /^[\p{Alphabetic}\p{N}]$/u;
/** Tokens longer than this (in code points) are cut for the inverted index only; scoring sees full text. */
export const MAX_INDEX_TOKEN_CHARS = 64;

const ASCII = /^[\x00-\x7f]*$/;

export function normaliseText(s: string): string {
  if (ASCII.test(s)) return s.toLowerCase(); // NFKC is the identity on ASCII, and so is a second round
  let cur = s.normalize('NFKC').toLowerCase();
  for (let i = 0; i < 4; i++) {
    const next = cur.normalize('NFKC').toLowerCase();
    if (next === cur) return cur;
    cur = next;
  }
  return cur;
}

/** Tokens of already-normalised text, in order, duplicates kept. */
export function tokenizeNormalised(norm: string): string[] {
  const out: string[] = [];
  for (const piece of norm.split(SEPARATORS)) if (piece !== '') out.push(piece);
  return out;
}

/** Normalises, then splits on non-alphanumerics; empty pieces dropped. */
export function tokenize(s: string): string[] {
  return tokenizeNormalised(normaliseText(s));
}

export function isWordChar(ch: string): boolean {
  return WORD_CHAR.test(ch);
}

/** The key a token is filed under in the inverted index: cut to MAX_INDEX_TOKEN_CHARS code points. */
export function indexKey(token: string): string {
  if (token.length <= MAX_INDEX_TOKEN_CHARS) return token;
  const cps = Array.from(token);
  return cps.length <= MAX_INDEX_TOKEN_CHARS ? token : cps.slice(0, MAX_INDEX_TOKEN_CHARS).join('');
}

/** Whitespace-separated words of normalised text (the reference's `split_whitespace`). */
export function whitespaceWords(norm: string): string[] {
  return norm.split(/\s+/u).filter((w) => w !== '');
}
