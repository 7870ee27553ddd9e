import type { CommonMailbox } from './mailbox.js';
import type { WireMailboxEntry } from './wire.js';

/** The relay actor (PROTOCOL.md §9): relay role for others, tunnel registration for ourselves. */
export interface RelayMailbox extends CommonMailbox, WireMailboxEntry {}
