import type { LimitsMailboxEntry } from '../limits.js';
import type { CommonMailbox } from './mailbox.js';
import type { WireMailboxEntry } from './wire.js';

/** Where a relay candidate came from (API.md "Relays"). */
export type RelayCandidateSource = 'config' | 'lan' | 'peer' | 'dht' | 'relay-list';

/** `node.relayStatus()` (API.md "Relays"). */
export interface RelayStatus {
  /** 'firewalled': configured, no listener, or dial-back checks failed; 'direct': a peer dialed us back. */
  reachability: 'direct' | 'firewalled' | 'unknown';
  /** Our tunnel, when registered. `expiresAt` is the slot expiry in unix ms. */
  registration: { relayNodeId: string; relayAddr: string; relayVia: string; expiresAt: number } | null;
  /**
   * Relays we would try, best first; `score` in [-1, 1]. `source` is where we first knew it from (configuration
   * before LAN before handshakes before the DHT before relay lists); `sources` every place that named it.
   */
  candidates: Array<{ nodeId: string; addr: string; source: RelayCandidateSource; sources: RelayCandidateSource[]; score: number }>;
  /** The relay role: whether on, live slots, live tunnels. */
  serving: { enabled: boolean; slots: number; tunnels: number };
}

/** The relay actor (PROTOCOL.md §9): relay role for others, tunnel registration for ourselves. */
export interface RelayMailbox extends CommonMailbox, WireMailboxEntry {
  status: { req: object; reply: RelayStatus };
  /** The session tells us that a connection closed: a tunnel we carry, or our own tunnel to a relay. */
  connectionClosed: { req: { connId: number }; reply: void };
  /** Live `maxRelayTunnels` (src/limits.ts; relay-limits.ts). */
  setLimits: LimitsMailboxEntry;
}
