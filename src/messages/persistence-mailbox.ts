import type { CommonMailbox } from './mailbox.js';

export interface NodeIdentity {
  /** Hex: first 20 bytes of SHA-256(node pubkey) (PROTOCOL.md §5.1). */
  nodeId: string;
  nodePubkey: string;
  /** The default publisher's share key and id. */
  sharePubkey: string;
  shareId: string;
}

export interface PersistenceMailbox extends CommonMailbox {
  identity: { req: object; reply: NodeIdentity };
  schema: { req: object; reply: { version: number } };
}
