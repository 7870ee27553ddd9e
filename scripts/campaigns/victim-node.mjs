#!/usr/bin/env node
// The node that the kill -9 campaign (kill9.mjs) kills: a real process running the built package through its
// public API. One JSON argument says what to do; every step is reported as one JSON line on stdout, so the
// campaign knows when to kill and what state the node came back with.
//
//   node scripts/campaigns/victim-node.mjs '{"dataDir":…,"bootstrap":[…],"action":"download"|"publish"|"state",…}'
//
// Lines: started (identity, own shares, subscriptions, downloads as found on disk), progress, downloaded,
// publish-progress, published, stopped, error.
import { loadScp2p } from './common.mjs';

const cfg = JSON.parse(process.argv[2] ?? '{}');
const say = (ev, fields = {}) => process.stdout.write(`${JSON.stringify({ ev, t: Date.now(), ...fields }, (_, v) => (typeof v === 'bigint' ? String(v) : v))}\n`);

const { Node } = await loadScp2p();
const t0 = Date.now();
const node = await Node.start({ dataDir: cfg.dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', bootstrap: cfg.bootstrap ?? [], logLevel: 'error' });
const [own, subs, downloads] = await Promise.all([node.listOwnShares(), node.listSubscriptions(), node.listDownloads()]);
say('started', {
  ms: Date.now() - t0,
  id: node.id,
  ownShares: own.map((s) => ({ shareId: s.shareId, seq: s.seq, items: s.items, title: s.title })),
  subscriptions: subs.map((s) => s.shareId),
  downloads: downloads.map((d) => ({ id: d.id, path: d.path, state: d.state, bytesDone: d.bytesDone })),
});
node.events$.subscribe((e) => {
  if (e.type === 'DownloadProgress') say('progress', { id: e.id, bytesDone: e.bytesDone, bytesTotal: e.bytesTotal });
  if (e.type === 'PublishProgress') say('publish-progress', { filesDone: e.filesDone, filesTotal: e.filesTotal, bytesDone: e.bytesDone });
});

try {
  if (cfg.note && !own.some((s) => s.title === 'victim note')) {
    const r = await node.publishText('victim note', cfg.note, { visibility: 'private', publisher: 'note' });
    say('noted', { shareId: r.shareId });
  }
  if (cfg.action === 'download') {
    if (!subs.some((s) => s.shareId === cfg.shareId)) await node.subscribe(cfg.shareId, { trust: 'trusted' });
    await node.syncSubscriptions();
    say('downloading', { dest: cfg.dest });
    const recs = await node.downloadItems(cfg.shareId, 'all', cfg.dest);
    say('downloaded', { records: recs.map((r) => ({ path: r.path, state: r.state })) });
  } else if (cfg.action === 'publish') {
    say('publishing', { dir: cfg.dir });
    const r = await node.publishFolder(cfg.dir, { title: cfg.title ?? 'victim folder', visibility: 'private' });
    say('published', { shareId: r.shareId, seq: r.seq, manifestId: r.manifestId });
  }
} catch (e) {
  say('error', { code: e?.code ?? null, message: String(e?.message ?? e) });
}
await node.stop();
say('stopped');
process.exit(0);
