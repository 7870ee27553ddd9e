// What the reliability campaigns share (docs/RELIABILITY.md): the built package, random files, sha256,
// a seeded PRNG, polling, thread counts. The campaigns import the compiled node from dist/ so that they run
// as scripts (`npm run build` first) and from the e2e tests (test/global-setup.ts compiles dist/).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
/** SCP2P_DIST points at another build (e.g. a snapshot, while the tree is being recompiled under you). */
export const DIST = process.env.SCP2P_DIST ?? join(ROOT, 'dist/index.js');
export const MiB = 1 << 20;

export async function loadScp2p() {
  if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build` first');
  return import(pathToFileURL(DIST).href);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: the campaign's own choices (victims, delays) replay from the printed seed. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    shuffle(xs) {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [xs[i], xs[j]] = [xs[j], xs[i]];
      }
      return xs;
    },
  };
}

/** Random bytes written 4 MiB at a time (a 256 MiB file never sits in memory whole). */
export async function randomFile(path, bytes) {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'w');
  try {
    for (let done = 0; done < bytes; ) {
      const n = Math.min(4 * MiB, bytes - done);
      await fh.write(randomBytes(n), 0, n, done);
      done += n;
    }
  } finally {
    await fh.close();
  }
}

export async function sha256File(path) {
  const h = createHash('sha256');
  for await (const b of createReadStream(path, { highWaterMark: MiB })) h.update(b);
  return h.digest('hex');
}

export async function waitFor(cond, { withinMs = 30_000, everyMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${withinMs} ms`);
    await sleep(everyMs);
  }
}

/** OS threads of this process (Linux): worker threads that outlive their node show up here. */
export function threadCount() {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return -1;
  }
}

/** Every file under `dir`, relative paths. */
export function listFiles(dir, prefix = '') {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out;
}

export const quantile = (sorted, q) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);

export const jsonSafe = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x), 2);

/** `--name value` / `--flag` options over defaults (numbers stay numbers). */
export function parseOpts(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const next = argv[i + 1];
    if (typeof defaults[key] === 'boolean' && (next === 'true' || next === 'false')) {
      out[key] = next === 'true';
      i++;
    } else if (next === undefined || next.startsWith('--')) out[key] = true;
    else {
      out[key] = typeof defaults[key] === 'number' ? Number(next) : next;
      i++;
    }
  }
  return out;
}
