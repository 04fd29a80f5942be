import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { given, history } from './decider-spec.ts';
import { cmd, lease, LOG_SHA, planOf, runner, runStage, t } from './fixtures.ts';
import type { Build } from '../../src/events/build-state.ts';

/** Cancel at each phase, timeouts, inactivity, lost runners and resumes. */

const plan = planOf({ name: 'build', steps: [{ name: 'clone' }, { name: 'test' }] }, { name: 'deploy', dependsOn: ['build'] });
const asBuild = (s: unknown) => s as Build;
const cancelled = { type: 'CancelRequested' as const, data: { by: 'carol', at: t(9) } };
const skippedByCancel = (stage: number, step: number, at = t(9)) => ({
  type: 'StepSkipped' as const,
  data: { stage, step, reason: { condition: 'stage', reason: 'the build was cancelled before the step ran' }, at },
});
const killedByCancel = (stage: number, step: number, at = t(9)) => ({
  type: 'StepFinished' as const,
  data: { stage, step, exitCode: 137, status: 'killed' as const, error: 'the build was cancelled', at },
});

const queued = () => history(cmd.create(plan));
const claimed = () => history(cmd.create(plan), cmd.claim(1, t(1)));
const running = () => history(cmd.create(plan), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.startStep(1, 1, t(3)));

