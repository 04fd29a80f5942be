import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { queueProjection } from '../../src/projections/queue-projection.ts';
import { labelsKey } from '../../src/projections/labels-key.ts';
import { BUILD_ID, cmd, planOf, runner, runStage, t } from '../events/fixtures.ts';
import { history } from '../events/decider-spec.ts';
import { given } from './projection-spec.ts';

const queued = (events: Parameters<typeof given>[0]) =>
  given(events)
    .when(queueProjection)
    .rows('queue')
    .map((r) => [r.stage, r.attempt])
    .sort((a, b) => (a[0] as number) - (b[0] as number));

describe('queue projection', () => {
  const plan = planOf({ name: 'build' }, { name: 'lint' }, { name: 'deploy', dependsOn: ['build', 'lint'] });

  it('holds the stages queued at creation, with platform, labels key, concurrency and queue time', () => {
    const labelled = planOf({ name: 'build' });
    labelled.stages[0]!.labels = { gpu: 'yes', region: 'eu' };
    labelled.stages[0]!.concurrency = { limit: 1 };
    const rows = given(history(cmd.create(labelled))).when(queueProjection).rows('queue');
    assert.deepEqual(rows, [
      {
        buildId: BUILD_ID,
        stage: 1,
        attempt: 1,
        repoId: 'repo-1',
        name: 'build',
        type: 'docker',
        os: 'linux',
        arch: 'amd64',
        variant: '',
        kernel: '',
        labels: { gpu: 'yes', region: 'eu' },
        labelsKey: labelsKey({ region: 'eu', gpu: 'yes' }),
        concurrencyLimit: 1,
        queuedAt: new Date(t(0)),
        routeRunner: null,
      },
    ]);
  });

  it('a claim takes the stage off; the dependent appears once its dependencies end', () => {
    assert.deepEqual(queued(history(cmd.create(plan))), [
      [1, 1],
      [2, 1],
    ]);
    assert.deepEqual(queued(history(cmd.create(plan), cmd.claim(1, t(1)))), [[2, 1]]);
    assert.deepEqual(queued(history(cmd.create(plan), ...runStage(1, 1, 1), ...runStage(2, 1, 10))), [[3, 1]]);
    assert.deepEqual(queued(history(cmd.create(plan), ...runStage(1, 1, 1), ...runStage(2, 1, 10), ...runStage(3, 1, 20))), []);
  });

  it('a dependent skipped because its dependency failed never appears', () => {
    const chain = planOf({ name: 'build' }, { name: 'publish', dependsOn: ['build'] });
    assert.deepEqual(queued(history(cmd.create(chain), ...runStage(1, 1, 1, [1]))), []);
  });

  it('a lost lease takes the stage off; the requeue puts attempt 2 on; the next claim takes it off again', () => {
    const lost = [cmd.create(planOf({ name: 'build' })), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.expire(1, t(60))];
    assert.deepEqual(queued(history(...lost)), [[1, 2]]);
    const events = history(...lost);
    const expired = events.findIndex((e) => e.type === 'StageLeaseExpired');
    assert.deepEqual(queued(events.slice(0, expired + 1)), [], 'between the expiry and the requeue the stage is nobody’s and not queued');
    assert.deepEqual(queued(history(...lost, cmd.claim(1, t(61), 2, runner(2)))), []);
  });

  it('a cancel empties the build’s queue', () => {
    assert.deepEqual(queued(history(cmd.create(plan), cmd.cancel(t(1)))), []);
  });

  it('a blocked build queues nothing until approved; a declined one never', () => {
    assert.deepEqual(queued(history(cmd.create(plan, { block: 'protected' }))), []);
    assert.deepEqual(queued(history(cmd.create(plan, { block: 'protected' }), cmd.approve(t(1)))), [
      [1, 1],
      [2, 1],
    ]);
    assert.deepEqual(queued(history(cmd.create(plan, { block: 'protected' }), cmd.decline(t(1)))), []);
  });
});

describe('labelsKey', () => {
  it('is the same whatever the order of the labels, hex, 12 digits; no labels is any', () => {
    assert.equal(labelsKey({ a: '1', b: '2' }), labelsKey({ b: '2', a: '1' }));
    assert.match(labelsKey({ a: '1' }), /^[0-9a-f]{12}$/);
    assert.notEqual(labelsKey({ a: '1' }), labelsKey({ a: '2' }));
    assert.equal(labelsKey({}), 'any');
  });
});
