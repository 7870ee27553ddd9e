/**
 * Scaffolding for the whole-node tests in test/node: temp folders and started nodes that are cleaned up after
 * every test of the file that calls `nodeTestDirs` (at its top level).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import type { Node } from '../../src/index.js';

/**
 * Registers an afterEach that stops every node pushed onto `nodes` (`stop()` failures fail the test unless
 * `ignoreStopErrors`) and then removes every folder `tmp` made; `tmp(prefix)` makes a fresh folder under the OS
 * temp folder, named from `defaultPrefix` unless given another.
 */
export function nodeTestDirs(defaultPrefix: string, opts: { ignoreStopErrors?: boolean } = {}): { nodes: Node[]; tmp: (prefix?: string) => string } {
  const nodes: Node[] = [];
  const dirs: string[] = [];
  const tmp = (prefix = defaultPrefix): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => (opts.ignoreStopErrors ? n.stop().catch(() => {}) : n.stop())));
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return { nodes, tmp };
}