describe('RequestCancel', () => {
  it('while queued: every stage ends at once (never started → skipped, as Drone\'s canceler) and the build is killed', () => {
    const state = given(queued())
      .when(cmd.cancel(t(9)))
      .then([
        cancelled,
        skippedByCancel(1, 1),
        skippedByCancel(1, 2),
        { type: 'StageCancelled', data: { stage: 1, attempt: 1, at: t(9) } },
        skippedByCancel(2, 1),
        { type: 'StageCancelled', data: { stage: 2, at: t(9) } },
        { type: 'BuildFinished', data: { status: 'killed', at: t(9) } },
      ]);
    assert.deepEqual(asBuild(state).stages.map((s) => s.status), ['skipped', 'skipped']);
    assert.equal(asBuild(state).status, 'killed');
  });

  it('while blocked: the build is killed without running', () => {
    const events = given(history(cmd.create(plan, { block: 'fork' }))).when(cmd.cancel(t(9))).events();
    assert.deepEqual(events.at(-1), { type: 'BuildFinished', data: { status: 'killed', at: t(9) } });
  });

  it('while a stage is claimed: the others end, the claimed one waits for its runner', () => {
    const state = given(claimed())
      .when(cmd.cancel(t(9)))
      .then([cancelled, skippedByCancel(2, 1), { type: 'StageCancelled', data: { stage: 2, at: t(9) } }]);
    assert.equal(asBuild(state).status, 'pending');
    const after = [...claimed(), ...given(claimed()).when(cmd.cancel(t(9))).events()];
    given(after).when(cmd.start(1, t(10))).thenThrows('cancel_requested', 409);
    given(after)
      .when(cmd.cancelStage(1, t(10)))
      .then([
        skippedByCancel(1, 1, t(10)),
        skippedByCancel(1, 2, t(10)),
        { type: 'StageCancelled', data: { stage: 1, attempt: 1, at: t(10) } },
        { type: 'BuildFinished', data: { status: 'killed', at: t(10) } },
      ]);
  });

  it('while running: the runner reports its killed step, then the stage; the build is killed', () => {
    const after = [...running(), ...given(running()).when(cmd.cancel(t(9))).events()];
    assert.equal(asBuild(given(after).state).status, 'running', 'running until the runner stops');
    given(after).when(cmd.startStep(1, 2, t(10))).thenThrows('cancel_requested', 409);
    given(after).when(cmd.claim(2, t(10))).thenThrows('cancel_requested', 409);
    const killed = given(after)
      .when(cmd.finishStep(1, 1, t(10), 137, lease(1), { status: 'killed' }))
      .then([{ type: 'StepFinished', data: { stage: 1, step: 1, exitCode: 137, status: 'killed', logSize: 12, logSha256: LOG_SHA, at: t(10) } }]);
    assert.equal(asBuild(killed).stages[0]!.steps[0]!.status, 'killed');
    const reported = [...after, ...given(after).when(cmd.finishStep(1, 1, t(10), 137, lease(1), { status: 'killed' })).events()];
    const state = given(reported)
      .when(cmd.cancelStage(1, t(11)))
      .then([
        skippedByCancel(1, 2, t(11)),
        { type: 'StageCancelled', data: { stage: 1, attempt: 1, at: t(11) } },
        { type: 'BuildFinished', data: { status: 'killed', at: t(11) } },
      ]);
    assert.deepEqual(asBuild(state).stages.map((s) => s.status), ['killed', 'skipped']);
  });

  it('a running step the runner did not report is recorded killed by the server (137, no log hash)', () => {
    const after = [...running(), ...given(running()).when(cmd.cancel(t(9))).events()];
    given(after)
      .when(cmd.cancelStage(1, t(10)))
      .then([
        killedByCancel(1, 1, t(10)),
        skippedByCancel(1, 2, t(10)),
        { type: 'StageCancelled', data: { stage: 1, attempt: 1, at: t(10) } },
        { type: 'BuildFinished', data: { status: 'killed', at: t(10) } },
      ]);
  });

  it('the reaper cancels a stage whose runner vanished (leaseToken null)', () => {
    const after = [...running(), ...given(running()).when(cmd.cancel(t(9))).events()];
    const events = given(after).when(cmd.cancelStage(1, t(70), null)).events();
    assert.deepEqual(events.at(-1), { type: 'BuildFinished', data: { status: 'killed', at: t(70) } });
  });

  it('a stage that finishes anyway after the request still ends the build killed', () => {
    const h = history(cmd.create(planOf({ name: 'one' })), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.startStep(1, 1, t(3)), cmd.cancel(t(4)), cmd.finishStep(1, 1, t(5)));
    given(h)
      .when(cmd.finishStage(1, t(6)))
      .then([
        { type: 'StageFinished', data: { stage: 1, attempt: 1, status: 'success', at: t(6) } },
        { type: 'BuildFinished', data: { status: 'killed', at: t(6) } },
      ]);
  });

  it('after one stage ended: the rest are cancelled', () => {
    const h = history(cmd.create(plan), ...runStage(1, 2, 1));
    const events = given(h).when(cmd.cancel(t(9))).events();
    assert.deepEqual(events.map((e) => e.type), ['CancelRequested', 'StepSkipped', 'StageCancelled', 'BuildFinished']);
  });

  it('is refused twice and after the build finished', () => {
    given([...running(), cancelled]).when(cmd.cancel(t(10))).thenThrows('cancel_already_requested', 409);
    given(history(cmd.create(plan), ...runStage(1, 2, 1), ...runStage(2, 1, 10))).when(cmd.cancel(t(20))).thenThrows('build_finished', 409);
  });

  it('CancelStage is refused for an ended stage and with a stale lease', () => {
    given(running()).when(cmd.cancelStage(1, t(9), 'other')).thenThrows('stale_lease', 403);
    given(history(cmd.create(plan), ...runStage(1, 2, 1))).when(cmd.cancelStage(1, t(9))).thenThrows('stage_ended', 409);
    given(running()).when(cmd.cancelStage(7, t(9))).thenThrows('unknown_stage', 404);
  });
});

