import type { ActorName } from '../messages/actor-name.js';
import type { AnyActorDefinition } from './runtime/actor-definition.js';

/**
 * Where each actor's code lives. Loaded lazily so a worker thread imports only its own actor; inline mode
 * (tests, the simulator) imports the same modules into the main thread.
 */
export const actorModules: Record<ActorName, () => Promise<{ actor: AnyActorDefinition }>> = {
  persistence: () => import('./persistence/worker.js'),
  session: () => import('./session/worker.js'),
  dht: () => import('./dht/worker.js'),
  fetcher: () => import('./fetcher/worker.js'),
  relay: () => import('./relay/worker.js'),
  index: () => import('./index/worker.js'),
};
