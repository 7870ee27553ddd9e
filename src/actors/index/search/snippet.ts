/**
 * Result snippets as the reference makes them (PROTOCOL.md §11): the first of title, description, name that
 * contains a query term (terms: the raw query lowercased and split on non-alphanumerics, no NFKC), cut to a
 * window of 48 UTF-8 bytes either side of the match, trimmed, with "..." on each cut side.
 */

export const SNIPPET_RADIUS_BYTES = 48;
const SPLIT = /[^\p{Alphabetic}\p{N}]+/u;

function utf8Len(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

export function snippetTerms(query: string): string[] {
  return query
    .toLowerCase()
    .split(SPLIT)
    .filter((t) => t !== '');
}

/** The window around [start, end) of `text`, widened by up to `radius` UTF-8 bytes on code point boundaries. */
export function windowAround(text: string, start: number, end: number, radius = SNIPPET_RADIUS_BYTES): string {
  let from = start;
  let budget = radius;
  while (from > 0) {
    let i = from - 1;
    const lo = text.charCodeAt(i);
    if (lo >= 0xdc00 && lo <= 0xdfff && i > 0) i--; // step over a surrogate pair as one code point
    const cost = utf8Len(text.codePointAt(i) ?? 0);
    if (cost > budget) break;
    budget -= cost;
    from = i;
  }
  let to = end;
  budget = radius;
  while (to < text.length) {
    const cp = text.codePointAt(to) ?? 0;
    const cost = utf8Len(cp);
    if (cost > budget) break;
    budget -= cost;
    to += cp > 0xffff ? 2 : 1;
  }
  const body = text.slice(from, to).trim();
  return (from > 0 ? '...' : '') + body + (to < text.length ? '...' : '');
}

export function makeSnippet(query: string, fields: readonly (string | null)[]): string | null {
  const terms = snippetTerms(query);
  if (terms.length === 0) return null;
  for (const text of fields) {
    if (text === null || text === '') continue;
    const lower = text.toLowerCase();
    // Lowercasing can change lengths (rare); then cut the lowercased text so offsets stay valid.
    const shown = lower.length === text.length ? text : lower;
    for (const term of terms) {
      const at = lower.indexOf(term);
      if (at >= 0) return windowAround(shown, at, at + term.length);
    }
  }
  return null;
}
