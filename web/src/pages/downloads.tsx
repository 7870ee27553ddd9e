import { useRef, useState } from 'preact/hooks';
import { call } from '../api.js';
import { ErrorLine, Section } from '../components.js';
import { bytes, rate, short } from '../format.js';
import { useEvents, useLoad } from '../hooks.js';
import type { PageProps } from '../main.js';

interface Download {
  id: string;
  shareId: string | null;
  contentId: string;
  path: string;
  state: string;
  bytesDone: string;
  bytesTotal: string;
  error?: string | null;
}

export function Downloads(_: PageProps) {
  const list = useLoad(() => call<Download[]>('listDownloads'), [], 5_000);
  // live numbers from DownloadProgress events, on top of the last listing
  const [live, setLive] = useState<Record<string, { done: number; total: number; speed: number; peers: number }>>({});
  const seen = useRef(new Map<string, { t: number; n: number }>());
  useEvents(
    (e) => {
      const id = String(e.id);
      const done = Number(e.bytesDone);
      const now = performance.now();
      const prev = seen.current.get(id);
      seen.current.set(id, { t: now, n: done });
      setLive((l) => {
        const old = l[id];
        const inst = prev && now > prev.t ? ((done - prev.n) * 1000) / (now - prev.t) : 0;
        const speed = old ? old.speed * 0.7 + inst * 0.3 : inst;
        return { ...l, [id]: { done, total: Number(e.bytesTotal), speed, peers: Number(e.peers ?? 0) } };
      });
    },
    ['DownloadProgress'],
  );
  useEvents(() => list.reload(), ['DownloadCompleted', 'DownloadFailed']);
  const act = (method: string, id: string) => call(method, id).then(list.reload, list.reload);

  const rows = list.data ?? [];
  return (
    <Section title="Transfers">
      <ErrorLine error={list.error} />
      {rows.length === 0 && !list.error && <p class="muted">No downloads yet. Pick files in Discover or Search.</p>}
      {rows.length > 0 && (
        <table>
          <caption class="sr-only">Downloads with progress</caption>
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">State</th>
              <th scope="col">Progress</th>
              <th scope="col">Speed</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => {
              const l = live[d.id];
              const finished = d.state === 'completed' || d.state === 'cancelled' || d.state === 'failed';
              const done = finished ? Number(d.bytesDone) : Math.max(l?.done ?? 0, Number(d.bytesDone));
              const total = Number(d.bytesTotal) || l?.total || 0;
              const name = d.path.split('/').pop() ?? d.path;
              return (
                <tr key={d.id} data-state={d.state}>
                  <th scope="row">
                    <span title={d.path}>{name}</span>
                    <div class="muted">
                      <code>{short(d.contentId)}</code>
                    </div>
                  </th>
                  <td>
                    <span class={`pill ${d.state === 'completed' ? 'ok' : d.state === 'failed' ? 'bad' : ''}`}>{d.state}</span>
                    {d.error && <div class="muted">{d.error}</div>}
                  </td>
                  <td>
                    <progress max={total || 1} value={done} aria-label={`Progress of ${name}`} /> {bytes(done)} / {bytes(total)}
                  </td>
                  <td>{!finished && l ? `${rate(Math.max(0, l.speed))} · ${l.peers} peer${l.peers === 1 ? '' : 's'}` : '—'}</td>
                  <td class="actions">
                    {(d.state === 'running' || d.state === 'queued') && (
                      <button type="button" onClick={() => act('pauseDownload', d.id)} aria-label={`Pause ${name}`}>
                        Pause
                      </button>
                    )}
                    {(d.state === 'paused' || d.state === 'failed') && (
                      <button type="button" onClick={() => act('resumeDownload', d.id)} aria-label={`Resume ${name}`}>
                        Resume
                      </button>
                    )}
                    {!finished && (
                      <button type="button" class="secondary" onClick={() => act('cancelDownload', d.id)} aria-label={`Cancel ${name}`}>
                        Cancel
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Section>
  );
}
