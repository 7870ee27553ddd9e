/**
 * Real loopback nodes through the public Node API (issue 8): 1 seeder → 1 downloader, 4 seeders → 1
 * downloader, and a downloader process killed with SIGKILL mid-way that resumes by itself when its node
 * starts again. These need the session, DHT and index workers; they fail until those land. Unsafe item paths
 * are covered in test/actors/fetcher/worker.test.ts (a real publisher never emits them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NodeEvent } from '../../src/messages/node-events.js';
import { Node } from '../../src/node.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MiB = 1 << 20;

let base: string;
const nodes: Node[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'scp2p-e2e-transfer-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => undefined)));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const b of createReadStream(path)) h.update(b as Buffer);
  return h.digest('hex');
}

async function randomFile(path: string, bytes: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const block = randomBytes(Math.min(bytes, 4 * MiB));
  const parts: Buffer[] = [];
  for (let left = bytes; left > 0; left -= block.length) parts.push(left >= block.length ? block : block.subarray(0, left));
  // Distinct blocks so chunks differ: salt each 4 MiB block with its index.
  parts.forEach((p, i) => (parts[i] = Buffer.concat([Buffer.from([i & 0xff]), p.subarray(1)])));
  await writeFile(path, Buffer.concat(parts));
}

let dirs = 0;
async function startNode(bootstrap: string[] = []): Promise<Node> {
  const n = await Node.start({ dataDir: join(base, `node-${dirs++}`), listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap });
  nodes.push(n);
  return n;
}

describe('transfer between loopback nodes', () => {
  it('1 seeder → 1 downloader: a folder share arrives byte-exact with its paths', async () => {
    const src = join(base, 'share-1');
    await randomFile(join(src, 'big.bin'), 9 * MiB + 4321);
    await randomFile(join(src, 'sub/dir/small.bin'), 1000);
    await writeFile(join(src, 'empty.txt'), '');
    const a = await startNode();
    const b = await startNode(a.addresses());
    const pub = await a.publishFolder(src, { title: 'e2e 1→1', visibility: 'private' });
    await b.subscribe(pub.shareId);
    await b.syncSubscriptions();
    const events: NodeEvent[] = [];
    const sub = b.events$.subscribe((e) => events.push(e));
    const dest = join(base, 'dest-1');
    const recs = await b.downloadItems(pub.shareId, 'all', dest);
    sub.unsubscribe();
    expect(recs.every((r) => r.state === 'completed')).toBe(true);
    for (const rel of ['big.bin', 'sub/dir/small.bin', 'empty.txt']) expect(await sha256(join(dest, rel))).toBe(await sha256(join(src, rel)));
    expect(events.some((e) => e.type === 'DownloadCompleted')).toBe(true);
    expect(events.some((e) => e.type === 'DownloadProgress')).toBe(true);
  });

  it('4 seeders → 1 downloader: chunks come from several peers and the file is exact', async () => {
    const src = join(base, 'share-4');
    await randomFile(join(src, 'swarm.bin'), 24 * MiB);
    const publisher = await startNode();
    const boot = publisher.addresses();
    const pub = await publisher.publishFolder(src, { title: 'e2e 4→1', visibility: 'private' });
    // Three more seeders: each downloads once (verified), then seeds and announces it.
    for (let k = 0; k < 3; k++) {
      const s = await startNode(boot);
      await s.subscribe(pub.shareId);
      await s.syncSubscriptions();
      await s.downloadItems(pub.shareId, 'all', join(base, `seed-${k}`));
    }
    const d = await startNode(boot);
    for (const n of nodes.slice(0, -1)) for (const addr of n.addresses()) await d.connect(addr).catch(() => undefined);
    await d.subscribe(pub.shareId);
    await d.syncSubscriptions();
    let maxPeers = 0;
    const sub = d.events$.subscribe((e) => {
      if (e.type === 'DownloadProgress') maxPeers = Math.max(maxPeers, e.peers);
    });
    const dest = join(base, 'dest-4');
    await d.downloadItems(pub.shareId, 'all', dest);
    sub.unsubscribe();
    expect(await sha256(join(dest, 'swarm.bin'))).toBe(await sha256(join(src, 'swarm.bin')));
    expect(maxPeers).toBeGreaterThanOrEqual(2);
  });

  it('downloader killed with SIGKILL mid-way resumes by itself on restart and completes verified', async () => {
    const src = join(base, 'share-kill');
    await randomFile(join(src, 'resume.bin'), 192 * MiB);
    const a = await startNode();
    const pub = await a.publishFolder(src, { title: 'e2e kill', visibility: 'private' });
    const dataDir = join(base, 'victim');
    const dest = join(base, 'dest-kill');
    const script = join(base, 'victim.mjs');
    await writeFile(
      script,
      `import { Node } from ${JSON.stringify(join(ROOT, 'dist/index.js'))};
const n = await Node.start({ dataDir: ${JSON.stringify(dataDir)}, listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap: ${JSON.stringify(a.addresses())} });
await n.subscribe(${JSON.stringify(pub.shareId)}); await n.syncSubscriptions();
n.events$.subscribe((e) => { if (e.type === 'DownloadProgress') console.log('progress', String(e.bytesDone)); });
await n.downloadItems(${JSON.stringify(pub.shareId)}, 'all', ${JSON.stringify(dest)});
console.log('finished');
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise<void>((res, rej) => {
      let out = '';
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        const m = [...out.matchAll(/progress (\d+)/g)].pop();
        if (m && Number(m[1]) >= 32 * MiB) {
          child.kill('SIGKILL');
          res();
        }
        if (out.includes('finished')) rej(new Error('the download finished before it could be killed; use a bigger file'));
      });
      child.on('exit', () => res());
    });
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    expect((await stat(join(dest, 'resume.bin.scp2p-partial'))).isFile()).toBe(true);
    await expect(stat(join(dest, 'resume.bin'))).rejects.toThrow(); // nothing looks complete
    // The same data dir again: the unfinished download resumes without being asked.
    const b = await Node.start({ dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap: a.addresses() });
    nodes.push(b);
    const deadline = Date.now() + 240_000;
    for (;;) {
      const list = await b.listDownloads();
      const rec = list.find((r) => r.path.endsWith('resume.bin'));
      if (rec?.state === 'completed') break;
      if (rec?.state === 'failed') throw new Error(`resumed download failed: ${rec.error}`);
      if (Date.now() > deadline) throw new Error(`not completed in time: ${JSON.stringify(rec, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await sha256(join(dest, 'resume.bin'))).toBe(await sha256(join(src, 'resume.bin')));
  });
});
