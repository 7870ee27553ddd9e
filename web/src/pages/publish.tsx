import { useState } from 'preact/hooks';
import { call } from '../api.js';
import { ErrorLine, Notice, Section } from '../components.js';
import { bytes, short, when } from '../format.js';
import { useAction, useEvents, useLoad } from '../hooks.js';
import type { PageProps } from '../main.js';

type Kind = 'text' | 'files' | 'folder';
interface OwnShare {
  shareId: string;
  publisher: string;
  seq: string;
  title: string | null;
  visibility: string;
  items: number;
  updatedAt: string;
}
interface Community {
  communityId: string;
  name?: string | null;
}

export function Publish({ has }: PageProps) {
  const [kind, setKind] = useState<Kind>('folder');
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [text, setText] = useState('');
  const [paths, setPaths] = useState('');
  const [visibility, setVisibility] = useState('private');
  const [publisher, setPublisher] = useState('');
  const [communities, setCommunities] = useState<Set<string>>(new Set());
  const [progress, setProgress] = useState<{ filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number }>();
  const act = useAction();
  const own = useLoad(() => call<OwnShare[]>('listOwnShares'), []);
  const comms = useLoad(() => (has('listCommunities') ? call<Community[]>('listCommunities') : Promise.resolve([])), []);
  useEvents(
    (e) => setProgress({ filesDone: Number(e.filesDone), filesTotal: Number(e.filesTotal), bytesDone: Number(e.bytesDone), bytesTotal: Number(e.bytesTotal) }),
    ['PublishProgress'],
  );
  useEvents(() => own.reload(), ['ManifestUpdated']);

  async function submit(ev: Event) {
    ev.preventDefault();
    setProgress(undefined);
    const opts: Record<string, unknown> = { title: title.trim(), visibility };
    if (description.trim()) opts.description = description.trim();
    if (publisher.trim()) opts.publisher = publisher.trim();
    if (communities.size) opts.communities = [...communities];
    const list = paths.split('\n').map((p) => p.trim()).filter(Boolean);
    const r = await act.run(
      () =>
        kind === 'text'
          ? call<{ shareId: string; seq: string }>('publishText', title.trim(), text, opts)
          : kind === 'files'
            ? call<{ shareId: string; seq: string }>('publishFiles', list, opts)
            : call<{ shareId: string; seq: string }>('publishFolder', list[0] ?? '', opts),
      (v) => `published share ${v.shareId} (seq ${v.seq})`,
    );
    if (r) own.reload();
  }

  return (
    <div class="stack">
      <Section title="New publication">
        <form class="form" onSubmit={submit}>
          <fieldset>
            <legend>What to publish</legend>
            {(['folder', 'files', 'text'] as Kind[]).map((k) => (
              <label key={k} class="inline">
                <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} /> {k === 'folder' ? 'A folder' : k === 'files' ? 'Files' : 'Text'}
              </label>
            ))}
          </fieldset>
          <label for="pub-title">Title</label>
          <input id="pub-title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} required />
          <label for="pub-desc">Description (optional)</label>
          <input id="pub-desc" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
          {kind === 'text' ? (
            <>
              <label for="pub-text">Text</label>
              <textarea id="pub-text" rows={6} value={text} onInput={(e) => setText(e.currentTarget.value)} required />
            </>
          ) : (
            <>
              <label for="pub-paths">{kind === 'folder' ? 'Folder path on the node’s machine' : 'File paths on the node’s machine, one per line'}</label>
              {kind === 'folder' ? (
                <input id="pub-paths" value={paths} onInput={(e) => setPaths(e.currentTarget.value)} required spellcheck={false} placeholder="/home/me/Music" />
              ) : (
                <textarea id="pub-paths" rows={4} value={paths} onInput={(e) => setPaths(e.currentTarget.value)} required spellcheck={false} />
              )}
            </>
          )}
          <fieldset>
            <legend>Visibility</legend>
            <label class="inline">
              <input type="radio" name="visibility" value="private" checked={visibility === 'private'} onChange={() => setVisibility('private')} /> private (only
              people with the share id)
            </label>
            <label class="inline">
              <input type="radio" name="visibility" value="public" checked={visibility === 'public'} onChange={() => setVisibility('public')} /> public (listed to
              peers)
            </label>
          </fieldset>
          {!!comms.data?.length && (
            <fieldset>
              <legend>Communities</legend>
              {comms.data.map((c) => (
                <label key={c.communityId} class="inline">
                  <input
                    type="checkbox"
                    checked={communities.has(c.communityId)}
                    onChange={(e) => {
                      const n = new Set(communities);
                      if (e.currentTarget.checked) n.add(c.communityId);
                      else n.delete(c.communityId);
                      setCommunities(n);
                    }}
                  />{' '}
                  {c.name ?? short(c.communityId)}
                </label>
              ))}
            </fieldset>
          )}
          <label for="pub-publisher">Publisher label (optional: a separate share needs its own)</label>
          <input id="pub-publisher" value={publisher} onInput={(e) => setPublisher(e.currentTarget.value)} placeholder="default" />
          <button type="submit" disabled={act.busy}>
            {act.busy ? 'Publishing…' : 'Publish'}
          </button>
          {act.busy && progress && (
            <p>
              <label for="pub-progress">Hashing</label>{' '}
              <progress id="pub-progress" max={progress.bytesTotal || 1} value={progress.bytesDone} /> {progress.filesDone}/{progress.filesTotal} files,{' '}
              {bytes(progress.bytesDone)} of {bytes(progress.bytesTotal)}
            </p>
          )}
          <Notice message={act.message} />
        </form>
      </Section>
      <Section title="My shares">
        <ErrorLine error={own.error} />
        {own.data?.length === 0 && <p class="muted">Nothing published yet.</p>}
        {!!own.data?.length && (
          <table>
            <caption class="sr-only">Shares this node publishes</caption>
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Share id</th>
                <th scope="col">Visibility</th>
                <th scope="col">Items</th>
                <th scope="col">Seq</th>
                <th scope="col">Updated</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {own.data.map((s) => (
                <tr key={s.shareId}>
                  <th scope="row">{s.title ?? '—'}</th>
                  <td>
                    <code class="hex" data-testid="own-share-id">
                      {s.shareId}
                    </code>
                  </td>
                  <td>{s.visibility}</td>
                  <td>{s.items}</td>
                  <td>{s.seq}</td>
                  <td>{when(s.updatedAt)}</td>
                  <td class="actions">
                    {has('shareLink') && <LinkButton shareId={s.shareId} />}
                    <button type="button" class="secondary" onClick={async () => (await call('unpublish', s.shareId), own.reload())}>
                      Unpublish
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </div>
  );
}

export function LinkButton({ shareId }: { shareId: string }) {
  const [link, setLink] = useState<string>();
  const [err, setErr] = useState<string>();
  return (
    <>
      <button type="button" onClick={() => call<string>('shareLink', shareId).then(setLink, (e: Error) => setErr(e.message))}>
        Share link
      </button>
      {link && (
        <input readOnly aria-label="Share link" value={link} onFocus={(e) => e.currentTarget.select()} class="link" />
      )}
      {err && <ErrorLine error={{ code: 'ERROR', message: err } as never} />}
    </>
  );
}
