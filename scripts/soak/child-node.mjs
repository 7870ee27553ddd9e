/**
 * One soak node in a process of its own (actors in worker threads, as in production), driven by its parent over
 * IPC, so that the soak's kill -9 is a real one. argv[2] = JSON { dataDir, bootstrap, port }. Messages in:
 * { id, op, args }; out: { id, ok, value | error } and once { type: 'ready', addresses, id }.
 */
import { Node } from '../../dist/index.js';

const cfg = JSON.parse(process.argv[2]);
const node = await Node.start({
  dataDir: cfg.dataDir,
  host: cfg.host ?? '127.0.0.1',
  listen: { tcp: cfg.port ?? 0, quic: null },
  bootstrap: cfg.bootstrap,
  hashThreads: 1,
  logLevel: 'silent',
  syncIntervalMs: cfg.syncIntervalMs ?? 20_000,
});

const ops = {
  subscribe: (shareId, sharePubkey) => node.subscribe(shareId, { sharePubkey }),
  sync: () => node.syncSubscriptions({ timeoutMs: 60_000 }),
  listSubscriptions: () => node.listSubscriptions(),
  listShareItems: (shareId) => node.listShareItems(shareId),
  downloadItems: (shareId, cids, dir, timeoutMs) => node.downloadItems(shareId, cids, dir, { timeoutMs }),
  listDownloads: () => node.listDownloads(),
  peers: async () => (await node.peers()).filter((p) => p.connected).length,
  stop: async () => {
    await node.stop();
    setImmediate(() => process.exit(0));
  },
};

process.on('message', async (m) => {
  const fn = ops[m.op];
  try {
    if (!fn) throw new Error(`no op ${m.op}`);
    const value = await fn(...(m.args ?? []));
    process.send?.({ id: m.id, ok: true, value });
  } catch (err) {
    process.send?.({ id: m.id, ok: false, error: { message: String(err?.message ?? err), code: err?.code ?? 'ERR' } });
  }
});
process.on('disconnect', () => void node.stop().finally(() => process.exit(0)));
process.send?.({ type: 'ready', addresses: node.addresses(), id: node.id });
