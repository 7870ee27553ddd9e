/**
 * How a mailbox is declared: one map from message `type` to its request fields and its reply. Both ends
 * (the caller's `request()` and the actor's handler table) are typed from the same map.
 */

/** The fields of one request (besides `type`). */
export type ReqFields<E> = E extends { req: infer R } ? R : never;

/** The discriminated union of requests a mailbox accepts. */
export type RequestOf<M> = { [T in keyof M & string]: { type: T } & ReqFields<M[T]> }[keyof M & string];

export type ReplyOf<M, T extends keyof M> = M[T] extends { reply: infer R } ? R : never;

/** Messages every actor answers (the runtime answers them; an actor's handlers do not). */
export interface CommonMailbox {
  /** Liveness and wiring probe; `delayMs` holds the reply back (tests use it to have a caller waiting). */
  ping: { req: { delayMs?: number; via?: string; viaDelayMs?: number }; reply: Pong };
}

export interface Pong {
  actor: string;
  incarnation: number;
  /** When `via` named a peer, that peer's pong, reached over the direct channel. */
  peer?: Pong;
}
