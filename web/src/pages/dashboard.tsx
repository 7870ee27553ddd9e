import { useRef, useState } from 'preact/hooks';
import { call } from '../api.js';
import { ErrorLine, Hex, Section } from '../components.js';
import { bytes, rate, short, transportLabel, when } from '../format.js';
import { useEvents, useLoad } from '../hooks.js';
import type { PageProps } from '../main.js';

interface Peer {
  nodeId: string;
  addresses: string[];
  transport: string;
  connected: boolean;
  relayed?: boolean;
  lastSeen: string;
}
interface Status {
  id: { nodeId: string; shareId: string };
  addresses: string[];
  peers: number;
  health: { state: string; failure: string | null; actors: Array<{ name: string; state: string; restarts: number; lastError: string | null; mailboxDepth?: number }> };
}

/** Download rate from DownloadProgress deltas over a sliding 5 s window. */
function useTransferRate(): { down: number; total: number } {
  const last = useRef(new Map<string, number>());
  const samples = useRef<Array<{ t: number; n: number }>>([]);
  const [state, setState] = useState({ down: 0, total: 0 });
  useEvents(
    (e) => {
      const id = String(e.id);
      const done = Number(e.bytesDone ?? 0);
      const delta = Math.max(0, done - (last.current.get(id) ?? 0));
      last.current.set(id, done);
      const now = performance.now();
      samples.current.push({ t: now, n: delta });
      samples.current = samples.current.filter((s) => now - s.t < 5_000);
      const sum = samples.current.reduce((a, s) => a + s.n, 0);
      setState((s) => ({ down: sum / 5, total: s.total + delta }));
    },
    ['DownloadProgress'],
  );
  return state;
}

export function Dashboard({ info }: PageProps) {
  const status = useLoad(() => call<Status>('status'), [], 3_000);
  const peers = useLoad(() => call<Peer[]>('peers'), [], 3_000);
  const t = useTransferRate();
  const s = status.data;
  return (
    <div class="grid">
      <Section title="This node">
        <dl class="kv">
          <dt>Node id</dt>
          <dd>
            <Hex value={info.id.nodeId} />
          </dd>
          <dt>Default share id</dt>
          <dd>
            <Hex value={info.id.shareId} />
          </dd>
          <dt>State</dt>
          <dd>{s?.health.state ?? '…'}</dd>
          <dt>Addresses</dt>
          <dd>
            {s?.addresses.length ? (
              <ul class="plain">
                {s.addresses.map((a) => (
                  <li key={a}>
                    <code>{a}</code>
                  </li>
                ))}
              </ul>
            ) : (
              'no listeners'
            )}
          </dd>
          <dt>Data directory</dt>
          <dd>
            <code>{info.dataDir}</code>
          </dd>
        </dl>
        <ErrorLine error={status.error} />
      </Section>

      <Section title="Transfers">
        <dl class="kv">
          <dt>Download rate</dt>
          <dd data-testid="rate-down">{rate(t.down)}</dd>
          <dt>Downloaded this visit</dt>
          <dd>{bytes(t.total)}</dd>
          <dt>Connected peers</dt>
          <dd>{s?.peers ?? '…'}</dd>
        </dl>
        <p class="muted">
          Totals since the node started are at <a href="/metrics">/metrics</a> (Prometheus).
        </p>
      </Section>

      <Section title="Actor health">
        <table>
          <caption class="sr-only">Actors, their lifecycle state, restarts and requests waiting</caption>
          <thead>
            <tr>
              <th scope="col">Actor</th>
              <th scope="col">State</th>
              <th scope="col">Restarts</th>
              <th scope="col">Mailbox</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {s?.health.actors.map((a) => (
              <tr key={a.name}>
                <th scope="row">{a.name}</th>
                <td>
                  <span class={`pill ${a.state === 'running' ? 'ok' : 'warn'}`}>{a.state}</span>
                </td>
                <td>{a.restarts}</td>
                <td title="requests waiting in or being handled by the actor">{a.mailboxDepth ?? '—'}</td>
                <td class="muted">{a.lastError ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {s?.health.failure && <p class="notice error">Node failed: {s.health.failure}</p>}
      </Section>

      <Section title="Peers">
        <ErrorLine error={peers.error} />
        {peers.data && peers.data.length === 0 && <p class="muted">No peers yet. Connect with a bootstrap address or a share link.</p>}
        {peers.data && peers.data.length > 0 && (
          <table>
            <caption class="sr-only">Known peers</caption>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Status</th>
                <th scope="col">Path</th>
                <th scope="col">Transport</th>
                <th scope="col">Addresses</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {peers.data.map((p) => (
                <tr key={p.nodeId}>
                  <th scope="row">
                    <code title={p.nodeId}>{short(p.nodeId)}</code>
                  </th>
                  <td>{p.connected ? 'connected' : 'known'}</td>
                  <td>{p.relayed ? 'relayed' : 'direct'}</td>
                  <td>{transportLabel(p.transport)}</td>
                  <td>
                    {p.addresses.map((a) => (
                      <code key={a} class="block">
                        {a}
                      </code>
                    ))}
                  </td>
                  <td>{when(p.lastSeen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <ConnectForm onDone={peers.reload} />
      </Section>
    </div>
  );
}

function ConnectForm({ onDone }: { onDone: () => void }) {
  const [addr, setAddr] = useState('');
  const [msg, setMsg] = useState<string>();
  return (
    <form
      class="row"
      onSubmit={async (ev) => {
        ev.preventDefault();
        setMsg('connecting…');
        try {
          const p = await call<Peer>('connect', addr.trim());
          setMsg(`connected to ${short(p.nodeId)}`);
          onDone();
        } catch (e) {
          setMsg(`could not connect: ${(e as Error).message}`);
        }
      }}
    >
      <label for="connect-addr">Connect to a peer</label>
      <input id="connect-addr" value={addr} onInput={(e) => setAddr(e.currentTarget.value)} placeholder="tcp://10.0.0.2:7001" required />
      <button type="submit">Connect</button>
      <span role="status" aria-live="polite">
        {msg}
      </span>
    </form>
  );
}
