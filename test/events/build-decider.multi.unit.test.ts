import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { given, history } from './decider-spec.ts';
import { cmd, planOf, runStage, t } from './fixtures.ts';
import type { Build } from '../../src/events/build-state.ts';
import type { BuildEvent } from '../../src/events/build-events.ts';

/** Multi-pipeline builds: `depends_on` between pipelines and `trigger: status`, as Drone's manager runs them. */

const statuses = (state: unknown) => (state as Build).stages.map((s) => s.status);
const dependencySkip = (stage: number, reason: string, at: string): BuildEvent => ({
  type: 'StageSkipped',
  data: { stage, reason: { condition: 'dependency', reason }, at },
});

describe('multi-pipeline depends_on', () => {
  const fanIn = planOf({ name: 'backend' }, { name: 'frontend' }, { name: 'deploy', dependsOn: ['backend', 'frontend'] });

  it('runs a dependent only once all its dependencies succeeded (fan-in)', () => {
    const backendDone = history(cmd.create(fanIn), ...runStage(1, 1, 1));
    assert.deepEqual(statuses(given(backendDone).state), ['success', 'pending', 'waiting']);
    assert.equal((given(backendDone).state as Build).status, 'running');
    const frontendAlmost = [...backendDone, ...history(cmd.create(fanIn), ...runStage(2, 1, 10).slice(0, -1)).slice(3)];
    given(frontendAlmost)
      .when(cmd.finishStage(2, t(20)))
      .then([
        { type: 'StageFinished', data: { stage: 2, attempt: 1, status: 'success', at: t(20) } },
        { type: 'StageQueued', data: { stage: 3, attempt: 1, at: t(20) } },
      ]);
  });

  it('finishes success when the last stage succeeds', () => {
    const h = history(cmd.create(fanIn), ...runStage(1, 1, 1), ...runStage(2, 1, 10), ...runStage(3, 1, 20));
    assert.deepEqual(h.at(-1), { type: 'BuildFinished', data: { status: 'success', at: t(23) } });
    assert.deepEqual(statuses(given(h).state), ['success', 'success', 'success']);
  });

  it('a failed dependency skips its dependents, transitively, and the build fails', () => {
    const chain = planOf({ name: 'build' }, { name: 'test', dependsOn: ['build'] }, { name: 'publish', dependsOn: ['test'] });
    const failing = history(cmd.create(chain), ...runStage(1, 1, 1, [1]).slice(0, -1));
    const state = given(failing)
      .when(cmd.finishStage(1, t(5)))
      .then([
        { type: 'StageFinished', data: { stage: 1, attempt: 1, status: 'failure', at: t(5) } },
        dependencySkip(2, "dependency 'build' did not succeed and this pipeline runs only on success", t(5)),
        dependencySkip(3, "dependency 'build' did not succeed and this pipeline runs only on success", t(5)),
        { type: 'BuildFinished', data: { status: 'failure', at: t(5) } },
      ]);
    assert.deepEqual(statuses(state), ['failure', 'skipped', 'skipped']);
  });

  it('a `trigger: status: [failure]` pipeline runs after a failure, and is skipped after success', () => {
    const plan = planOf({ name: 'build' }, { name: 'notify', dependsOn: ['build'], runsOn: ['failure'] });
    const failing = history(cmd.create(plan), ...runStage(1, 1, 1, [2]).slice(0, -1));
    given(failing)
      .when(cmd.finishStage(1, t(5)))
      .then([
        { type: 'StageFinished', data: { stage: 1, attempt: 1, status: 'failure', at: t(5) } },
        { type: 'StageQueued', data: { stage: 2, attempt: 1, at: t(5) } },
      ]);
    const notified = history(cmd.create(plan), ...runStage(1, 1, 1, [2]), ...runStage(2, 1, 10));
    assert.deepEqual(notified.at(-1), { type: 'BuildFinished', data: { status: 'failure', at: t(13) } }, 'the notifier succeeding does not make the build pass');

    const passing = history(cmd.create(plan), ...runStage(1, 1, 1).slice(0, -1));
    given(passing)
      .when(cmd.finishStage(1, t(5)))
      .then([
        { type: 'StageFinished', data: { stage: 1, attempt: 1, status: 'success', at: t(5) } },
        dependencySkip(2, 'its dependencies succeeded and this pipeline runs only on failure', t(5)),
        { type: 'BuildFinished', data: { status: 'success', at: t(5) } },
      ]);
  });

  it('`status: [success, failure]` runs either way', () => {
    const plan = planOf({ name: 'build' }, { name: 'cleanup', dependsOn: ['build'], runsOn: ['success', 'failure'] });
    const events = given(history(cmd.create(plan), ...runStage(1, 1, 1, [1]).slice(0, -1))).when(cmd.finishStage(1, t(5))).events();
    assert.deepEqual(events.at(-1), { type: 'StageQueued', data: { stage: 2, attempt: 1, at: t(5) } });
  });

  it('a failure reaches an on-failure pipeline through a pipeline skipped because of it (Drone: the build failed)', () => {
    const plan = planOf(
      { name: 'build' },
      { name: 'deploy', dependsOn: ['build'] },
      { name: 'rollback', dependsOn: ['deploy'], runsOn: ['failure'] },
    );
    const events = given(history(cmd.create(plan), ...runStage(1, 1, 1, [1]).slice(0, -1))).when(cmd.finishStage(1, t(5))).events();
    assert.deepEqual(
      events.map((e) => e.type),
      ['StageFinished', 'StageSkipped', 'StageQueued'],
    );
    assert.deepEqual(events.at(-1), { type: 'StageQueued', data: { stage: 3, attempt: 1, at: t(5) } });
  });

  it('a failure in an unrelated parallel pipeline does not skip a dependent (deterministic, unlike Drone)', () => {
    const plan = planOf({ name: 'a' }, { name: 'b' }, { name: 'after-a', dependsOn: ['a'] });
    const h = history(cmd.create(plan), ...runStage(2, 1, 1, [1]), ...runStage(1, 1, 10));
    assert.deepEqual(h.at(-1), { type: 'StageQueued', data: { stage: 3, attempt: 1, at: t(13) } });
    const end = history(cmd.create(plan), ...runStage(2, 1, 1, [1]), ...runStage(1, 1, 10), ...runStage(3, 1, 20));
    assert.deepEqual(end.at(-1), { type: 'BuildFinished', data: { status: 'failure', at: t(23) } });
  });

  it('a stage killed by its timeout counts as a failure for its dependents', () => {
    const plan = planOf({ name: 'build' }, { name: 'test', dependsOn: ['build'] }, { name: 'report', dependsOn: ['build'], runsOn: ['failure'] });
    const h = history(cmd.create(plan), cmd.claim(1, t(1)), cmd.start(1, t(2)));
    const events = given(h).when(cmd.timeOut(1, t(2 + 3600))).events();
    assert.deepEqual(
      events.map((e) => e.type),
      ['StepSkipped', 'StageTimedOut', 'StageSkipped', 'StageQueued'],
    );
  });

  it('a dependent of a skipped-by-trigger pipeline waits for that pipeline\'s own dependencies', () => {
    const skip = { condition: 'branch', reason: 'not main' };
    const plan = planOf({ name: 'build' }, { name: 'docs', dependsOn: ['build'], skip }, { name: 'publish', dependsOn: ['docs'] });
    const state = given(history(cmd.create(plan))).state;
    assert.deepEqual(statuses(state), ['pending', 'skipped', 'waiting']);
    const events = given(history(cmd.create(plan), ...runStage(1, 1, 1).slice(0, -1))).when(cmd.finishStage(1, t(5))).events();
    assert.deepEqual(events.at(-1), { type: 'StageQueued', data: { stage: 3, attempt: 1, at: t(5) } });
  });
});
