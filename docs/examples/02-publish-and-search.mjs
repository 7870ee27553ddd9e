// Publish a folder, watch publish progress, list what was published and search it locally.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Node } from 'scp2p';

const dataDir = process.env.SCP2P_EXAMPLE_DIR ?? mkdtempSync(join(tmpdir(), 'scp2p-example-'));
const folder = join(dataDir, 'to-publish', 'recipes'); // any folder works; this one goes away with the data dir
mkdirSync(join(folder, 'soups'), { recursive: true });
writeFileSync(join(folder, 'soups', 'tomato-soup.md'), '# Tomato soup\nTomatoes, onion, basil.\n');
writeFileSync(join(folder, 'bread.md'), '# Bread\nFlour, water, salt, yeast.\n');

const node = await Node.start({ dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1' });
try {
  const sub = node.events$.subscribe((e) => {
    if (e.type === 'PublishProgress') console.log(`hashing: ${e.filesDone}/${e.filesTotal} files`);
    if (e.type === 'ManifestUpdated') console.log(`manifest for ${e.shareId.slice(0, 12)}… is now seq ${e.seq}`);
  });
  const published = await node.publishFolder(folder, { title: 'Family recipes', visibility: 'private' });
  console.log('published:', published.shareId, 'seq', published.seq); // seq is a bigint
  sub.unsubscribe();

  for (const item of await node.listShareItems(published.shareId)) console.log(' -', item.path ?? item.name, `${item.size} bytes`);

  // Search is local: our own shares and the shares we subscribe to, never the network.
  const { hits, total } = await node.search('soup', { limit: 10 });
  console.log(`search "soup": ${total} hit(s):`, hits.map((h) => h.name).join(', '));
  if (total < 1) throw new Error('expected to find the soup');
} finally {
  await node.stop();
}
