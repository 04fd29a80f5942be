import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { given, history } from './decider-spec.ts';
import { cmd, lease, LOG_SHA, planOf, runner, runStage, t } from './fixtures.ts';
import type { Build } from '../../src/events/build-state.ts';

const one = planOf({ name: 'default', steps: [{ name: 'clone' }, { name: 'test' }, { name: 'deploy' }] });
const created = () => history(cmd.create(one));
const claimed = () => history(cmd.create(one), cmd.claim(1, t(1)));
const started = () => history(cmd.create(one), cmd.claim(1, t(1)), cmd.start(1, t(2)));
const stepRunning = () => history(cmd.create(one), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.startStep(1, 1, t(3)));
const asBuild = (s: unknown) => s as Build;

describe('ClaimStage', () => {
  it('records the runner and its lease', () => {
    const state = given(created())
      .when(cmd.claim(1, t(1)))
      .then([{ type: 'StageClaimed', data: { stage: 1, attempt: 1, runner: runner(), leaseToken: lease(1), at: t(1) } }]);
    const stage = asBuild(state).stages[0]!;
    assert.equal(stage.status, 'pending');
    assert.deepEqual(stage.claim, { runner: runner(), leaseToken: lease(1), at: t(1) });
    assert.equal(asBuild(state).status, 'pending', 'a claim alone does not make the build running (Drone)');
  });

  it('refuses a second claim while the first holds', () => {
    given(claimed()).when(cmd.claim(1, t(2), 1, runner(2), 'other')).thenThrows('stage_already_claimed', 409);
  });

  it('refuses a stale redelivery of an earlier attempt', () => {
    given(created()).when(cmd.claim(1, t(1), 2)).thenThrows('stale_attempt', 409);
  });

  it('refuses an unknown stage, a waiting stage and an ended one', () => {
    given(created()).when(cmd.claim(9, t(1))).thenThrows('unknown_stage', 404);
    const waiting = history(cmd.create(planOf({ name: 'a' }, { name: 'b', dependsOn: ['a'] })));
    given(waiting).when(cmd.claim(2, t(1))).thenThrows('stage_not_pending', 409);
    const done = history(cmd.create(planOf({ name: 'a' }, { name: 'b' })), ...runStage(1, 1, 1));
    given(done).when(cmd.claim(1, t(20))).thenThrows('stage_ended', 409);
  });
});

describe('StartStage', () => {
  it('starts the stage, sets its deadline, and makes the build running', () => {
    const state = given(claimed())
      .when(cmd.start(1, t(2), lease(1), { workspace: 'fresh' }))
      .then([
        { type: 'StageStarted', data: { stage: 1, attempt: 1, runner: runner(), timeoutMinutes: 60, workspace: 'fresh', at: t(2) } },
      ]);
    const build = asBuild(state);
    assert.equal(build.status, 'running');
    assert.equal(build.stages[0]!.status, 'running');
    assert.equal(build.stages[0]!.startedAt, t(2));
    assert.equal(build.stages[0]!.deadline, t(2 + 3600));
  });

  it('records the steps the plan skipped at compile time', () => {
    const skip = { condition: 'branch', reason: "branch 'main' does not match include [dev]" };
    const plan = planOf({ name: 'default', steps: [{ name: 'build' }, { name: 'dev-only', skip }] });
    given(history(cmd.create(plan), cmd.claim(1, t(1))))
      .when(cmd.start(1, t(2)))
      .then([
        { type: 'StageStarted', data: { stage: 1, attempt: 1, runner: runner(), timeoutMinutes: 60, at: t(2) } },
        { type: 'StepSkipped', data: { stage: 1, step: 2, reason: skip, at: t(2) } },
      ]);
  });

  it('refuses a stage that is not claimed, a stale lease, and a second start', () => {
    given(created()).when(cmd.start(1, t(2))).thenThrows('stale_lease', 403);
    given(claimed()).when(cmd.start(1, t(2), 'not-mine')).thenThrows('stale_lease', 403);
    given(started()).when(cmd.start(1, t(3))).thenThrows('stage_already_started', 409);
  });
});

