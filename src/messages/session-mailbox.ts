import type { CommonMailbox } from './mailbox.js';

/** Filled in by the session issue; the shell answers with an empty list. */
export interface PeerRecord {
  nodeId: string;
  pubkey: string;
  addresses: string[];
  transport: 'tcp' | 'quic';
  connected: boolean;
  lastSeen: bigint;
  capabilities: Record<string, boolean>;
}

export interface SessionMailbox extends CommonMailbox {
  peers: { req: object; reply: PeerRecord[] };
  addresses: { req: object; reply: string[] };
}
