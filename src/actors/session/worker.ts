import type { ActorDefinition } from '../runtime/actor-definition.js';

/** Session actor: a shell (no listeners yet) that answers with no peers and no addresses. */
export const actor: ActorDefinition<'session'> = {
  name: 'session',
  start() {
    return {
      handlers: {
        peers: () => [],
        addresses: () => [],
      },
    };
  },
};
