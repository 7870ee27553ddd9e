/**
 * blake3-wasm's Emscripten glue registers process-wide listeners that re-throw uncaught exceptions and
 * unhandled rejections. An embedder that handles those itself must keep its process alive after loading us.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('BLAKE3 loading leaves process error handling to the embedder', () => {
  it.each(['native', 'wasm'])('an embedder-handled uncaught exception and unhandled rejection do not kill the process (%s BLAKE3)', (backend) => {
    const hashUrl = pathToFileURL(path.join(root, 'dist/protocol/hash.js')).href;
    const script = `
      const { blake3 } = await import(${JSON.stringify(hashUrl)});
      const seen = [];
      process.on('uncaughtException', (e) => seen.push('exception:' + e.message));
      process.on('unhandledRejection', (e) => seen.push('rejection:' + e.message));
      setTimeout(() => { throw new Error('boom'); }, 1);
      setTimeout(() => { Promise.reject(new Error('nope')); }, 5);
      setTimeout(() => console.log(JSON.stringify({ seen, hash: Buffer.from(blake3(new Uint8Array(3))).toString('hex').slice(0, 8) })), 50);
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, SCP2P_BLAKE3: backend },
    });
    const result = JSON.parse(out.trim().split('\n').pop() as string) as { seen: string[]; hash: string };
    expect(result.seen).toEqual(['exception:boom', 'rejection:nope']);
    expect(result.hash).toHaveLength(8);
  });
});
