import type { ActorName } from '../../messages/actor-name.js';
import type { ActorInit } from '../../messages/control.js';
import type { CommonMailbox, ReplyOf, ReqFields } from '../../messages/mailbox.js';
import type { MailboxOf, Mailboxes } from '../../messages/mailboxes.js';
import type { NodeEvent } from '../../messages/node-events.js';
import type { ActorLog } from './actor-log.js';
import type { Clock } from './clock.js';
import type { Random } from './random.js';
import type { CallOptions } from './rpc-endpoint.js';
import type { Transfer, Unwrapped } from './transfer.js';

/** Requests to the actors this one has a direct channel to (see wiring.ts). */
export interface PeerDirectory {
  has(name: ActorName): boolean;
  request<A extends ActorName, T extends keyof Mailboxes[A] & string>(
    actor: A,
    body: { type: T } & ReqFields<Mailboxes[A][T]>,
    opts?: CallOptions,
  ): Promise<Unwrapped<ReplyOf<Mailboxes[A], T>>>;
}

/** What an actor's code gets from the runtime: every side channel it may use is here, injected. */
export interface ActorContext {
  readonly name: ActorName;
  readonly incarnation: number;
  readonly dataDir: string;
  readonly config: Record<string, unknown>;
  readonly clock: Clock;
  readonly random: Random;
  readonly peers: PeerDirectory;
  /** Structured log lines with this actor's `actor` field, at the node's level (actor-log.ts). */
  readonly log: ActorLog;
  emit(event: NodeEvent): void;
  /** Runs when this incarnation ends, gracefully or not (inline actors must release what they hold). */
  defer(cleanup: () => void | Promise<void>): void;
}

type Reply<R> = R | Transfer<R> | Promise<R | Transfer<R>>;

/** One handler per message type of the actor's mailbox; `ping` is answered by the runtime. */
export type Handlers<A extends ActorName> = {
  [T in Exclude<keyof MailboxOf<A>, keyof CommonMailbox> & string]: (
    req: { type: T } & ReqFields<MailboxOf<A>[T]>,
  ) => Reply<ReplyOf<MailboxOf<A>, T>>;
};

export interface ActorInstance<A extends ActorName> {
  handlers: Handlers<A>;
  /** Graceful stop: flush and close. Not called on a crash. */
  stop?(): void | Promise<void>;
  /**
   * A peer's incarnation is gone (it crashed, or its channel was replaced by a new one): what this actor lent it
   * and waits to get back will not come back (the session's chunk slab slots).
   */
  peerDown?(name: ActorName): void;
}

export interface ActorDefinition<A extends ActorName> {
  name: A;
  start(ctx: ActorContext): ActorInstance<A> | Promise<ActorInstance<A>>;
}

export type AnyActorDefinition = { [A in ActorName]: ActorDefinition<A> }[ActorName];

export type { ActorInit };
