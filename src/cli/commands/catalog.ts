/**
 * `scp2p publish | subscribe | unsubscribe | subscriptions | sync | search | browse`: the catalog commands.
 * Each talks to the running node of its data dir through the control endpoint; `publish` shows a progress
 * bar on a terminal while files are hashed (PublishProgress events from the endpoint's event stream).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { connectControl, type ControlClient } from '../../control/client.js';
import { ScpError } from '../../errors.js';
import { print } from '../output.js';
import { resolveDataDir } from '../settings.js';
import { withCommon } from './node-info.js';

interface Common {
  dataDir?: string;
  json?: boolean;
}

interface Hit {
  shareId: string;
  contentId: string;
  name: string;
  path: string | null;
  size: string;
  score: number;
  shareTitle: string | null;
  snippet: string | null;
}

interface Item {
  contentId: string;
  name: string;
  path: string | null;
  size: string;
  mime: string | null;
}

interface Sub {
  shareId: string;
  trust: string;
  latestSeq?: string;
  title?: string | null;
}

const TRUST = ['trusted', 'normal', 'untrusted'];

/** A 64-digit hex share id or an scp2p:// link; a clear BAD_INPUT otherwise (before any node is asked). */
export function checkShareRef(v: string, allowLink = true): string {
  const s = v.trim();
  if (allowLink && s.toLowerCase().startsWith('scp2p://')) return s;
  if (!/^[0-9a-fA-F]{64}$/.test(s)) {
    throw ScpError.badInput(`"${v}" is not a share id (64 hex digits)${allowLink ? ' or an scp2p:// share link' : ''}`);
  }
  return s.toLowerCase();
}

