import type { CommonMailbox } from './mailbox.js';

/** The DHT issue adds its messages here. */
export type DhtMailbox = CommonMailbox;
