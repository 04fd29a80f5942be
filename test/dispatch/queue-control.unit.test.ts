import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideQueue, evolveQueue, initialQueueState, QueueEvent } from '../../src/dispatch/queue-control.ts';

const data = { by: 'admin', at: '2026-01-01T00:00:00.000Z' };

describe('queue control decider', () => {
  it('pauses a running queue and resumes a paused one, each an event with who and when', () => {
    const paused = decideQueue({ type: 'PauseQueue', data }, initialQueueState());
    assert.deepEqual(paused, [{ type: 'QueuePaused', data }]);
    const state = paused.map((e) => QueueEvent.parse(e)).reduce(evolveQueue, initialQueueState());
    assert.deepEqual(state, { paused: true, ...data });
    assert.deepEqual(decideQueue({ type: 'ResumeQueue', data }, state), [{ type: 'QueueResumed', data }]);
  });

  it('is idempotent as Drone is: pausing a paused queue or resuming a running one records nothing', () => {
    assert.deepEqual(decideQueue({ type: 'ResumeQueue', data }, initialQueueState()), []);
    assert.deepEqual(decideQueue({ type: 'PauseQueue', data }, { paused: true, ...data }), []);
  });
});
