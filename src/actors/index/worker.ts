import type { ActorDefinition } from '../runtime/actor-definition.js';
import type { Subscription } from '../../messages/index-mailbox.js';
import { openEnvironment, subDatabase } from '../../store/environment.js';
import { newSubscription, normalizeShareId } from './subscriptions.js';

/**
 * Index actor (shell until the sync/search issue): subscriptions live in its own sub-database, so a restart
 * finds them where it left them. Wall time for `subscribedAt` comes from config's epoch plus the clock.
 */
export const actor: ActorDefinition<'index'> = {
  name: 'index',
  start(ctx) {
    const env = openEnvironment(ctx.dataDir);
    ctx.defer(() => env.close());
    const subs = subDatabase<Subscription>(env, 'index', 'subscriptions');
    const epochMs = typeof ctx.config.epochMs === 'number' ? ctx.config.epochMs : 0;
    const wallNow = (): number => Math.floor(epochMs + ctx.clock.now());
    return {
      handlers: {
        async subscribe(req) {
          const shareId = normalizeShareId(req.shareId);
          const existing = subs.get(shareId);
          const record = newSubscription(req, wallNow(), existing);
          await subs.put(shareId, record);
          if (!existing) ctx.emit({ type: 'SubscriptionAdded', shareId });
          return record;
        },
        async unsubscribe(req) {
          const shareId = normalizeShareId(req.shareId);
          // lmdb's remove() resolves true even for an absent key, so ask first.
          const removed = subs.get(shareId) !== undefined;
          if (removed) await subs.remove(shareId);
          if (removed) ctx.emit({ type: 'SubscriptionRemoved', shareId });
          return { removed };
        },
        listSubscriptions: () => [...subs.getRange()].map(({ value }) => value),
      },
    };
  },
};
