import { useState } from 'preact/hooks';
import { call, forgetToken } from '../api.js';
import { ErrorLine, Hex, Notice, Section, Unavailable } from '../components.js';
import { useAction, useLoad, usePref } from '../hooks.js';
import type { PageProps } from '../main.js';
import { LinkButton } from './publish.js';

type Limits = Record<string, number | null>;
const LIMIT_LABELS: Record<string, string> = {
  maxDownloadBps: 'Download cap, whole node (bytes/s)',
  maxUploadBps: 'Upload cap, whole node (bytes/s)',
  perPeerDownloadBps: 'Download cap per peer (bytes/s)',
  perPeerUploadBps: 'Upload cap per peer (bytes/s)',
  maxConcurrentDownloads: 'Downloads at once (empty: 4; more wait queued)',
  maxRequestsPerPeer: 'Chunk requests in flight per peer',
  maxConnections: 'Peer connections',
  maxRelayTunnels: 'Relay tunnels carried for others',
};

export function Settings({ info, has }: PageProps) {
  const [dir, setDir] = usePref('downloadDir', `${info.dataDir}/downloads`);
  return (
    <div class="stack">
      <Section title="Identity">
        <dl class="kv">
          <dt>Node id</dt>
          <dd>
            <Hex value={info.id.nodeId} />
          </dd>
          {info.id.nodePubkey && (
            <>
              <dt>Node public key</dt>
              <dd>
                <Hex value={info.id.nodePubkey} />
              </dd>
            </>
          )}
          <dt>Default share id</dt>
          <dd>
            <Hex value={info.id.shareId} />
          </dd>
          <dt>Default share public key</dt>
          <dd>
            <Hex value={info.id.sharePubkey} />
          </dd>
          <dt>Share link</dt>
          <dd>{has('shareLink') ? <LinkButton shareId={info.id.shareId} /> : <Unavailable what="Share links" />}</dd>
        </dl>
        <p class="muted">
          Keys are encrypted at rest when the node starts with a passphrase (<code>scp2p start --key-passphrase-env VAR</code>, or{' '}
          <code>keyPassphrase</code> when embedding). Back them up with <code>exportIdentity</code>.
        </p>
      </Section>
      <Section title="Limits">{has('setLimits') ? <LimitsForm /> : <Unavailable what="Live limits" />}</Section>
      <Section title="This browser">
        <form class="form" onSubmit={(e) => e.preventDefault()}>
          <label for="set-dir">Default download folder (on the node’s machine)</label>
          <input id="set-dir" value={dir} onInput={(e) => setDir(e.currentTarget.value)} />
        </form>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            forgetToken();
            location.reload();
          }}
        >
          Forget the access token in this tab
        </button>
      </Section>
    </div>
  );
}

function LimitsForm() {
  const current = useLoad(() => call<Limits>('limits'), []);
  // Edits over the node's current values; undefined = nothing edited since they were loaded.
  const [edits, setEdits] = useState<Record<string, string>>();
  const act = useAction();
  // No inputs before the current values are in, so nothing typed can be overwritten by them.
  if (!current.data && !current.error) return <p class="muted">Loading limits…</p>;
  const loaded = Object.fromEntries(Object.keys(LIMIT_LABELS).map((k) => [k, current.data?.[k] == null ? '' : String(current.data[k])]));
  const form = edits ?? loaded;
  return (
    <form
      class="form"
      onSubmit={async (ev) => {
        ev.preventDefault();
        const patch = Object.fromEntries(Object.entries(form).map(([k, v]) => [k, v.trim() === '' ? null : Number(v)]));
        await act.run(
          () => call<{ applied: Array<{ actor: string }>; unsupported: string[]; failed: Array<{ actor: string; error: string }> }>('setLimits', patch),
          (r) =>
            `saved. applied by: ${r.applied.map((a) => a.actor).join(', ') || 'none'}` +
            (r.unsupported.length ? `; not enforced yet by: ${r.unsupported.join(', ')}` : '') +
            (r.failed.length ? `; failed: ${r.failed.map((f) => `${f.actor} (${f.error})`).join(', ')}` : ''),
        );
        setEdits(undefined);
        current.reload();
      }}
    >
      <ErrorLine error={current.error} />
      <p class="muted">
        Empty means no limit. Changes apply at once to running transfers, without a restart.
      </p>
      {Object.keys(LIMIT_LABELS).map((k) => (
        <div key={k} class="field">
          <label for={`lim-${k}`}>{LIMIT_LABELS[k]}</label>
          <input
            id={`lim-${k}`}
            type="number"
            min={0}
            step={1}
            inputMode="numeric"
            value={form[k] ?? ''}
            onInput={(e) => setEdits({ ...form, [k]: e.currentTarget.value })}
          />
        </div>
      ))}
      <button type="submit" disabled={act.busy}>
        Apply limits
      </button>
      <Notice message={act.message} />
    </form>
  );
}
