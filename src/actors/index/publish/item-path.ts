/**
 * Pure rules for what a published file looks like in a manifest: its normalised relative path (the
 * reference's `normalize_item_path`), its mime type, and its tags.
 *
 * Tag rule (ours; the reference publishes no tags): the folder names on the item's path from the top, then
 * the file extension, lowercased, each once, skipping any longer than 64 characters, at most 8 in all
 * (so at most 7 folders). "Music/Rock/song.MP3" → ["music", "rock", "mp3"]. Search scores tags, so items of a
 * "Rock" folder are found by "rock" even when their names do not say so.
 */
import { lookup } from 'mime-types';
import { ScpError } from '../../../errors.js';
import { MAX_ITEM_PATH_BYTES } from '../../../protocol/limits.js';

export const MAX_TAGS = 8;
export const MAX_TAG_CHARS = 64;

/** `\` → `/`, no drive letter, no `..`, `.` and empty segments dropped, ≤ 1,024 UTF-8 bytes. Throws BAD_INPUT. */
export function normalizeItemPath(raw: string): string {
  const s = raw.replace(/\\/g, '/');
  if (/^[A-Za-z]:/.test(s)) throw ScpError.badInput(`item path "${raw}" has a drive letter; paths must be relative`, { path: raw });
  if (s.includes('\u0000')) throw ScpError.badInput('item path contains a NUL character', { path: raw });
  const segs = s.split('/').filter((x) => x !== '' && x !== '.');
  if (segs.includes('..')) throw ScpError.badInput(`item path "${raw}" contains "..": paths must stay inside the folder`, { path: raw });
  if (segs.length === 0) throw ScpError.badInput(`item path "${raw}" is empty`, { path: raw });
  const out = segs.join('/');
  const bytes = Buffer.byteLength(out, 'utf8');
  if (bytes > MAX_ITEM_PATH_BYTES) {
    throw ScpError.badInput(
      `item path "${out.slice(0, 80)}…" is ${bytes} bytes; at most ${MAX_ITEM_PATH_BYTES} are allowed: shorten or flatten its folders`,
      { path: out, bytes },
    );
  }
  return out;
}

export function mimeForName(name: string): string | null {
  const m = lookup(name);
  return m === false ? null : m;
}

export function extensionOf(name: string): string | null {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return null; // ".bashrc" and "name." have none
  return name.slice(dot + 1);
}

/** Tags for an item at normalised `path` (null for a loose file: then only the extension). */
export function tagsForItem(name: string, path: string | null): string[] {
  const folders = path === null ? [] : path.split('/').slice(0, -1);
  const ext = extensionOf(name);
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (raw: string): void => {
    const t = raw.trim().toLowerCase();
    if (t === '' || [...t].length > MAX_TAG_CHARS || seen.has(t) || out.length >= MAX_TAGS) return;
    seen.add(t);
    out.push(t);
  };
  for (const f of folders.slice(0, MAX_TAGS - 1)) add(f);
  if (ext !== null) add(ext);
  return out;
}