describe('TimeOutStage', () => {
  it('is refused before the deadline and for a stage that never started', () => {
    given(running()).when(cmd.timeOut(1, t(2 + 3599))).thenThrows('deadline_not_reached', 409);
    given(claimed()).when(cmd.timeOut(1, t(5000))).thenThrows('deadline_not_reached');
  });

  it('at the deadline the stage is killed (Drone: a deadline cancels the context), steps killed and skipped', () => {
    const state = given(running())
      .when(cmd.timeOut(1, t(2 + 3600)))
      .then([
        { type: 'StepFinished', data: { stage: 1, step: 1, exitCode: 137, status: 'killed', error: 'the stage timed out', at: t(3602) } },
        { type: 'StepSkipped', data: { stage: 1, step: 2, reason: { condition: 'stage', reason: 'the stage timed out before the step ran' }, at: t(3602) } },
        { type: 'StageTimedOut', data: { stage: 1, attempt: 1, deadline: t(3602), at: t(3602) } },
        { type: 'StageSkipped', data: { stage: 2, reason: { condition: 'dependency', reason: "dependency 'build' did not succeed and this pipeline runs only on success" }, at: t(3602) } },
        { type: 'BuildFinished', data: { status: 'killed', at: t(3602) } },
      ]);
    assert.equal(asBuild(state).stages[0]!.status, 'killed');
  });

  it('the reaper times out a requeued stage that waited past its original deadline', () => {
    const h = history(cmd.create(plan), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.expire(1, t(100)));
    const events = given(h).when(cmd.timeOut(1, t(4000), null)).events();
    assert.ok(events.some((e) => e.type === 'StageTimedOut' && e.data.attempt === 2 && e.data.deadline === t(3602)));
  });

  it('refuses a stale lease', () => {
    given(running()).when(cmd.timeOut(1, t(4000), 'nope')).thenThrows('stale_lease', 403);
  });
});

describe('MarkStageInactive', () => {
  it('is refused while the limit has not passed, and before the stage runs', () => {
    given(running()).when(cmd.inactive(1, t(903), t(4), 900)).thenThrows('not_inactive', 409);
    given(claimed()).when(cmd.inactive(1, t(2000), t(1), 900)).thenThrows('stage_not_running', 409);
  });

  it('kills the stage when nothing happened for the limit', () => {
    const events = given(running()).when(cmd.inactive(1, t(904), t(4), 900)).events();
    assert.deepEqual(events.slice(0, 3), [
      { type: 'StepFinished', data: { stage: 1, step: 1, exitCode: 137, status: 'killed', error: 'no activity for 900s', at: t(904) } },
      { type: 'StepSkipped', data: { stage: 1, step: 2, reason: { condition: 'stage', reason: 'no activity for 900s before the step ran' }, at: t(904) } },
      { type: 'StageInactive', data: { stage: 1, attempt: 1, lastActivityAt: t(4), limitSeconds: 900, at: t(904) } },
    ]);
    assert.deepEqual(events.at(-1), { type: 'BuildFinished', data: { status: 'killed', at: t(904) } });
  });
});

