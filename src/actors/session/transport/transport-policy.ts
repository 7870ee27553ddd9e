/**
 * Which transport to dial a peer with. `choose` is pure (time is an argument); `ThroughputEstimator` keeps a small
 * per-peer, per-kind record of measured bulk throughput and failures that `auto` decides on.
 */
import type { TransportKind } from './transport.js';

export type TransportPreference = 'prefer-quic' | 'prefer-tcp' | 'auto';

export interface KindStats {
  /** Exponentially weighted bulk throughput, bytes/s; undefined until one sample. */
  readonly bytesPerSec: number | undefined;
  readonly samples: number;
  /** Unix ms of the last dial failure (connect/handshake) on this kind, if any. */
  readonly lastFailureAt: number | undefined;
  readonly consecutiveFailures: number;
}

export interface PeerTransportView {
  /** Transports the peer is known to listen on (from its addresses). */
  readonly available: readonly TransportKind[];
  readonly stats: Partial<Record<TransportKind, KindStats>>;
}

export interface PolicyInit {
  /** A kind whose last failure is younger than this (scaled by consecutive failures) is tried last. */
  readonly failureBackoffMs: number;
  /** `auto` switches away from the incumbent only when the other is this much faster (hysteresis). */
  readonly switchRatio: number;
  /** `auto` explores the unmeasured kind until both have this many samples. */
  readonly minSamples: number;
}

export const DEFAULT_POLICY: PolicyInit = { failureBackoffMs: 30_000, switchRatio: 1.25, minSamples: 1 };

function backedOff(s: KindStats | undefined, now: number, init: PolicyInit): boolean {
  if (!s || s.lastFailureAt === undefined || s.consecutiveFailures === 0) return false;
  const window = init.failureBackoffMs * Math.min(8, 2 ** (s.consecutiveFailures - 1));
  return now - s.lastFailureAt < window;
}

/**
 * Dial order for a peer: every available kind once, best first. Failing kinds in back-off go last; under `auto`,
 * an unmeasured kind is tried first (TCP before QUIC, as the reference's apps do), then the faster one wins with
 * hysteresis towards TCP — the interop path — when the two are close.
 */
export function chooseTransports(pref: TransportPreference, peer: PeerTransportView, now: number, init: PolicyInit = DEFAULT_POLICY): TransportKind[] {
  const avail = (['tcp', 'quic'] as const).filter((k) => peer.available.includes(k));
  if (avail.length < 2) return [...avail];
  let order: TransportKind[];
  if (pref === 'prefer-quic') order = ['quic', 'tcp'];
  else if (pref === 'prefer-tcp') order = ['tcp', 'quic'];
  else {
    const tcp = peer.stats.tcp;
    const quic = peer.stats.quic;
    if ((tcp?.samples ?? 0) < init.minSamples) order = ['tcp', 'quic'];
    else if ((quic?.samples ?? 0) < init.minSamples) order = ['quic', 'tcp'];
    else order = (quic!.bytesPerSec ?? 0) > (tcp!.bytesPerSec ?? 0) * init.switchRatio ? ['quic', 'tcp'] : ['tcp', 'quic'];
  }
  const ok = order.filter((k) => !backedOff(peer.stats[k], now, init));
  return [...ok, ...order.filter((k) => !ok.includes(k))];
}

/** Per-peer, per-kind throughput (EWMA over bulk transfers) and dial failures. */
export class ThroughputEstimator {
  private readonly peers = new Map<string, Partial<Record<TransportKind, KindStats>>>();

  constructor(
    /** Weight of a new sample. */
    private readonly alpha = 0.3,
    /** Transfers smaller than this say more about latency than throughput and are ignored. */
    private readonly minSampleBytes = 256 * 1024,
    /** Peers remembered (oldest forgotten first). */
    private readonly maxPeers = 4096,
  ) {}

  recordTransfer(peer: string, kind: TransportKind, bytes: number, ms: number): void {
    if (bytes < this.minSampleBytes || ms <= 0) return;
    const rate = (bytes * 1000) / ms;
    const s = this.get(peer, kind);
    this.put(peer, kind, {
      ...s,
      bytesPerSec: s.bytesPerSec === undefined ? rate : s.bytesPerSec + this.alpha * (rate - s.bytesPerSec),
      samples: s.samples + 1,
      consecutiveFailures: 0,
    });
  }

  recordFailure(peer: string, kind: TransportKind, now: number): void {
    const s = this.get(peer, kind);
    this.put(peer, kind, { ...s, lastFailureAt: now, consecutiveFailures: s.consecutiveFailures + 1 });
  }

  recordSuccess(peer: string, kind: TransportKind): void {
    const s = this.get(peer, kind);
    if (s.consecutiveFailures !== 0) this.put(peer, kind, { ...s, consecutiveFailures: 0 });
  }

  view(peer: string, available: readonly TransportKind[]): PeerTransportView {
    return { available, stats: { ...(this.peers.get(peer) ?? {}) } };
  }

  private get(peer: string, kind: TransportKind): KindStats {
    return this.peers.get(peer)?.[kind] ?? { bytesPerSec: undefined, samples: 0, lastFailureAt: undefined, consecutiveFailures: 0 };
  }

  private put(peer: string, kind: TransportKind, s: KindStats): void {
    const cur = this.peers.get(peer) ?? {};
    this.peers.delete(peer); // re-insert: Map order doubles as recency
    this.peers.set(peer, { ...cur, [kind]: s });
    if (this.peers.size > this.maxPeers) this.peers.delete(this.peers.keys().next().value!);
  }
}
