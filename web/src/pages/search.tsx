import { useState } from 'preact/hooks';
import { call } from '../api.js';
import { ErrorLine, Notice, Section } from '../components.js';
import { bytes } from '../format.js';
import { useAction, usePref } from '../hooks.js';
import type { PageProps } from '../main.js';

interface Hit {
  shareId: string;
  contentId: string;
  name: string;
  path: string | null;
  size: string;
  mime: string | null;
  score: number;
  shareTitle: string | null;
  snippet: string | null;
}

const TRUSTS = ['trusted', 'normal', 'untrusted'] as const;

export function Search({ info }: PageProps) {
  const [q, setQ] = useState('');
  const [trust, setTrust] = useState<Set<string>>(new Set(['trusted', 'normal']));
  const [pageSize, setPageSize] = usePref('pageSize', '20');
  const [offset, setOffset] = useState(0);
  const [result, setResult] = useState<{ hits: Hit[]; total: number; query: string }>();
  const [error, setError] = useState<{ code: string; message: string }>();
  const [target] = usePref('downloadDir', `${info.dataDir}/downloads`);
  const dl = useAction();
  const limit = Number(pageSize) || 20;

  async function run(at: number) {
    setError(undefined);
    try {
      const r = await call<{ hits: Hit[]; total: number }>('search', q, { limit, offset: at, trust: [...trust] });
      setResult({ ...r, query: q });
      setOffset(at);
    } catch (e) {
      setError(e as { code: string; message: string });
    }
  }

  return (
    <div class="stack">
      <Section title="Search subscribed shares">
        <form
          role="search"
          class="form"
          onSubmit={(ev) => {
            ev.preventDefault();
            void run(0);
          }}
        >
          <label for="q">Search for</label>
          <input id="q" type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} required />
          <fieldset>
            <legend>Trust levels to include</legend>
            {TRUSTS.map((t) => (
              <label key={t} class="inline">
                <input
                  type="checkbox"
                  checked={trust.has(t)}
                  onChange={(e) => {
                    const n = new Set(trust);
                    if (e.currentTarget.checked) n.add(t);
                    else n.delete(t);
                    setTrust(n);
                  }}
                />{' '}
                {t}
              </label>
            ))}
          </fieldset>
          <label for="page-size">Results per page</label>
          <select id="page-size" value={pageSize} onChange={(e) => setPageSize(e.currentTarget.value)}>
            {['10', '20', '50', '100'].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
          <button type="submit">Search</button>
        </form>
        <p class="muted">Search runs on this node over the shares it subscribes to (and its own), never over the network.</p>
      </Section>
      <ErrorLine error={error as never} />
      {result && (
        <Section title="Results">
          <p role="status" aria-live="polite" data-testid="search-total">
            {result.total} result{result.total === 1 ? '' : 's'} for “{result.query}”
            {result.total > 0 && ` — showing ${offset + 1}–${Math.min(offset + result.hits.length, result.total)}`}
          </p>
          <ol class="hits" start={offset + 1}>
            {result.hits.map((h) => (
              <li key={`${h.shareId}:${h.contentId}`} class="hit">
                <div class="row">
                  <strong>{h.name}</strong>
                  <span class="muted">
                    {h.path && h.path !== h.name ? `${h.path} · ` : ''}
                    {bytes(h.size)} · in {h.shareTitle ?? h.shareId.slice(0, 12)}
                  </span>
                  <button
                    type="button"
                    aria-label={`Download ${h.name}`}
                    disabled={dl.busy}
                    onClick={() => dl.run(() => call<unknown[]>('downloadItems', h.shareId, [h.contentId], target), () => `${h.name} downloaded and verified into ${target}`)}
                  >
                    Download
                  </button>
                </div>
                {h.snippet && <p class="snippet">{h.snippet}</p>}
              </li>
            ))}
          </ol>
          <Notice message={dl.message} />
          <nav aria-label="Result pages" class="row">
            <button type="button" disabled={offset === 0} onClick={() => run(Math.max(0, offset - limit))}>
              Previous
            </button>
            <button type="button" disabled={offset + limit >= result.total} onClick={() => run(offset + limit)}>
              Next
            </button>
          </nav>
        </Section>
      )}
    </div>
  );
}