describe('ExpireLease', () => {
  it('records the lost runner, errors its running step and requeues as the next attempt', () => {
    const state = given(running())
      .when(cmd.expire(1, t(100)))
      .then([
        { type: 'StageLeaseExpired', data: { stage: 1, attempt: 1, runner: runner(), leaseToken: lease(1), at: t(100) } },
        { type: 'StepFinished', data: { stage: 1, step: 1, exitCode: 255, status: 'error', error: 'the runner was lost (its lease expired)', at: t(100) } },
        { type: 'StageRequeued', data: { stage: 1, attempt: 2, at: t(100) } },
      ]);
    const stage = asBuild(state).stages[0]!;
    assert.equal(stage.status, 'pending');
    assert.equal(stage.attempt, 2);
    assert.equal(stage.claim, undefined);
    assert.equal(asBuild(state).status, 'running');
  });

  it('fences the lost runner off and lets the next one claim attempt 2 only', () => {
    const h = [...running(), ...given(running()).when(cmd.expire(1, t(100))).events()];
    given(h).when(cmd.finishStep(1, 1, t(101))).thenThrows('stale_lease', 403);
    given(h).when(cmd.finishStage(1, t(101))).thenThrows('stale_lease', 403);
    given(h).when(cmd.claim(1, t(101), 1)).thenThrows('stale_attempt', 409);
    given(h)
      .when(cmd.claim(1, t(101), 2, runner(2)))
      .then([{ type: 'StageClaimed', data: { stage: 1, attempt: 2, runner: runner(2), leaseToken: lease(1, 2), at: t(101) } }]);
  });

  it('is refused for a token that is not the live claim', () => {
    given(running()).when(cmd.expire(1, t(100), 'old')).thenThrows('stale_lease', 403);
    given(queued()).when(cmd.expire(1, t(100))).thenThrows('stale_lease', 403);
  });

  it('a restarted attempt keeps the first deadline', () => {
    const h = history(
      cmd.create(plan),
      cmd.claim(1, t(1)),
      cmd.start(1, t(2)),
      cmd.expire(1, t(100)),
      cmd.claim(1, t(200), 2, runner(2)),
    );
    const state = given(h).when(cmd.start(1, t(201), lease(1, 2))).then([
      { type: 'StageStarted', data: { stage: 1, attempt: 2, runner: runner(2), timeoutMinutes: 60, at: t(201) } },
    ]);
    const stage = asBuild(state).stages[0]!;
    assert.equal(stage.deadline, t(3602));
    assert.equal(stage.startedAt, t(2));
    assert.deepEqual(stage.steps.map((s) => s.status), ['pending', 'pending']);
  });

  it('after maxAttempts lost runners the stage ends in error, and so does the build', () => {
    const lostThrice = history(
      cmd.create(planOf({ name: 'one', steps: [{ name: 'a' }, { name: 'b' }] })),
      cmd.claim(1, t(1)),
      cmd.start(1, t(2)),
      cmd.expire(1, t(100)),
      cmd.claim(1, t(101), 2, runner(2)),
      cmd.start(1, t(102), lease(1, 2)),
      cmd.expire(1, t(200), lease(1, 2)),
      cmd.claim(1, t(201), 3, runner(3)),
      cmd.start(1, t(202), lease(1, 3)),
      cmd.startStep(1, 1, t(203), lease(1, 3)),
    );
    const state = given(lostThrice)
      .when(cmd.expire(1, t(300), lease(1, 3)))
      .then([
        { type: 'StageLeaseExpired', data: { stage: 1, attempt: 3, runner: runner(3), leaseToken: lease(1, 3), at: t(300) } },
        { type: 'StepFinished', data: { stage: 1, step: 1, exitCode: 255, status: 'error', error: 'the runner was lost (its lease expired)', at: t(300) } },
        { type: 'StepSkipped', data: { stage: 1, step: 2, reason: { condition: 'stage', reason: 'the stage lost its runner 3 times' }, at: t(300) } },
        { type: 'StageFinished', data: { stage: 1, attempt: 3, status: 'error', error: 'the stage lost its runner 3 times', at: t(300) } },
        { type: 'BuildFinished', data: { status: 'error', at: t(300) } },
      ]);
    assert.equal(asBuild(state).status, 'error');
  });

  it('honours a smaller maxAttempts', () => {
    const events = given(running()).when(cmd.expire(1, t(100), lease(1), 1)).events();
    assert.ok(events.some((e) => e.type === 'StageFinished' && e.data.status === 'error' && e.data.error === 'the stage lost its runner 1 time'));
  });

  it('does not requeue when the build is being cancelled', () => {
    const h = [...running(), cancelled, skippedByCancel(2, 1), { type: 'StageCancelled' as const, data: { stage: 2, at: t(9) } }];
    given(h)
      .when(cmd.expire(1, t(100)))
      .then([
        { type: 'StageLeaseExpired', data: { stage: 1, attempt: 1, runner: runner(), leaseToken: lease(1), at: t(100) } },
        killedByCancel(1, 1, t(100)),
        skippedByCancel(1, 2, t(100)),
        { type: 'StageCancelled', data: { stage: 1, attempt: 1, at: t(100) } },
        { type: 'BuildFinished', data: { status: 'killed', at: t(100) } },
      ]);
  });
});

