import { useMemo, useState } from 'preact/hooks';
import { call } from '../api.js';
import { ErrorLine, Hex, Notice, Section, Unavailable } from '../components.js';
import { bytes, short } from '../format.js';
import { useAction, useEvents, useLoad, usePref } from '../hooks.js';
import type { PageProps } from '../main.js';

export interface Subscription {
  shareId: string;
  sharePubkey: string | null;
  trust: string;
  latestSeq?: string;
  title?: string | null;
}
export interface Item {
  shareId: string;
  contentId: string;
  name: string;
  path: string | null;
  size: string;
  mime: string | null;
}
interface PublicShare {
  shareId: string;
  sharePubkey?: string;
  title?: string | null;
  description?: string | null;
  items?: number;
}

export function Discover({ has, info }: PageProps) {
  const subs = useLoad(() => call<Subscription[]>('listSubscriptions'), []);
  const [open, setOpen] = useState<string>();
  const sync = useAction();
  useEvents(() => subs.reload(), ['SubscriptionAdded', 'SubscriptionRemoved', 'ManifestUpdated']);
  return (
    <div class="stack">
      <SubscribeForm onDone={subs.reload} />
      <Section title="Subscriptions">
        <ErrorLine error={subs.error} />
        {subs.data?.length === 0 && <p class="muted">No subscriptions yet: subscribe to a share id or link above.</p>}
        {!!subs.data?.length && (
          <table>
            <caption class="sr-only">Shares this node follows</caption>
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Share id</th>
                <th scope="col">Trust</th>
                <th scope="col">Version</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {subs.data.map((s) => (
                <tr key={s.shareId}>
                  <th scope="row">{s.title ?? <span class="muted">(not synced yet)</span>}</th>
                  <td>
                    <code title={s.shareId}>{short(s.shareId)}</code>
                  </td>
                  <td>{s.trust}</td>
                  <td>{s.latestSeq && s.latestSeq !== '0' ? `seq ${s.latestSeq}` : '—'}</td>
                  <td class="actions">
                    <button type="button" onClick={() => setOpen(s.shareId)} aria-pressed={open === s.shareId}>
                      Browse
                    </button>
                    <button type="button" class="secondary" onClick={async () => (await call('unsubscribe', s.shareId), subs.reload())}>
                      Unsubscribe
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div class="row">
          <button
            type="button"
            disabled={sync.busy}
            onClick={() =>
              sync.run(
                () => call<{ checked: number; updated: unknown[]; failed: Array<{ shareId: string; error: string }> }>('syncSubscriptions'),
                (r) => `checked ${r.checked}, updated ${r.updated.length}${r.failed.length ? `, failed ${r.failed.length}: ${r.failed.map((f) => f.error).join('; ')}` : ''}`,
              ).then(() => subs.reload())
            }
          >
            {sync.busy ? 'Syncing…' : 'Sync now'}
          </button>
          <Notice message={sync.message} />
        </div>
      </Section>
      {open && <ShareTree shareId={open} dataDir={info.dataDir} onClose={() => setOpen(undefined)} />}
      <Section title="Public shares from peers">
        {has('listPublicSharesFromPeers') ? <PublicShares onBrowse={setOpen} onSubscribed={subs.reload} /> : <Unavailable what="Public browse" />}
      </Section>
    </div>
  );
}

function SubscribeForm({ onDone }: { onDone: () => void }) {
  const [id, setId] = useState('');
  const [trust, setTrust] = useState('normal');
  const act = useAction();
  return (
    <Section title="Subscribe">
      <form
        class="form"
        onSubmit={async (ev) => {
          ev.preventDefault();
          const r = await act.run(
            () => call<Subscription>('subscribe', id.trim(), { trust }),
            (s) => `subscribed to ${short(s.shareId)}; syncing its catalog in the background`,
          );
          if (r) {
            setId('');
            onDone();
            void call('syncSubscriptions').then(onDone, () => {});
          }
        }}
      >
        <label for="sub-id">Share id or scp2p:// link</label>
        <input id="sub-id" name="share" value={id} onInput={(e) => setId(e.currentTarget.value)} required spellcheck={false} autocomplete="off" />
        <label for="sub-trust">Trust</label>
        <select id="sub-trust" value={trust} onChange={(e) => setTrust(e.currentTarget.value)}>
          <option value="trusted">trusted</option>
          <option value="normal">normal</option>
          <option value="untrusted">untrusted</option>
        </select>
        <button type="submit" disabled={act.busy}>
          Subscribe
        </button>
        <Notice message={act.message} />
      </form>
    </Section>
  );
}

function PublicShares({ onBrowse, onSubscribed }: { onBrowse: (id: string) => void; onSubscribed: () => void }) {
  const list = useLoad(() => call<PublicShare[] | { shares: PublicShare[] }>('listPublicSharesFromPeers'), []);
  const shares = Array.isArray(list.data) ? list.data : (list.data?.shares ?? []);
  return (
    <>
      <ErrorLine error={list.error} />
      {list.loading && <p>Asking peers…</p>}
      {!list.loading && shares.length === 0 && !list.error && <p class="muted">No public shares seen from connected peers.</p>}
      <ul class="plain">
        {shares.map((s) => (
          <li key={s.shareId} class="row">
            <strong>{s.title ?? short(s.shareId)}</strong> <code>{short(s.shareId)}</code>
            <button type="button" onClick={async () => (await call('subscribe', s.shareId, { sharePubkey: s.sharePubkey }), onSubscribed(), onBrowse(s.shareId))}>
              Subscribe and browse
            </button>
          </li>
        ))}
      </ul>
      <button type="button" class="secondary" onClick={list.reload}>
        Refresh
      </button>
    </>
  );
}

interface TreeNode {
  name: string;
  dirs: Map<string, TreeNode>;
  files: Item[];
}

function buildTree(items: Item[]): TreeNode {
  const root: TreeNode = { name: '', dirs: new Map(), files: [] };
  for (const it of items) {
    const parts = (it.path ?? it.name).split('/').filter(Boolean);
    parts.pop();
    let node = root;
    for (const p of parts) {
      if (!node.dirs.has(p)) node.dirs.set(p, { name: p, dirs: new Map(), files: [] });
      node = node.dirs.get(p)!;
    }
    node.files.push(it);
  }
  return root;
}

const allIds = (n: TreeNode): string[] => [...n.files.map((f) => f.contentId), ...[...n.dirs.values()].flatMap(allIds)];

export function ShareTree({ shareId, dataDir, onClose }: { shareId: string; dataDir: string; onClose?: () => void }) {
  const items = useLoad(() => call<Item[]>('listShareItems', shareId), [shareId]);
  const tree = useMemo(() => buildTree(items.data ?? []), [items.data]);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [target, setTarget] = usePref('downloadDir', `${dataDir}/downloads`);
  const act = useAction();
  useEvents(() => items.reload(), ['ManifestUpdated']);
  const toggle = (ids: string[], on: boolean) =>
    setPicked((p) => {
      const n = new Set(p);
      ids.forEach((i) => (on ? n.add(i) : n.delete(i)));
      return n;
    });

  function renderDir(node: TreeNode, depth: number): preact.JSX.Element {
    const ids = allIds(node);
    const all = ids.length > 0 && ids.every((i) => picked.has(i));
    return (
      <ul role={depth === 0 ? 'tree' : 'group'} aria-label={depth === 0 ? 'Files of the share' : undefined} class="tree">
        {[...node.dirs.values()].map((d) => {
          const dids = allIds(d);
          const dall = dids.every((i) => picked.has(i));
          return (
            <li key={d.name} role="treeitem" aria-expanded="true">
              <label>
                <input type="checkbox" checked={dall} onChange={(e) => toggle(dids, e.currentTarget.checked)} /> <span class="dir">{d.name}/</span>
              </label>
              {renderDir(d, depth + 1)}
            </li>
          );
        })}
        {node.files.map((f) => (
          <li key={f.contentId} role="treeitem">
            <label>
              <input type="checkbox" checked={picked.has(f.contentId)} onChange={(e) => toggle([f.contentId], e.currentTarget.checked)} /> {f.name}{' '}
              <span class="muted">
                {bytes(f.size)}
                {f.mime ? ` · ${f.mime}` : ''}
              </span>
            </label>
          </li>
        ))}
        {depth === 0 && ids.length > 1 && (
          <li>
            <label>
              <input type="checkbox" checked={all} onChange={(e) => toggle(ids, e.currentTarget.checked)} /> select all
            </label>
          </li>
        )}
      </ul>
    );
  }

  return (
    <Section title="Share contents" id="share-tree">
      <p>
        Share <Hex value={shareId} />{' '}
        {onClose && (
          <button type="button" class="secondary" onClick={onClose}>
            Close
          </button>
        )}
      </p>
      <ErrorLine error={items.error} />
      {items.data?.length === 0 && <p class="muted">No items yet: the catalog has not been synced. Try “Sync now”.</p>}
      {!!items.data?.length && renderDir(tree, 0)}
      <form
        class="form"
        onSubmit={(ev) => {
          ev.preventDefault();
          const ids = [...picked];
          void act.run(
            () => call<unknown[]>('downloadItems', shareId, ids.length ? ids : 'all', target),
            (r) => `downloaded and verified ${r.length} item(s) into ${target}`,
          );
        }}
      >
        <label for="dl-target">Save into folder (on the node's machine)</label>
        <input id="dl-target" value={target} onInput={(e) => setTarget(e.currentTarget.value)} required />
        <button type="submit" disabled={act.busy || !items.data?.length}>
          {act.busy ? 'Downloading… (see Downloads)' : picked.size ? `Download ${picked.size} selected` : 'Download all'}
        </button>
        <Notice message={act.message} />
      </form>
    </Section>
  );
}
