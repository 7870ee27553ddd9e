#!/usr/bin/env node
// `npm run vectors`: regenerates OUR conformance vectors (never vectors/reference.json, which holds the Rust
// reference's fixed facts) from the built package in dist/. Every module in scripts/vectors/*.mjs is a generator
// exporting `file` (a name under vectors/) and `generate(protocol)`; drop one in to add vectors.
// Prints, per file, which entries changed bytes so an accidental wire change cannot slip through unnoticed.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const distIndex = join(root, 'dist/protocol/index.js');
if (!existsSync(distIndex)) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const protocol = await import(pathToFileURL(distIndex).href);
const genDir = join(root, 'scripts/vectors');

function flatten(o, prefix = '', out = {}) {
  if (o && typeof o === 'object' && !Array.isArray(o)) for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  else out[prefix] = JSON.stringify(o);
  return out;
}

let changedFiles = 0;
for (const name of readdirSync(genDir).filter((f) => f.endsWith('.mjs')).sort()) {
  const gen = await import(pathToFileURL(join(genDir, name)).href);
  if (typeof gen.generate !== 'function' || typeof gen.file !== 'string') {
    console.error(`${name}: not a generator (needs \`export const file\` and \`export function generate(p)\`)`);
    process.exitCode = 1;
    continue;
  }
  if (gen.file === 'reference.json') throw new Error(`${name}: vectors/reference.json is fixed and must never be regenerated`);
  const target = join(root, 'vectors', gen.file);
  const next = gen.generate(protocol);
  const before = existsSync(target) ? flatten(JSON.parse(readFileSync(target, 'utf8'))) : {};
  const after = flatten(next);
  const added = Object.keys(after).filter((k) => !(k in before));
  const removed = Object.keys(before).filter((k) => !(k in after));
  const changed = Object.keys(after).filter((k) => k in before && before[k] !== after[k]);
  writeFileSync(target, JSON.stringify(next, null, 2) + '\n');
  if (added.length + removed.length + changed.length === 0) {
    console.log(`vectors/${gen.file}: unchanged (${Object.keys(after).length} entries)`);
    continue;
  }
  changedFiles++;
  console.log(`vectors/${gen.file}: ${changed.length} changed, ${added.length} added, ${removed.length} removed`);
  for (const k of changed) console.log(`  ~ ${k}`);
  for (const k of added) console.log(`  + ${k}`);
  for (const k of removed) console.log(`  - ${k}`);
}
if (changedFiles > 0) console.log('\nBytes changed: if this was not an intended wire change, it is a compatibility bug.');