describe('ResumeStage', () => {
  const plan3 = planOf({ name: 'one', steps: [{ name: 'clone' }, { name: 'build' }, { name: 'test' }] });
  /** Step 1 passed, step 2 was running when the runner died; attempt 2 is claimed by runner 2. */
  const lostMidway = () =>
    history(
      cmd.create(plan3),
      cmd.claim(1, t(1)),
      cmd.start(1, t(2)),
      cmd.startStep(1, 1, t(3)),
      cmd.finishStep(1, 1, t(4)),
      cmd.startStep(1, 2, t(5)),
      cmd.expire(1, t(100)),
      cmd.claim(1, t(101), 2, runner(2)),
    );

  it('with the workspace kept, finished steps stay and the stage runs on from the given step', () => {
    const state = given(lostMidway())
      .when(cmd.resume(1, t(102), 2, 'kept', lease(1, 2)))
      .then([{ type: 'StageResumed', data: { stage: 1, attempt: 2, fromStep: 2, workspace: 'kept', keptSteps: [1], timeoutMinutes: 60, at: t(102) } }]);
    const stage = asBuild(state).stages[0]!;
    assert.equal(stage.status, 'running');
    assert.deepEqual(stage.steps.map((s) => s.status), ['success', 'pending', 'pending']);
    assert.equal(stage.deadline, t(3602), 'a resumed stage keeps its deadline');
    const h = [...lostMidway(), ...given(lostMidway()).when(cmd.resume(1, t(102), 2, 'kept', lease(1, 2))).events()];
    given(h).when(cmd.startStep(1, 1, t(103), lease(1, 2))).thenThrows('step_not_pending');
    given(h).when(cmd.startStep(1, 2, t(103), lease(1, 2))).events();
  });

  it('with a fresh workspace every step runs again', () => {
    const state = given(lostMidway())
      .when(cmd.resume(1, t(102), 2, 'fresh', lease(1, 2)))
      .then([{ type: 'StageResumed', data: { stage: 1, attempt: 2, fromStep: 2, workspace: 'fresh', timeoutMinutes: 60, at: t(102) } }]);
    assert.deepEqual(asBuild(state).stages[0]!.steps.map((s) => s.status), ['pending', 'pending', 'pending']);
  });

  it('a restart from a step in a new build records the earlier steps as kept, and sets the deadline', () => {
    const h = history(cmd.create(plan3, { parent: 6, restart: { stage: 1, step: 3, carried: [] } }), cmd.claim(1, t(1)));
    const state = given(h)
      .when(cmd.resume(1, t(2), 3, 'kept', lease(1)))
      .then([
        { type: 'StageResumed', data: { stage: 1, attempt: 1, fromStep: 3, workspace: 'kept', keptSteps: [1, 2], timeoutMinutes: 60, at: t(2) } },
        { type: 'StepSkipped', data: { stage: 1, step: 1, reason: { condition: 'resume', reason: 'kept from an earlier run; resumed at step 3' }, at: t(2) } },
        { type: 'StepSkipped', data: { stage: 1, step: 2, reason: { condition: 'resume', reason: 'kept from an earlier run; resumed at step 3' }, at: t(2) } },
      ]);
    assert.equal(asBuild(state).stages[0]!.deadline, t(3602));
  });

  it('is refused on a running stage, an unknown step, a stale lease, and after a cancel', () => {
    const resumed = [...lostMidway(), ...given(lostMidway()).when(cmd.resume(1, t(102), 2, 'kept', lease(1, 2))).events()];
    given(resumed).when(cmd.resume(1, t(103), 2, 'kept', lease(1, 2))).thenThrows('stage_already_started', 409);
    given(lostMidway()).when(cmd.resume(1, t(102), 9, 'kept', lease(1, 2))).thenThrows('unknown_step', 404);
    given(lostMidway()).when(cmd.resume(1, t(102), 2, 'kept', lease(1, 1))).thenThrows('stale_lease', 403);
    given([...lostMidway(), { type: 'CancelRequested', data: { by: 'x', at: t(101) } }])
      .when(cmd.resume(1, t(102), 2, 'kept', lease(1, 2)))
      .thenThrows('cancel_requested', 409);
  });
});
