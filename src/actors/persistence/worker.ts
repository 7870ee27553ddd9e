import type { ActorDefinition } from '../runtime/actor-definition.js';
import { openEnvironment } from '../../store/environment.js';
import { IdentityStore } from '../../store/identity-store.js';
import { migrate } from '../../store/schema.js';

/** Opens and migrates the lmdb environment before any other actor starts; keeps the node's keys. */
export const actor: ActorDefinition<'persistence'> = {
  name: 'persistence',
  async start(ctx) {
    const env = openEnvironment(ctx.dataDir);
    ctx.defer(() => env.close());
    const version = migrate(env);
    const passphrase = typeof ctx.config.keyPassphrase === 'string' ? ctx.config.keyPassphrase : undefined;
    const identity = new IdentityStore(env, passphrase).loadOrCreate();
    return {
      handlers: {
        identity: () => identity,
        schema: () => ({ version }),
      },
    };
  },
};
