/**
 * Scaffolding for the whole-node tests in test/node: temp folders and started nodes that are cleaned up after
 * every test of the file that calls `nodeTestDirs` (at its top level).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { Node } from '../../src/index.js';

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

/**
 * A seeder holding `bytes` of random data as one private share, and a downloader that bootstraps from it; both on
 * loopback, pushed onto `nodes` (so stopped after the test), their data folders under one `tmp()` folder, `root`.
 */
export async function seederAndDownloader(
  dirs: { nodes: Node[]; tmp: (prefix?: string) => string },
  bytes: number,
): Promise<{ root: string; data: Buffer; seeder: Node; dl: Node; shareId: string; contentId: string }> {
  const root = dirs.tmp();
  const data = randomBytes(bytes);
  const file = path.join(root, 'big.bin');
  fs.writeFileSync(file, data);
  const start = async (name: string, bootstrap: string[] = []): Promise<Node> => {
    const n = await Node.start({ dataDir: path.join(root, name), listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap });
    dirs.nodes.push(n);
    return n;
  };
  const seeder = await start('seeder');
  const pub = await seeder.publishFiles([file], { title: 'test', visibility: 'private' });
  const [item] = await seeder.listShareItems(pub.shareId);
  const dl = await start('dl', seeder.addresses());
  return { root, data, seeder, dl, shareId: pub.shareId, contentId: item!.contentId };
}
