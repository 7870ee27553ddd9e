import type { CommonMailbox } from './mailbox.js';

export type Trust = 'trusted' | 'normal' | 'untrusted';

export interface Subscription {
  shareId: string;
  sharePubkey: string | null;
  trust: Trust;
  /** Unix milliseconds. */
  subscribedAt: bigint;
}

export interface IndexMailbox extends CommonMailbox {
  subscribe: { req: { shareId: string; sharePubkey?: string | null; trust?: Trust }; reply: Subscription };
  unsubscribe: { req: { shareId: string }; reply: { removed: boolean } };
  listSubscriptions: { req: object; reply: Subscription[] };
}
