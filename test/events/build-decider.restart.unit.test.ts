import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Build } from '../../src/events/build-state.ts';
import { given, history } from './decider-spec.ts';
import { cmd, lease, planOf, runner, t, types } from './fixtures.ts';

// Restart from a step: a new build (Drone's `parent`) whose stage `restart.stage` starts at
// `restart.step` on the parent's kept workspace, or whole when the workspace is gone.
const asBuild = (state: unknown) => state as Build;
const plan3 = planOf({ name: 'one', steps: [{ name: 'clone' }, { name: 'build' }, { name: 'test' }] });
const restartOf = (step: number, carried: number[] = [], workspace = true) => ({
  parent: 6,
  restart: { stage: 1, step, carried, ...(workspace ? { workspace: { runner: runner(2), key: 'parent-1-1' } } : {}) },
});

describe('CreateBuild with a restart', () => {
  it('records the restart and queues the stage as usual', () => {
    const events = given().when(cmd.create(plan3, restartOf(3))).events();
    assert.deepEqual(types(events), ['BuildCreated', 'StageQueued']);
    const created = events[0]!;
    assert.equal(created.type, 'BuildCreated');
    assert.deepEqual(created.type === 'BuildCreated' && created.data.restart, restartOf(3).restart);
    assert.deepEqual(asBuild(given(events).state).restart, restartOf(3).restart);
  });

  it('carries over stages that succeeded in the parent: skipped, and their dependents run', () => {
    const plan = planOf({ name: 'lint' }, { name: 'test' }, { name: 'deploy', dependsOn: ['lint', 'test'] });
    const events = given()
      .when(cmd.create(plan, { parent: 6, restart: { stage: 2, step: 1, carried: [1] } }))
      .events();
    assert.deepEqual(
      events.slice(1).map((e) => [e.type, (e.data as { stage?: number }).stage]),
      [['StageSkipped', 1], ['StageQueued', 2]],
    );
    const skipped = events[1]!;
    assert.deepEqual(skipped.type === 'StageSkipped' && skipped.data.reason, {
      condition: 'restart',
      reason: 'it succeeded in build #6, which this build restarts',
    });
  });

  it('refuses a restart of a step or stage not in the plan, or carrying over what runs after it', () => {
    given().when(cmd.create(plan3, { parent: 6, restart: { stage: 2, step: 1, carried: [] } })).thenThrows('unknown_stage', 404);
    given().when(cmd.create(plan3, { parent: 6, restart: { stage: 1, step: 9, carried: [] } })).thenThrows('unknown_step', 404);
    given().when(cmd.create(plan3, { restart: { stage: 1, step: 1, carried: [] } })).thenThrows('bad_restart', 400);
    const plan = planOf({ name: 'build' }, { name: 'deploy', dependsOn: ['build'] });
    given().when(cmd.create(plan, { parent: 6, restart: { stage: 1, step: 1, carried: [2] } })).thenThrows('bad_restart', 400);
    given().when(cmd.create(plan, { parent: 6, restart: { stage: 1, step: 1, carried: [1] } })).thenThrows('bad_restart', 400);
  });
});

describe('ResumeStage of a restart', () => {
  it('with the workspace kept, the steps before the restart step are skipped as kept, and the rest run', () => {
    const h = history(cmd.create(plan3, restartOf(2)), cmd.claim(1, t(1)));
    const state = given(h)
      .when(cmd.resume(1, t(2), 2, 'kept', lease(1)))
      .then([
        { type: 'StageResumed', data: { stage: 1, attempt: 1, fromStep: 2, workspace: 'kept', keptSteps: [1], timeoutMinutes: 60, at: t(2) } },
        { type: 'StepSkipped', data: { stage: 1, step: 1, reason: { condition: 'resume', reason: 'kept from an earlier run; resumed at step 2' }, at: t(2) } },
      ]);
    assert.deepEqual(asBuild(state).stages[0]!.steps.map((s) => s.status), ['skipped', 'pending', 'pending']);
  });

  it('with the workspace gone, the stage runs whole and the event says fresh', () => {
    const h = history(cmd.create(plan3, restartOf(2, [], false)), cmd.claim(1, t(1)));
    const state = given(h)
      .when(cmd.resume(1, t(2), 1, 'fresh', lease(1)))
      .then([{ type: 'StageResumed', data: { stage: 1, attempt: 1, fromStep: 1, workspace: 'fresh', timeoutMinutes: 60, at: t(2) } }]);
    assert.deepEqual(asBuild(state).stages[0]!.steps.map((s) => s.status), ['pending', 'pending', 'pending']);
  });

  it('keeps services pending: they start again for the steps after the restart step', () => {
    const plan = planOf({ name: 'one', services: ['db'], steps: [{ name: 'migrate' }, { name: 'test' }] });
    const h = history(cmd.create(plan, restartOf(3)), cmd.claim(1, t(1)));
    const events = given(h).when(cmd.resume(1, t(2), 3, 'kept', lease(1))).events();
    assert.deepEqual(
      events.filter((e) => e.type === 'StepSkipped').map((e) => (e.data as { step: number }).step),
      [2],
      'the service (step 1) is not skipped, the step before the restart step is',
    );
  });

  it('refuses to keep a workspace for a stage that never ran, unless the build restarts it from that step', () => {
    given(history(cmd.create(plan3), cmd.claim(1, t(1)))).when(cmd.resume(1, t(2), 2, 'kept', lease(1))).thenThrows('resume_not_restart', 409);
    given(history(cmd.create(plan3, restartOf(2)), cmd.claim(1, t(1))))
      .when(cmd.resume(1, t(2), 3, 'kept', lease(1)))
      .thenThrows('resume_not_restart', 409);
  });
});

describe('RequeueStage', () => {
  const requeue = (attempt: number, at = t(30)) =>
    ({ type: 'RequeueStage', data: { stage: 1, attempt, reason: 'runner r2 did not take it within 30s', at } }) as const;

  it('queues an untaken offer again as the next attempt, with the reason', () => {
    const h = history(cmd.create(plan3, restartOf(2)));
    const state = given(h)
      .when(requeue(1))
      .then([{ type: 'StageRequeued', data: { stage: 1, attempt: 2, reason: 'runner r2 did not take it within 30s', at: t(30) } }]);
    const stage = asBuild(state).stages[0]!;
    assert.equal(stage.status, 'pending');
    assert.equal(stage.attempt, 2);
    given([...h, ...given(h).when(requeue(1)).events()]).when(cmd.claim(1, t(31))).thenThrows('stale_attempt', 409);
  });

  it('is refused once the stage was claimed, for another attempt, and after a cancel', () => {
    const h = history(cmd.create(plan3, restartOf(2)));
    given(history(cmd.create(plan3, restartOf(2)), cmd.claim(1, t(1)))).when(requeue(1)).thenThrows('stage_not_pending', 409);
    given(h).when(requeue(2)).thenThrows('stale_attempt', 409);
    given([...h, { type: 'CancelRequested', data: { by: 'x', at: t(2) } }]).when(requeue(1)).thenThrows('cancel_requested', 409);
  });
});
