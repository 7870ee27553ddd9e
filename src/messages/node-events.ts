import type { ActorName, CrashMode } from './actor-name.js';

/** What `node.events$` carries. Later issues add their members (PeerConnected, DownloadProgress, ...). */
export type NodeEvent =
  | { type: 'ActorStarted'; actor: ActorName; incarnation: number }
  | { type: 'ActorCrashed'; actor: ActorName; reason: CrashReason; error: string }
  | { type: 'ActorRestarted'; actor: ActorName; restarts: number }
  | { type: 'ActorFailed'; actor: ActorName; error: string }
  | { type: 'NodeFailed'; reason: string }
  | { type: 'NodeStopped' }
  | { type: 'SubscriptionAdded'; shareId: string }
  | { type: 'SubscriptionRemoved'; shareId: string }
  | { type: 'DownloadProgress'; id: string; contentId: string; bytesDone: bigint; bytesTotal: bigint; peers: number }
  | { type: 'DownloadCompleted'; id: string; contentId: string; path: string }
  | { type: 'DownloadFailed'; id: string; contentId: string; error: string; code: string }
  | { type: 'ManifestUpdated'; shareId: string; seq: bigint; manifestId: string; items: number; own: boolean }
  | { type: 'SearchIndexUpdated'; shareId: string; added: number; removed: number; changed: number; items: number }
  | { type: 'PeerConnected'; nodeId: string; addr: string; transport: 'tcp' | 'quic'; relayed: boolean }
  | { type: 'PeerDisconnected'; nodeId: string; reason: string }
  /** Firewalled side: a tunnel is registered and its relay_via address advertised (API.md "Relays"). */
  | { type: 'RelayRegistered'; relayNodeId: string; relayAddr: string; relayVia: string }
  /** Firewalled side: the tunnel dropped or a relay refused us; the node tries the next candidate. */
  | { type: 'RelayLost'; relayNodeId: string; reason: string }
  /** Relay side: a firewalled peer registered a tunnel (slot id as a decimal string). */
  | { type: 'RelayTunnelOpened'; peerNodeId: string; slotId: string }
  | { type: 'RelayTunnelClosed'; peerNodeId: string; slotId: string; reason: string }
  | { type: 'PublishProgress'; publisher: string; filesDone: number; filesTotal: number; bytesDone: bigint; bytesTotal: bigint; hashed: number; cached: number }
  /**
   * Fetcher chunk counters, batched (deltas since the previous one, at most one per 250 ms while there is
   * traffic): chunks that verified / failed verification while downloading, chunks served to peers.
   */
  | { type: 'TransferStats'; chunksVerified: number; bytesVerified: number; chunksRejected: number; chunksServed: number; bytesServed: number; intervalMs: number }
  /** One iterative DHT lookup (kind: node, value, share-head); ok = it found what it looked for. */
  | { type: 'DhtLookupCompleted'; kind: string; ms: number; ok: boolean };

/** How a crash was observed: an uncaught error, the thread exiting, missed heartbeats, or a failed start. */
export type CrashReason = 'error' | 'exit' | 'hang' | 'start-failed';

export type { CrashMode };