export function humanSize(n: bigint | string | number): string {
  let v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

function intOpt(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw ScpError.badInput(`${what} must be a whole number ≥ 0`);
  return n;
}

/** Shows PublishProgress events as a bar on stderr while `work` runs (only on a terminal, never with --json). */
async function withProgress<T>(c: ControlClient, enabled: boolean, work: () => Promise<T>): Promise<T> {
  if (!enabled) return work();
  const ac = new AbortController();
  const bar = new cliProgress.SingleBar(
    { format: 'hashing [{bar}] {percentage}% | {files} files | {done}/{total}', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const listening = (async () => {
    try {
      for await (const ev of c.events(ac.signal)) {
        if (ev.event !== 'PublishProgress') continue;
        const p = ev.data as { filesDone: number; filesTotal: number; bytesDone: string; bytesTotal: string };
        const total = Math.max(1, Number(p.bytesTotal));
        const payload = { files: `${p.filesDone}/${p.filesTotal}`, done: humanSize(p.bytesDone), total: humanSize(p.bytesTotal) };
        if (!started) {
          bar.start(total, Number(p.bytesDone), payload);
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(Number(p.bytesDone), payload);
        }
      }
    } catch {
      /* the stream ends when the work does */
    }
  })();
  try {
    return await work();
  } finally {
    ac.abort();
    await listening;
    if (started) bar.stop();
  }
}

export function registerCatalog(program: Command): void {
  withCommon(
    program
      .command('publish <path...>')
      .description('publish files or a folder as a share (again under the same publisher: seq + 1)')
      .requiredOption('--title <title>', 'title of the share')
      .option('--description <text>', 'description of the share')
      .option('--visibility <v>', 'public or private', 'private')
      .option('--publisher <label>', 'publisher identity (made on first use); default: the node\'s default publisher')
      .option('--community <id>', 'publish into this joined community (public shares; repeat for several)', (v: string, acc: string[]) => [...acc, v], [] as string[]),
  ).action(async (paths: string[], o: Common & { title: string; description?: string; visibility: string; publisher?: string; community: string[] }) => {
    if (o.visibility !== 'public' && o.visibility !== 'private') throw ScpError.badInput('--visibility must be public or private');
    const abs = paths.map((p) => path.resolve(p));
    const kinds = abs.map((p) => {
      try {
        return statSync(p).isDirectory() ? 'dir' : 'file';
      } catch {
        throw ScpError.notFound(`cannot read ${p}: no such file or folder`);
      }
    });
    const opts: Record<string, unknown> = { title: o.title, visibility: o.visibility };
    if (o.description !== undefined) opts['description'] = o.description;
    if (o.publisher !== undefined) opts['publisher'] = o.publisher;
    if (o.community.length > 0) opts['communities'] = o.community;
    if (kinds.includes('dir') && abs.length > 1) {
      throw ScpError.badInput('publish one folder, or several files; to publish several folders give each its own --publisher label');
    }
    const c = await connectControl(resolveDataDir(o.dataDir));
    const r = await withProgress(c, !o.json && process.stderr.isTTY === true, () =>
      kinds[0] === 'dir' ? c.call<Record<string, string>>('publishFolder', [abs[0], opts]) : c.call<Record<string, string>>('publishFiles', [abs, opts]),
    );
    print(o, r, () => [`published seq ${r['seq']}`, `share id:    ${r['shareId']}`, `manifest id: ${r['manifestId']}`].join('\n'));
  });

  withCommon(
    program
      .command('subscribe <share>')
      .description('follow a share by id or scp2p:// link (search covers subscribed shares only)')
      .option('--trust <level>', 'trusted, normal or untrusted', 'normal')
      .option('--share-pubkey <hex>', 'the share\'s public key, when known (verifies its heads from the first sync)'),
  ).action(async (share: string, o: Common & { trust: string; sharePubkey?: string }) => {
    const ref = checkShareRef(share);
    if (!TRUST.includes(o.trust)) throw ScpError.badInput(`--trust must be one of ${TRUST.join(', ')}`);
    const c = await connectControl(resolveDataDir(o.dataDir));
    const s = await c.call<Sub>('subscribe', [ref, { trust: o.trust, ...(o.sharePubkey ? { sharePubkey: o.sharePubkey } : {}) }]);
    print(o, s, () => `subscribed to ${s.shareId} (${s.trust}); run scp2p sync to fetch its catalog`);
  });

  withCommon(program.command('unsubscribe <share-id>').description('stop following a share')).action(async (share: string, o: Common) => {
    const id = checkShareRef(share, false);
    const c = await connectControl(resolveDataDir(o.dataDir));
    const r = await c.call<{ removed: boolean }>('unsubscribe', [id]);
    print(o, r, () => (r.removed ? `unsubscribed from ${id}` : `not subscribed to ${id}`));
  });

  withCommon(program.command('link <share-id>').description('print an scp2p:// share link to one of your shares (with relay hints when firewalled)')).action(
    async (share: string, o: Common) => {
      const id = checkShareRef(share, false);
      const c = await connectControl(resolveDataDir(o.dataDir));
      const link = await c.call<string>('shareLink', [id]);
      print(o, { shareId: id, link }, () => link);
    },
  );

  withCommon(program.command('subscriptions').description('list followed shares')).action(async (o: Common) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    const subs = await c.call<Sub[]>('listSubscriptions');
    print(o, subs, () =>
      subs.length === 0
        ? 'no subscriptions (scp2p subscribe <share-id>)'
        : subs.map((s) => `${s.shareId}  ${s.trust.padEnd(9)}  seq ${s.latestSeq ?? '0'}  ${s.title ?? '(not synced yet)'}`).join('\n'),
    );
  });

  withCommon(program.command('sync').description('look up newer manifests of every subscription and index them')).action(async (o: Common) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    const r = await c.call<{ checked: number; updated: Array<{ shareId: string; seq: string }>; failed: Array<{ shareId: string; code: string; error: string }> }>(
      'syncSubscriptions',
    );
    print(o, r, () =>
      [
        `checked ${r.checked}, updated ${r.updated.length}, failed ${r.failed.length}`,
        ...r.updated.map((u) => `  updated ${u.shareId} → seq ${u.seq}`),
        ...r.failed.map((f) => `  failed  ${f.shareId}: ${f.code}: ${f.error}`),
      ].join('\n'),
    );
  });

  withCommon(
    program
      .command('search <query...>')
      .description('search the subscribed shares (local only)')
      .option('--limit <n>', 'results per page (1–200)', '20')
      .option('--offset <n>', 'skip this many results', '0'),
  ).action(async (query: string[], o: Common & { limit?: string; offset?: string }) => {
    const q = query.join(' ');
    const limit = intOpt(o.limit, '--limit');
    const offset = intOpt(o.offset, '--offset');
    const c = await connectControl(resolveDataDir(o.dataDir));
    const r = await c.call<{ hits: Hit[]; total: number }>('search', [q, { limit, offset }]);
    print(o, r, () =>
      r.hits.length === 0
        ? `no results for "${q}" in the subscribed shares`
        : [
            ...r.hits.map((h) => `${h.score.toFixed(0).padStart(4)}  ${h.path ?? h.name}  (${humanSize(h.size)})  ${h.shareTitle ?? h.shareId.slice(0, 16)}  ${h.contentId.slice(0, 16)}`),
            `${(offset ?? 0) + 1}–${(offset ?? 0) + r.hits.length} of ${r.total}`,
          ].join('\n'),
    );
  });

  withCommon(program.command('browse <share-id>').description('list the items of a subscribed (or own) share')).action(async (share: string, o: Common) => {
    const id = checkShareRef(share, false);
    const c = await connectControl(resolveDataDir(o.dataDir));
    const items = await c.call<Item[]>('listShareItems', [id]);
    print(o, items, () => (items.length === 0 ? 'the share has no items' : items.map((i) => `${i.contentId.slice(0, 16)}  ${humanSize(i.size).padStart(10)}  ${i.path ?? i.name}`).join('\n')));
  });
}
