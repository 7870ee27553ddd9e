import { workerData } from 'node:worker_threads';
import type { ActorName } from '../../messages/actor-name.js';
import type { ActorInit } from '../../messages/control.js';
import { actorModules } from '../registry.js';
import { runActorHost } from './actor-host.js';
import { systemClock } from './clock.js';
import type { PortLike } from './port.js';

/** Worker thread bootstrap: the supervisor passes the control port, the peer ports and the init record. */
interface WorkerBoot {
  init: ActorInit;
  control: PortLike;
  peers: Partial<Record<ActorName, PortLike>>;
}

const boot = workerData as WorkerBoot;
const { actor } = await actorModules[boot.init.name]();

runActorHost(actor, boot.control, boot.init, boot.peers, {
  clock: systemClock,
  inject(mode) {
    if (mode === 'exit') process.exit(1);
    if (mode === 'throw') {
      setTimeout(() => {
        throw new Error(`injected crash in actor "${boot.init.name}"`);
      }, 0);
    }
    if (mode === 'hang') {
      // A stuck thread: no beats, no replies. Short waits keep it terminable without burning a core.
      const cell = new Int32Array(new SharedArrayBuffer(4));
      for (;;) Atomics.wait(cell, 0, 0, 50);
    }
  },
  onFatal(err) {
    // Let it escape: the Worker's 'error' event is how the supervisor sees an uncaught error.
    setTimeout(() => {
      throw err;
    }, 0);
  },
});
