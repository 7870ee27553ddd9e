import type { CommonMailbox } from './mailbox.js';

/** The relay issue adds its messages here. */
export type RelayMailbox = CommonMailbox;
