/** The six actors of a node, in start order (persistence first: it opens and migrates the store). */
export const ACTOR_NAMES = ['persistence', 'session', 'dht', 'fetcher', 'relay', 'index'] as const;

export type ActorName = (typeof ACTOR_NAMES)[number];

export function isActorName(v: unknown): v is ActorName {
  return typeof v === 'string' && (ACTOR_NAMES as readonly string[]).includes(v);
}

export type CrashMode = 'throw' | 'exit' | 'hang';
