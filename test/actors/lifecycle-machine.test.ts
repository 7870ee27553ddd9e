import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { lifecycleMachine, type LifecycleEvent } from '../../src/actors/runtime/lifecycle-machine.js';

function run(events: LifecycleEvent[]) {
  let [snap] = initialTransition(lifecycleMachine);
  for (const e of events) [snap] = transition(lifecycleMachine, snap, e);
  return snap;
}

describe('lifecycle machine (pure transitions)', () => {
  it('starts in starting and reaches running', () => {
    const [s0, actions] = initialTransition(lifecycleMachine);
    expect(s0.value).toBe('starting');
    expect(actions).toEqual([]);
    expect(run([{ type: 'READY' }]).value).toBe('running');
  });

  it('runs the graceful path to the final stopped state', () => {
    const s = run([{ type: 'READY' }, { type: 'STOP' }, { type: 'STOPPED' }]);
    expect(s.value).toBe('stopped');
    expect(s.status).toBe('done');
  });

  it('records the crash, counts the restart, and comes back to running', () => {
    const crashed = run([{ type: 'READY' }, { type: 'CRASH', reason: 'hang', error: 'no heartbeat' }]);
    expect(crashed.value).toBe('crashed');
    expect(crashed.context).toMatchObject({ lastError: 'no heartbeat', lastReason: 'hang', restarts: 0 });
    const back = run([{ type: 'READY' }, { type: 'CRASH', reason: 'exit', error: 'x' }, { type: 'RESTART' }, { type: 'READY' }]);
    expect(back.value).toBe('running');
    expect(back.context.restarts).toBe(1);
  });

  it('a crash while restarting goes back to crashed; giving up is final', () => {
    const s = run([{ type: 'READY' }, { type: 'CRASH', reason: 'error', error: 'a' }, { type: 'RESTART' }, { type: 'CRASH', reason: 'start-failed', error: 'b' }]);
    expect(s.value).toBe('crashed');
    expect(s.context.lastError).toBe('b');
    const failed = run([{ type: 'READY' }, { type: 'CRASH', reason: 'error', error: 'a' }, { type: 'GIVE_UP' }]);
    expect(failed.value).toBe('failed');
    expect(failed.status).toBe('done');
    // nothing moves a failed actor
    expect(transition(lifecycleMachine, failed, { type: 'READY' })[0].value).toBe('failed');
  });

  it('ignores events that do not apply to the state', () => {
    const s = run([{ type: 'READY' }, { type: 'RESTART' }, { type: 'STOPPED' }]);
    expect(s.value).toBe('running');
  });

  it('a crash during stop still ends stopped (no restart on the way down)', () => {
    const s = run([{ type: 'READY' }, { type: 'STOP' }, { type: 'CRASH', reason: 'exit', error: 'x' }]);
    expect(s.value).toBe('stopped');
  });
});
