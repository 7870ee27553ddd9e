import type { ActorDefinition } from '../runtime/actor-definition.js';

/** dht actor: a shell that runs and answers pings until its issue fills it in. */
export const actor: ActorDefinition<'dht'> = {
  name: 'dht',
  start() {
    return { handlers: {} };
  },
};
