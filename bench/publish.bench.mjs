#!/usr/bin/env node
// Publish hashing throughput: a folder of SCP2P_BENCH_MIB MiB (default 1024) in 16 files, published through a
// real node's index actor (inline mode: folder scan, hashing pool with `hashThreads` lanes, manifest, signing,
// seeding), beside `b3sum` on the same files in the same run (one thread, and its default threads). Then the
// re-publish of the unchanged folder (hash cache: nothing is hashed again). Imports dist/: `npm run build` first.
// Options: SCP2P_BENCH_MIB (total size), SCP2P_BENCH_THREADS (index hashing lanes, default 2).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIB, importDist, writePseudoRandomFile, xorshiftBlocks } from './lib/bench-common.mjs';

const { Node } = await importDist();

const totalMiB = Number(process.env.SCP2P_BENCH_MIB ?? 1024);
const threads = Number(process.env.SCP2P_BENCH_THREADS ?? 2);
const FILES = 16;
const dir = mkdtempSync(join(tmpdir(), 'scp2p-publish-bench-'));
const folder = join(dir, 'folder');
mkdirSync(join(folder, 'sub'), { recursive: true });

function writeFiles() {
  const blocks = xorshiftBlocks(0x9e3779b9);
  const per = Math.max(1, Math.floor((totalMiB * MIB) / FILES));
  for (let f = 0; f < FILES; f++) writePseudoRandomFile(join(folder, f % 2 ? 'sub' : '', `part-${f}.bin`), per, blocks);
  return per * FILES;
}

const files = () => [...readdirSync(folder).filter((f) => f.endsWith('.bin')).map((f) => join(folder, f)), ...readdirSync(join(folder, 'sub')).map((f) => join(folder, 'sub', f))];

function b3sum(args) {
  const t = process.hrtime.bigint();
  const r = spawnSync('b3sum', [...args, ...files()], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return { s: Number(process.hrtime.bigint() - t) / 1e9, out: r.stdout };
}

const fmt = (bytes, s) => `${((bytes / MIB) / s).toFixed(0)} MiB/s (${s.toFixed(2)} s)`;
let node;
try {
  const bytes = writeFiles();
  console.log(`publish hashing: ${FILES} files, ${(bytes / MIB).toFixed(0)} MiB, index hashing lanes ${threads}`);
  // Warm the page cache for everyone alike.
  b3sum(['--num-threads', '1']);
  const one = b3sum(['--num-threads', '1']);
  const many = b3sum([]);

  node = await Node.start({ dataDir: join(dir, 'node'), listen: { tcp: null, quic: null }, actorMode: 'inline', hashThreads: threads });
  let t = process.hrtime.bigint();
  const pub = await node.publishFolder(folder, { title: 'bench', visibility: 'private' });
  const publishS = Number(process.hrtime.bigint() - t) / 1e9;
  t = process.hrtime.bigint();
  const again = await node.publishFolder(folder, { title: 'bench', visibility: 'private' });
  const republishS = Number(process.hrtime.bigint() - t) / 1e9;

  // Same digests as b3sum (ContentId = BLAKE3 of the file).
  const items = await node.listShareItems(pub.shareId);
  const ours = new Set(items.map((i) => i.contentId));
  const theirs = (one?.out ?? '').trim().split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]);
  const agree = theirs.length > 0 && theirs.every((h) => ours.has(h));

  console.log(`  scp2p publishFolder (scan + pool hashing + manifest + sign + seed): ${fmt(bytes, publishS)}`);
  if (one) console.log(`  b3sum --num-threads 1 on the same files:                         ${fmt(bytes, one.s)}`);
  if (many) console.log(`  b3sum (default threads) on the same files:                        ${fmt(bytes, many.s)}`);
  if (!one) console.log('  b3sum not found: install it for the comparison');
  console.log(`  re-publish unchanged folder (hash cache, seq ${again.seq}): ${republishS.toFixed(3)} s`);
  if (one) console.log(`  ratio scp2p / b3sum-1-thread: ${(one.s / publishS).toFixed(2)}x; content ids ${agree ? 'match' : 'DIFFER'} b3sum`);
} finally {
  await node?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
