import type { ActorDefinition } from '../runtime/actor-definition.js';

/** relay actor: a shell that runs and answers pings until its issue fills it in. */
export const actor: ActorDefinition<'relay'> = {
  name: 'relay',
  start() {
    return { handlers: {} };
  },
};
