/**
 * Prometheus metrics (prom-client), every series prefixed `scp2p_`. Counters follow the node's event stream;
 * gauges (peers, sessions, actor health, mailbox depth) are read from the node at scrape time. Each node has
 * its own registry, so several nodes in one process don't mix their series.
 *
 * Which events feed which series (NodeEvent, src/messages/node-events.ts):
 *   TransferStats (fetcher, batched deltas ≤ 4/s) → chunks verified / rejected, bytes received and sent
 *   DhtLookupCompleted { kind, ms, ok } (dht, one per lookup) → lookups by kind and result, latency histogram
 *   RelayTunnelOpened / RelayTunnelClosed (relay) → tunnels carried now
 *   PeerConnected / PeerDisconnected (session), DownloadProgress / Completed / Failed (fetcher)
 * Only the node's own supervisor forwards actor events, so the counters start at zero with the node.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsSource {
  readonly id: { nodeId: string };
  readonly events$?: { subscribe(o: { next: (e: { type: string }) => void }): { unsubscribe(): void } };
  health(): { state?: string; actors: Array<{ name: string; state: string; restarts: number; mailboxDepth?: number }> };
  peers?(opts?: { timeoutMs?: number }): Promise<Array<{ connected: boolean; transport: string; relayed?: boolean }>>;
}

export interface NodeMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** Refreshes the scrape-time gauges and renders the text exposition format. */
  render(): Promise<string>;
  close(): void;
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function createNodeMetrics(node: MetricsSource, opts: { defaultMetrics?: boolean } = {}): NodeMetrics {
  const registry = new Registry();
  const r = [registry];
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'scp2p_' });

  new Gauge({ name: 'scp2p_node_info', help: 'Always 1; labels identify the node', labelNames: ['node_id'], registers: r }).set({ node_id: node.id.nodeId }, 1);
  const peers = new Gauge({ name: 'scp2p_peers', help: 'Peers known to the session actor, by connection state', labelNames: ['state'], registers: r });
  const sessions = new Gauge({ name: 'scp2p_sessions', help: 'Live peer sessions by transport and whether they run through a relay', labelNames: ['transport', 'relayed'], registers: r });
  const connects = new Counter({ name: 'scp2p_peer_connections_total', help: 'Peer sessions established', labelNames: ['transport', 'relayed'], registers: r });
  const disconnects = new Counter({ name: 'scp2p_peer_disconnections_total', help: 'Peer sessions ended', registers: r });
  const bytesIn = new Counter({ name: 'scp2p_bytes_received_total', help: 'Verified content bytes downloaded', registers: r });
  const bytesOut = new Counter({ name: 'scp2p_bytes_sent_total', help: 'Content bytes served to peers', registers: r });
  const chunksOk = new Counter({ name: 'scp2p_chunks_verified_total', help: 'Downloaded chunks whose hash matched', registers: r });
  const chunksBad = new Counter({ name: 'scp2p_chunks_rejected_total', help: 'Downloaded chunks rejected (hash mismatch)', registers: r });
  const chunksOut = new Counter({ name: 'scp2p_chunks_served_total', help: 'Chunks served to peers', registers: r });
  const downloads = new Counter({ name: 'scp2p_downloads_total', help: 'Downloads finished, by result', labelNames: ['result'], registers: r });
  const active = new Gauge({ name: 'scp2p_downloads_active', help: 'Downloads that reported progress and have not finished', registers: r });
  const lookups = new Counter({ name: 'scp2p_dht_lookups_total', help: 'DHT lookups, by kind and result', labelNames: ['kind', 'result'], registers: r });
  const lookupTime = new Histogram({
    name: 'scp2p_dht_lookup_duration_seconds',
    help: 'DHT lookup latency',
    labelNames: ['kind'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: r,
  });
  const tunnels = new Gauge({ name: 'scp2p_relay_tunnels', help: 'Relay tunnels this node carries for other peers', registers: r });
  const restarts = new Gauge({ name: 'scp2p_actor_restarts', help: 'Restarts of each actor since the node started', labelNames: ['actor'], registers: r });
  const up = new Gauge({ name: 'scp2p_actor_running', help: '1 when the actor is running, else 0', labelNames: ['actor'], registers: r });
  const mailbox = new Gauge({ name: 'scp2p_actor_mailbox_depth', help: 'Requests waiting in or in flight to each actor', labelNames: ['actor'], registers: r });
  const nodeUp = new Gauge({ name: 'scp2p_node_running', help: '1 while the node is running', registers: r });

  const progress = new Map<string, number>();
  let tunnelCount = 0;
  tunnels.set(0);
  const sub = node.events$?.subscribe({
    next: (raw) => {
      const e = raw as { type: string } & Record<string, unknown>;
      switch (e.type) {
        case 'PeerConnected':
          connects.inc({ transport: String(e.transport ?? 'tcp'), relayed: String(Boolean(e.relayed)) });
          break;
        case 'PeerDisconnected':
          disconnects.inc();
          break;
        case 'DownloadProgress':
          progress.set(String(e.id), num(e.bytesDone));
          active.set(progress.size);
          break;
        case 'TransferStats':
          if (num(e.chunksVerified) > 0) chunksOk.inc(num(e.chunksVerified));
          if (num(e.bytesVerified) > 0) bytesIn.inc(num(e.bytesVerified));
          if (num(e.chunksRejected) > 0) chunksBad.inc(num(e.chunksRejected));
          if (num(e.chunksServed) > 0) chunksOut.inc(num(e.chunksServed));
          if (num(e.bytesServed) > 0) bytesOut.inc(num(e.bytesServed));
          break;
        case 'DownloadCompleted':
        case 'DownloadFailed':
          downloads.inc({ result: e.type === 'DownloadCompleted' ? 'completed' : 'failed' });
          progress.delete(String(e.id));
          active.set(progress.size);
          break;
        case 'DhtLookupCompleted': {
          const kind = String(e.kind ?? 'unknown');
          lookups.inc({ kind, result: e.ok === false ? 'failed' : 'ok' });
          lookupTime.observe({ kind }, num(e.ms) / 1000);
          break;
        }
        case 'RelayTunnelOpened':
          tunnels.set(++tunnelCount);
          break;
        case 'RelayTunnelClosed':
          tunnelCount = Math.max(0, tunnelCount - 1);
          tunnels.set(tunnelCount);
          break;
      }
    },
  });

  async function refresh(): Promise<void> {
    const h = node.health();
    nodeUp.set(h.state === undefined || h.state === 'running' ? 1 : 0);
    for (const a of h.actors) {
      restarts.set({ actor: a.name }, a.restarts);
      up.set({ actor: a.name }, a.state === 'running' ? 1 : 0);
      if (typeof a.mailboxDepth === 'number') mailbox.set({ actor: a.name }, a.mailboxDepth);
    }
    const list = node.peers ? await node.peers({ timeoutMs: 2_000 }).catch(() => undefined) : undefined;
    if (list) {
      peers.reset();
      sessions.reset();
      peers.set({ state: 'connected' }, list.filter((p) => p.connected).length);
      peers.set({ state: 'known' }, list.length);
      for (const transport of ['tcp', 'quic']) for (const relayed of [false, true]) sessions.set({ transport, relayed: String(relayed) }, 0);
      for (const p of list) if (p.connected) sessions.inc({ transport: p.transport, relayed: String(Boolean(p.relayed)) });
    }
  }

  return {
    registry,
    contentType: registry.contentType,
    async render() {
      await refresh();
      return registry.metrics();
    },
    close() {
      sub?.unsubscribe();
      registry.clear();
    },
  };
}
