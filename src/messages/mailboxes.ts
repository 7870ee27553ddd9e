import type { ActorName } from './actor-name.js';
import type { DhtMailbox } from './dht-mailbox.js';
import type { FetcherMailbox } from './fetcher-mailbox.js';
import type { IndexMailbox } from './index-mailbox.js';
import type { RequestOf } from './mailbox.js';
import type { PersistenceMailbox } from './persistence-mailbox.js';
import type { RelayMailbox } from './relay-mailbox.js';
import type { SessionMailbox } from './session-mailbox.js';

/** Actor name -> its mailbox. The one place a request's reply type is looked up. */
export interface Mailboxes {
  persistence: PersistenceMailbox;
  session: SessionMailbox;
  dht: DhtMailbox;
  fetcher: FetcherMailbox;
  relay: RelayMailbox;
  index: IndexMailbox;
}

export type MailboxOf<A extends ActorName> = Mailboxes[A];
export type RequestTo<A extends ActorName> = RequestOf<Mailboxes[A]>;
