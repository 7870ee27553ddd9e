import { HashingPool } from '../../hashing/hashing-pool.js';
import type { ActorDefinition } from '../runtime/actor-definition.js';
import { withTransfer } from '../runtime/transfer.js';

/**
 * Fetcher actor (shell until the download issue). It already owns its hashing pool — made on first use in
 * this thread, so chunk bytes never cross the main thread — and answers the bulk-bytes probes.
 */
export const actor: ActorDefinition<'fetcher'> = {
  name: 'fetcher',
  start(ctx) {
    let pool: HashingPool | undefined;
    const threads = typeof ctx.config.hashThreads === 'number' ? ctx.config.hashThreads : 2;
    const hashing = (): HashingPool => (pool ??= new HashingPool({ threads }));
    ctx.defer(() => pool?.close());
    return {
      handlers: {
        async hashChunks(req) {
          const r = await hashing().hashChunks(req.buffer, req.buffer.byteLength, req.chunkSize);
          return withTransfer(r, [r.buffer, r.hashes.buffer as ArrayBuffer]);
        },
        bounce: (req) => withTransfer({ buffer: req.buffer }, [req.buffer]),
      },
    };
  },
};
