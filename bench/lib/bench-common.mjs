// Scaffolding shared by the benches in bench/ (not a bench itself: bench/run.mjs runs only bench/*.bench.mjs):
//   - `root`, `distUrl`, `requireDist`, `importDist`: where the built package is, and the "dist/ is missing"
//     check every bench makes before it imports from dist/;
//   - `MIB`;
//   - `xorshiftBlocks`, `writePseudoRandomFile`: reproducible, incompressible test files (xorshift32, 8 MiB at a
//     time, constant memory; a bench passes its own seed, so each bench's file content is what it always was);
//   - `sha256File`: SHA-256 of a file, streamed, to check downloaded bytes;
//   - `jsonChild`: a child node process driven by JSON lines on stdin/stdout.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const MIB = 1 << 20;

/** The repository's root (bench/lib/../..). */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** file:// URL of `dist/<path>`, for `import()` (or to hand to a child process). */
export const distUrl = (path = 'index.js') => pathToFileURL(join(root, 'dist', path)).href;

/**
 * Exits the process (code 1) with "dist/ is missing: run <build> first" unless `dist/<path>` exists; returns
 * its URL. `build` is the command the message names.
 */
export function requireDist(path = 'index.js', build = '`npm run build`') {
  if (!existsSync(join(root, 'dist', path))) {
    console.error(`dist/ is missing: run ${build} first`);
    process.exit(1);
  }
  return distUrl(path);
}

/** `requireDist`, then imports that module. */
export const importDist = (path = 'index.js', build = undefined) => import(requireDist(path, build));

/**
 * An endless stream of 8 MiB blocks of xorshift32 output (each state word stored little-endian), from `seed`.
 * `next()` refills and returns the same buffer; the state carries on from block to block (and file to file).
 */
export function xorshiftBlocks(seed) {
  const block = new Uint8Array(8 * MIB);
  let x = seed;
  return {
    next() {
      for (let i = 0; i < block.length; i += 4) {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
        block[i] = x & 0xff; block[i + 1] = (x >>> 8) & 0xff; block[i + 2] = (x >>> 16) & 0xff; block[i + 3] = x >>> 24;
      }
      return block;
    },
  };
}

/**
 * Writes `bytes` bytes of `blocks` (an `xorshiftBlocks` stream, or a seed to start one) to `path`, creating its
 * folder; a final partial block is cut short (what is left of it is not used for the next file).
 */
export function writePseudoRandomFile(path, bytes, blocks) {
  const gen = typeof blocks === 'number' ? xorshiftBlocks(blocks) : blocks;
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    for (let left = Math.round(bytes); left > 0; ) {
      const block = gen.next();
      const n = Math.min(left, block.length);
      writeSync(fd, block, 0, n);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

/** SHA-256 of a file as hex, read as a stream. */
export async function sha256File(path) {
  const h = createHash('sha256');
  for await (const b of createReadStream(path)) h.update(b);
  return h.digest('hex');
}

/**
 * `node <args>` as a child that takes commands as JSON lines on stdin and answers with JSON lines on stdout (other
 * output lines are ignored; stderr is inherited). `next()` is the next answer; it rejects once the child exited.
 */
export function jsonChild(args) {
  const p = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const queue = [];
  const waiting = [];
  let exitCode;
  createInterface({ input: p.stdout }).on('line', (l) => {
    let m;
    try {
      m = JSON.parse(l);
    } catch {
      return;
    }
    const w = waiting.shift();
    if (w) w.resolve(m);
    else queue.push(m);
  });
  const exited = new Promise((resolve) =>
    p.once('exit', (code) => {
      exitCode = code;
      for (const w of waiting.splice(0)) w.reject(new Error(`${args[0]} exited with ${code}`));
      resolve(code);
    }),
  );
  return {
    next: () => {
      if (queue.length) return Promise.resolve(queue.shift());
      if (exitCode !== undefined) return Promise.reject(new Error(`${args[0]} exited with ${exitCode}`));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    send: (m) => p.stdin.write(JSON.stringify(m) + '\n'),
    exited,
  };
}
