import { assign, setup } from 'xstate';
import type { CrashReason } from '../../messages/node-events.js';

/**
 * One actor's lifecycle as the supervisor sees it. Pure: the supervisor sends events and reads the state;
 * the decisions with side effects (restart or give up) are made by restart-policy.ts and sent in as events.
 */
export type LifecycleEvent =
  | { type: 'READY' }
  | { type: 'CRASH'; reason: CrashReason; error: string }
  | { type: 'RESTART' }
  | { type: 'GIVE_UP' }
  | { type: 'STOP' }
  | { type: 'STOPPED' };

export interface LifecycleContext {
  restarts: number;
  lastError: string | null;
  lastReason: CrashReason | null;
}

export type LifecycleState = 'starting' | 'running' | 'stopping' | 'stopped' | 'crashed' | 'restarting' | 'failed';

export const lifecycleMachine = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as LifecycleEvent,
  },
  actions: {
    recordCrash: assign(({ event }) =>
      event.type === 'CRASH' ? { lastError: event.error, lastReason: event.reason } : {},
    ),
    countRestart: assign(({ context }) => ({ restarts: context.restarts + 1 })),
  },
}).createMachine({
  id: 'actor-lifecycle',
  initial: 'starting',
  context: { restarts: 0, lastError: null, lastReason: null },
  states: {
    starting: {
      on: {
        READY: 'running',
        CRASH: { target: 'crashed', actions: 'recordCrash' },
        STOP: 'stopping',
      },
    },
    running: {
      on: {
        CRASH: { target: 'crashed', actions: 'recordCrash' },
        STOP: 'stopping',
      },
    },
    stopping: {
      on: {
        STOPPED: 'stopped',
        // A crash while stopping still ends in stopped: nothing is restarted on the way down.
        CRASH: { target: 'stopped', actions: 'recordCrash' },
      },
    },
    stopped: { type: 'final' },
    crashed: {
      on: {
        RESTART: { target: 'restarting', actions: 'countRestart' },
        GIVE_UP: 'failed',
        STOP: 'stopped',
      },
    },
    restarting: {
      on: {
        READY: 'running',
        CRASH: { target: 'crashed', actions: 'recordCrash' },
        STOP: 'stopping',
      },
    },
    failed: { type: 'final' },
  },
});