describe('steps', () => {
  it('StartStep runs a pending step', () => {
    const state = given(started())
      .when(cmd.startStep(1, 1, t(3)))
      .then([{ type: 'StepStarted', data: { stage: 1, step: 1, attempt: 1, at: t(3) } }]);
    assert.equal(asBuild(state).stages[0]!.steps[0]!.status, 'running');
    assert.equal(asBuild(state).stages[0]!.lastActivityAt, t(3));
  });

  it('StartStep is refused before StageStarted, twice, or for an unknown step', () => {
    given(claimed()).when(cmd.startStep(1, 1, t(3))).thenThrows('stage_not_running', 409);
    given(stepRunning()).when(cmd.startStep(1, 1, t(4))).thenThrows('step_not_pending', 409);
    given(started()).when(cmd.startStep(1, 9, t(3))).thenThrows('unknown_step', 404);
    given(started()).when(cmd.startStep(1, 1, t(3), 'stolen')).thenThrows('stale_lease', 403);
  });

  it('FinishStep records exit code, log size and hash; the status follows the exit code when not given', () => {
    const state = given(stepRunning())
      .when(cmd.finishStep(1, 1, t(4), 0, lease(1), { durationMs: 1000 }))
      .then([
        { type: 'StepFinished', data: { stage: 1, step: 1, exitCode: 0, status: 'success', logSize: 12, logSha256: LOG_SHA, durationMs: 1000, at: t(4) } },
      ]);
    assert.equal(asBuild(state).stages[0]!.steps[0]!.status, 'success');
    given(stepRunning())
      .when(cmd.finishStep(1, 1, t(4), 2))
      .then([{ type: 'StepFinished', data: { stage: 1, step: 1, exitCode: 2, status: 'failure', logSize: 12, logSha256: LOG_SHA, at: t(4) } }]);
    // Drone: exit code 78 passes (and the runner skips the rest).
    given(stepRunning())
      .when(cmd.finishStep(1, 1, t(4), 78))
      .then([{ type: 'StepFinished', data: { stage: 1, step: 1, exitCode: 78, status: 'success', logSize: 12, logSha256: LOG_SHA, at: t(4) } }]);
    given(stepRunning())
      .when(cmd.finishStep(1, 1, t(4), 255, lease(1), { status: 'error', error: 'image not found: alpine:nope' }))
      .then([
        { type: 'StepFinished', data: { stage: 1, step: 1, exitCode: 255, status: 'error', error: 'image not found: alpine:nope', logSize: 12, logSha256: LOG_SHA, at: t(4) } },
      ]);
  });

  it('FinishStep is refused for a step that is not running', () => {
    given(started()).when(cmd.finishStep(1, 2, t(4))).thenThrows('step_not_running', 409);
    const finished = [...stepRunning(), ...given(stepRunning()).when(cmd.finishStep(1, 1, t(4))).events()];
    given(finished).when(cmd.finishStep(1, 1, t(5))).thenThrows('step_not_running', 409);
  });

  it('SkipStep skips a pending step, with its condition', () => {
    given(started())
      .when(cmd.skipStep(1, 3, t(3)))
      .then([{ type: 'StepSkipped', data: { stage: 1, step: 3, reason: { condition: 'status', reason: 'runs only on failure' }, at: t(3) } }]);
    given(stepRunning()).when(cmd.skipStep(1, 1, t(4))).thenThrows('step_not_pending', 409);
    given(claimed()).when(cmd.skipStep(1, 1, t(4))).thenThrows('stage_not_running', 409);
  });
});

describe('RetryStep', () => {
  const retrying = planOf({ name: 'default', steps: [{ name: 'flaky', retry: { limit: 2, exitCodes: [1, 137] } }, { name: 'plain' }] });
  const running = () =>
    history(cmd.create(retrying), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.startStep(1, 1, t(3)), cmd.startStep(1, 2, t(3)));

  it('records each retry within the limit; the step stays running', () => {
    const first = given(running()).when(cmd.retryStep(1, 1, 1, 1, t(4)));
    const state = first.then([{ type: 'StepRetried', data: { stage: 1, step: 1, retry: 1, exitCode: 1, at: t(4) } }]);
    assert.equal(asBuild(state).stages[0]!.steps[0]!.status, 'running');
    assert.equal(asBuild(state).stages[0]!.steps[0]!.retries, 1);
    const once = [...running(), ...first.events()];
    given(once)
      .when(cmd.retryStep(1, 1, 2, 137, t(5)))
      .then([{ type: 'StepRetried', data: { stage: 1, step: 1, retry: 2, exitCode: 137, at: t(5) } }]);
  });

  it('refuses past the limit, out of order, on another exit code, on success, or without a policy', () => {
    const after2 = [
      ...running(),
      { type: 'StepRetried' as const, data: { stage: 1, step: 1, retry: 1, exitCode: 1, at: t(4) } },
      { type: 'StepRetried' as const, data: { stage: 1, step: 1, retry: 2, exitCode: 1, at: t(5) } },
    ];
    given(after2).when(cmd.retryStep(1, 1, 3, 1, t(6))).thenThrows('retry_not_allowed', 409);
    given(running()).when(cmd.retryStep(1, 1, 2, 1, t(4))).thenThrows('retry_not_allowed');
    given(running()).when(cmd.retryStep(1, 1, 1, 2, t(4))).thenThrows('retry_not_allowed');
    given(running()).when(cmd.retryStep(1, 1, 1, 0, t(4))).thenThrows('retry_not_allowed');
    given(running()).when(cmd.retryStep(1, 2, 1, 1, t(4))).thenThrows('retry_not_allowed');
  });

  it('refuses to retry a step that is not running', () => {
    given(history(cmd.create(retrying), cmd.claim(1, t(1)), cmd.start(1, t(2))))
      .when(cmd.retryStep(1, 1, 1, 1, t(4)))
      .thenThrows('step_not_running');
  });
});

