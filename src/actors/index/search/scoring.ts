/**
 * The reference's relevance score (PROTOCOL.md §11), computed against the whole normalised query `q`.
 * Pure and allocation-free on the hot path: the index precomputes each item's normalised fields.
 */

export const SCORE = {
  nameEquals: 100,
  nameWordEquals: 85,
  nameWordPrefix: 65,
  nameContains: 45,
  tagEquals: 30,
  tagPrefix: 20,
  title: 12,
  description: 8,
  /**
   * Ours, not the reference's (which does not index paths): the folder part of the item's path contains q.
   * Lowest of all, so a path-only hit ranks below every reference signal.
   */
  folder: 4,
} as const;

/** What scoring needs of one item, normalised (NFKC + lowercase) once at index time. */
export interface ScoredFields {
  nameNorm: string;
  /** Whitespace-separated words of nameNorm. */
  nameWords: readonly string[];
  tagsNorm: readonly string[];
  /** Normalised folder part of the path ("a/b" for "a/b/c.txt"), "" when none. */
  folderNorm: string;
}

export function nameScore(f: ScoredFields, q: string): number {
  if (f.nameNorm === q) return SCORE.nameEquals;
  let prefix = false;
  for (const w of f.nameWords) {
    if (w === q) return SCORE.nameWordEquals;
    if (!prefix && w.startsWith(q)) prefix = true;
  }
  if (prefix) return SCORE.nameWordPrefix;
  return f.nameNorm.includes(q) ? SCORE.nameContains : 0;
}

export function tagScore(f: ScoredFields, q: string): number {
  let s = 0;
  for (const t of f.tagsNorm) {
    if (t === q) s += SCORE.tagEquals;
    else if (t.startsWith(q)) s += SCORE.tagPrefix;
  }
  return s;
}

/** Base score (before the share weight). `shareBonus` is the title/description part, computed once per share. */
export function itemScore(f: ScoredFields, q: string, shareBonus: number): number {
  let s = nameScore(f, q) + tagScore(f, q) + shareBonus;
  if (f.folderNorm !== '' && f.folderNorm.includes(q)) s += SCORE.folder;
  return s;
}

export function shareBonus(titleNorm: string | null, descriptionNorm: string | null, q: string): number {
  let s = 0;
  if (titleNorm !== null && titleNorm.includes(q)) s += SCORE.title;
  if (descriptionNorm !== null && descriptionNorm.includes(q)) s += SCORE.description;
  return s;
}
