import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Actor worker threads and hashing-pool workers run compiled JS from dist/ (compiled-url.ts maps src -> dist
 * when the code runs from sources under vitest), so compile once before the tests. Type errors elsewhere in
 * the tree do not stop tsc from emitting; they are the typecheck script's business, not the tests'.
 */
export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {
      cwd: root,
      stdio: 'ignore',
    });
  } catch {
    // emitted anyway (noEmitOnError is off)
  }
}
