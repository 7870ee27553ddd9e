/**
 * `scp2p download | download-content | downloads`: verified downloads through the running node, with a
 * progress bar on a terminal (speed, ETA, peers) fed by DownloadProgress events from the control endpoint.
 */
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { connectControl, type ControlClient } from '../../control/client.js';
import { ScpError } from '../../errors.js';
import { print } from '../output.js';
import { resolveDataDir } from '../settings.js';
import { checkShareRef, humanSize } from './catalog.js';
import { withCommon } from './node-info.js';

interface DownloadFlags {
  dataDir?: string;
  json?: boolean;
  out?: string;
  items?: string;
  peers?: string;
}

interface Record_ {
  id: string;
  contentId: string;
  path: string;
  state: string;
  bytesDone: string;
  bytesTotal: string;
}

interface Progress {
  id: string;
  bytesDone: string;
  bytesTotal: string;
  peers: number;
}

/** One aggregate bar over every download this command started; speed and ETA come from cli-progress. */
async function withDownloadBar<T>(c: ControlClient, enabled: boolean, work: () => Promise<T>): Promise<T> {
  if (!enabled) return work();
  const ac = new AbortController();
  const bar = new cliProgress.SingleBar(
    { format: 'downloading {bar} {percentage}% | {done}/{size} | {speed} | ETA {eta_formatted} | {peers} peers', hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  const per = new Map<string, Progress>();
  const started = Date.now();
  let shown = false;
  const reading = (async () => {
    try {
      for await (const e of c.events(ac.signal)) {
        if (e.event !== 'DownloadProgress') continue;
        const p = e.data as Progress;
        per.set(p.id, p);
        let done = 0;
        let total = 0;
        let peers = 0;
        for (const x of per.values()) {
          done += Number(x.bytesDone);
          total += Number(x.bytesTotal);
          peers = Math.max(peers, x.peers);
        }
        const speed = done / Math.max(0.001, (Date.now() - started) / 1000);
        const payload = { done: humanSize(done), size: humanSize(total), speed: `${humanSize(Math.round(speed))}/s`, peers };
        if (!shown) {
          bar.start(Math.max(1, total), done, payload);
          shown = true;
        } else {
          bar.setTotal(Math.max(1, total));
          bar.update(done, payload);
        }
      }
    } catch {
      /* stream closed */
    }
  })();
  try {
    return await work();
  } finally {
    ac.abort();
    await reading;
    if (shown) bar.stop();
  }
}

export function registerTransfer(program: Command): void {
  withCommon(
    program
      .command('download <share-id>')
      .description('download items of a subscribed share (all by default), verified, rebuilding folders')
      .requiredOption('-o, --out <dir>', 'target directory')
      .option('--items <ids>', 'comma-separated content ids (default: all)'),
  ).action(async (shareRef: string, f: DownloadFlags) => {
    const shareId = checkShareRef(shareRef, false);
    const items = f.items ? f.items.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean) : 'all';
    if (items !== 'all' && items.some((id) => !/^[0-9a-f]{64}$/.test(id))) throw ScpError.badInput('--items takes content ids (64 hex digits), comma-separated');
    const c = await connectControl(resolveDataDir(f.dataDir));
    const out = path.resolve(f.out!);
    const recs = await withDownloadBar(c, !f.json && process.stderr.isTTY === true, () => c.call<Record_[]>('downloadItems', [shareId, items, out], { timeoutMs: 24 * 3600_000 }));
    print(f, recs, () => recs.map((r) => `${r.state.padEnd(9)} ${humanSize(r.bytesTotal).padStart(10)}  ${r.path}`).join('\n') || 'nothing to download');
  });

  withCommon(
    program
      .command('download-content <content-id>')
      .description('download one content id from whoever provides it, verified')
      .requiredOption('-o, --out <file>', 'target file')
      .option('--peers <addrs>', 'comma-separated peers to ask as well (tcp://ip:port)'),
  ).action(async (contentId: string, f: DownloadFlags) => {
    if (!/^[0-9a-fA-F]{64}$/.test(contentId)) throw ScpError.badInput(`"${contentId}" is not a content id (64 hex digits)`);
    const c = await connectControl(resolveDataDir(f.dataDir));
    const peers = f.peers ? f.peers.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
    const rec = await withDownloadBar(c, !f.json && process.stderr.isTTY === true, () =>
      c.call<Record_>('downloadContent', [contentId.toLowerCase(), path.resolve(f.out!), { peers }], { timeoutMs: 24 * 3600_000 }),
    );
    print(f, rec, () => `${rec.state} ${humanSize(rec.bytesTotal)} ${rec.path}`);
  });

  withCommon(program.command('downloads').description('list downloads and their progress')).action(async (f: DownloadFlags) => {
    const c = await connectControl(resolveDataDir(f.dataDir));
    const recs = await c.call<Record_[]>('listDownloads');
    print(f, recs, () =>
      recs.length === 0
        ? 'no downloads'
        : recs.map((r) => `${r.id.slice(0, 12)}  ${r.state.padEnd(9)} ${humanSize(r.bytesDone)}/${humanSize(r.bytesTotal)}  ${r.path}`).join('\n'),
    );
  });
}
