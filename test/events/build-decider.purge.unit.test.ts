import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { given, history } from './decider-spec.ts';
import { cmd, planOf, runStage, t } from './fixtures.ts';
import type { Build } from '../../src/events/build-state.ts';

/** PurgeStepLog: Drone's DELETE .../logs/{stage}/{step}, recorded with who asked. */
const plan = planOf({ name: 'build', steps: [{ name: 'clone' }, { name: 'test' }] });
const purge = (stage: number, step: number, at = t(50)) => ({ type: 'PurgeStepLog' as const, data: { stage, step, by: 'dora', at } });

describe('PurgeStepLog', () => {
  it('on a finished build: StepLogPurged with who and when, and the step keeps its outcome and log sha256', () => {
    const finished = history(cmd.create(plan), ...runStage(1, 2, 1));
    const before = given(finished).state as Build;
    assert.equal(before.finished, true);
    const after = given(finished)
      .when(purge(1, 2))
      .then([{ type: 'StepLogPurged', data: { stage: 1, step: 2, by: 'dora', at: t(50) } }]) as Build;
    assert.deepEqual(after, before, 'the purge changes no fact of the build');
  });

  it('refuses a step still running (its runner is writing the log), and names stages and steps that do not exist', () => {
    const running = history(cmd.create(plan), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.startStep(1, 1, t(3)));
    assert.match(given(running).when(purge(1, 1)).thenThrows('step_running', 409).message, /still running/);
    assert.equal(given(running).when(purge(1, 2)).events().length, 1, 'a step not yet started has nothing running');
    given(running).when(purge(2, 1)).thenThrows('unknown_stage', 404);
    given(running).when(purge(1, 9)).thenThrows('unknown_step', 404);
    given([]).when(purge(1, 1)).thenThrows('build_not_found', 404);
  });
});
