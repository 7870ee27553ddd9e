// Two nodes in one process: A publishes a file, B subscribes, syncs, downloads it (verified) with progress.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Node } from 'scp2p';

const root = process.env.SCP2P_EXAMPLE_DIR ?? mkdtempSync(join(tmpdir(), 'scp2p-example-'));
const opts = { listen: { tcp: 0, quic: null }, host: '127.0.0.1' };
const a = await Node.start({ ...opts, dataDir: join(root, 'a') });
const b = await Node.start({ ...opts, dataDir: join(root, 'b'), bootstrap: a.addresses() });
try {
  const src = join(root, 'photos');
  mkdirSync(src, { recursive: true });
  const bytes = randomBytes(3 * 1024 * 1024);
  writeFileSync(join(src, 'summit.jpg'), bytes);
  const { shareId } = await a.publishFolder(src, { title: 'Summit photos' });
  console.log('A published', shareId);

  await b.subscribe(shareId, { trust: 'trusted' });
  const report = await b.syncSubscriptions({ timeoutMs: 60_000 });
  console.log(`B synced: ${report.updated.length} updated, ${report.failed.length} failed`);

  b.events$.subscribe((e) => {
    if (e.type === 'DownloadProgress') console.log(`  ${e.bytesDone}/${e.bytesTotal} bytes from ${e.peers} peer(s)`);
  });
  const done = await b.downloadItems(shareId, 'all', join(root, 'b-downloads'), { signal: AbortSignal.timeout(120_000) });
  for (const d of done) {
    const same = createHash('sha256').update(readFileSync(d.path)).digest('hex') === createHash('sha256').update(bytes).digest('hex');
    console.log(`B downloaded ${d.path}: ${d.state}, ${same ? 'bytes match' : 'BYTES DIFFER'}`);
    if (!same) process.exitCode = 1;
  }
} finally {
  await b.stop();
  await a.stop();
}