describe('FinishStage', () => {
  const allDone = () => history(cmd.create(one), ...runStage(1, 3, 1).slice(0, -1));

  it('finishes the stage with the status derived from its steps, and the build with it', () => {
    const state = given(allDone())
      .when(cmd.finishStage(1, t(10)))
      .then([
        { type: 'StageFinished', data: { stage: 1, attempt: 1, status: 'success', at: t(10) } },
        { type: 'BuildFinished', data: { status: 'success', at: t(10) } },
      ]);
    assert.equal(asBuild(state).status, 'success');
    assert.equal(asBuild(state).stages[0]!.claim, undefined);
  });

  it('a failed step fails the stage and the build; pending steps are skipped (Drone FinishAll)', () => {
    const failed = history(cmd.create(one), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.startStep(1, 1, t(3)), cmd.finishStep(1, 1, t(4), 1));
    given(failed)
      .when(cmd.finishStage(1, t(5)))
      .then([
        { type: 'StepSkipped', data: { stage: 1, step: 2, reason: { condition: 'stage', reason: 'the stage finished before the step ran' }, at: t(5) } },
        { type: 'StepSkipped', data: { stage: 1, step: 3, reason: { condition: 'stage', reason: 'the stage finished before the step ran' }, at: t(5) } },
        { type: 'StageFinished', data: { stage: 1, attempt: 1, status: 'failure', at: t(5) } },
        { type: 'BuildFinished', data: { status: 'failure', at: t(5) } },
      ]);
  });

  it('a failure under `failure: ignore` does not fail the stage', () => {
    const plan = planOf({ name: 'default', steps: [{ name: 'lint', failure: 'ignore' }] });
    const events = given(history(cmd.create(plan), ...runStage(1, 1, 1, [1]).slice(0, -1)))
      .when(cmd.finishStage(1, t(9)))
      .events();
    assert.deepEqual(events.at(-1), { type: 'BuildFinished', data: { status: 'success', at: t(9) } });
  });

  it('an error step makes the stage error, even under `failure: ignore` (Drone)', () => {
    const plan = planOf({ name: 'default', steps: [{ name: 'lint', failure: 'ignore' }] });
    const h = history(cmd.create(plan), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.startStep(1, 1, t(3)), cmd.finishStep(1, 1, t(4), 255, lease(1), { status: 'error' }));
    const events = given(h).when(cmd.finishStage(1, t(5))).events();
    assert.deepEqual(events.at(-1), { type: 'BuildFinished', data: { status: 'error', at: t(5) } });
  });

  it('running steps (detached services) end as success, as Drone does', () => {
    const plan = planOf({ name: 'default', services: ['redis'], steps: [{ name: 'test' }] });
    const h = history(cmd.create(plan), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.startStep(1, 1, t(3)), cmd.startStep(1, 2, t(3)), cmd.finishStep(1, 2, t(4)));
    given(h)
      .when(cmd.finishStage(1, t(5)))
      .then([
        { type: 'StepFinished', data: { stage: 1, step: 1, exitCode: 0, status: 'success', at: t(5) } },
        { type: 'StageFinished', data: { stage: 1, attempt: 1, status: 'success', at: t(5) } },
        { type: 'BuildFinished', data: { status: 'success', at: t(5) } },
      ]);
  });

  it('the runner may say error, with the reason', () => {
    const events = given(started()).when(cmd.finishStage(1, t(3), lease(1), { status: 'error', error: 'cannot create network' })).events();
    assert.deepEqual(events.find((e) => e.type === 'StageFinished'), {
      type: 'StageFinished',
      data: { stage: 1, attempt: 1, status: 'error', error: 'cannot create network', at: t(3) },
    });
    assert.deepEqual(events.at(-1), { type: 'BuildFinished', data: { status: 'error', at: t(3) } });
  });

  it('is refused before the stage started, with a stale lease, and after it finished', () => {
    given(claimed()).when(cmd.finishStage(1, t(3))).thenThrows('stage_not_running');
    given(started()).when(cmd.finishStage(1, t(3), 'gone')).thenThrows('stale_lease', 403);
    const multi = planOf({ name: 'a' }, { name: 'b' });
    const aDone = history(cmd.create(multi), ...runStage(1, 1, 1));
    given(aDone).when(cmd.finishStage(1, t(9))).thenThrows('stage_ended', 409);
  });

  it('nothing is accepted after the build finished', () => {
    const done = history(cmd.create(one), ...runStage(1, 3, 1));
    given(done).when(cmd.cancel(t(20))).thenThrows('build_finished', 409);
    given(done).when(cmd.startStep(1, 1, t(20))).thenThrows('build_finished');
    given(done).when(cmd.expire(1, t(20))).thenThrows('build_finished');
  });
});
