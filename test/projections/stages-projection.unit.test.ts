import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stagesProjection } from '../../src/projections/stages-projection.ts';
import { BUILD_ID, cmd, lease, planOf, runner, runStage, t } from '../events/fixtures.ts';
import { history } from '../events/decider-spec.ts';
import { given } from './projection-spec.ts';

const at = (s: number) => new Date(t(s));
const byNumber = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => (a.number as number) - (b.number as number));

function labelledPlan() {
  const plan = planOf({ name: 'build' }, { name: 'test', dependsOn: ['build'], runsOn: ['success', 'failure'] });
  const stage = plan.stages[0]!;
  stage.labels = { region: 'eu', gpu: 'yes' };
  stage.platform = { ...stage.platform, os: 'linux', arch: 'arm64', variant: 'v8', kernel: '6.1' };
  stage.concurrency = { limit: 2 };
  return plan;
}

describe('stages projection', () => {
  it('BuildCreated writes one row per plan stage with its platform, labels, dependencies and policies', () => {
    const rows = byNumber(given(history(cmd.create(labelledPlan()))).when(stagesProjection).rows('stages'));
    assert.deepEqual(rows, [
      {
        buildId: BUILD_ID,
        number: 1,
        repoId: 'repo-1',
        name: 'build',
        kind: 'pipeline',
        type: 'docker',
        status: 'pending',
        attempt: 1,
        runnerId: null,
        runnerName: null,
        exitCode: null,
        error: null,
        started: null,
        stopped: null,
        os: 'linux',
        arch: 'arm64',
        variant: 'v8',
        kernel: '6.1',
        labels: { region: 'eu', gpu: 'yes' },
        dependsOn: [],
        onSuccess: true,
        onFailure: false,
        errignore: false,
        concurrencyLimit: 2,
        created: at(0),
        updated: at(0),
      },
      {
        buildId: BUILD_ID,
        number: 2,
        repoId: 'repo-1',
        name: 'test',
        kind: 'pipeline',
        type: 'docker',
        status: 'waiting',
        attempt: 0,
        runnerId: null,
        runnerName: null,
        exitCode: null,
        error: null,
        started: null,
        stopped: null,
        os: 'linux',
        arch: 'amd64',
        variant: '',
        kernel: '',
        labels: {},
        dependsOn: ['build'],
        onSuccess: true,
        onFailure: true,
        errignore: false,
        concurrencyLimit: null,
        created: at(0),
        updated: at(0),
      },
    ]);
  });

  it('a stage run through: runner (Drone’s machine), started, stopped, exit code 0', () => {
    const rows = byNumber(given(history(cmd.create(labelledPlan()), ...runStage(1, 1, 10))).when(stagesProjection).rows('stages'));
    assert.deepEqual(
      { status: rows[0]!.status, runnerId: rows[0]!.runnerId, runnerName: rows[0]!.runnerName, started: rows[0]!.started, stopped: rows[0]!.stopped, exitCode: rows[0]!.exitCode },
      { status: 'success', runnerId: 'runner-1', runnerName: 'r1', started: at(11), stopped: at(13), exitCode: 0 },
    );
    assert.equal(rows[1]!.status, 'pending', 'the dependent is queued once build succeeded');
  });

  it('a failed stage shows its failing step’s exit code; the dependent that runs only on success is skipped', () => {
    const plan = planOf({ name: 'build' }, { name: 'publish', dependsOn: ['build'] });
    const rows = byNumber(given(history(cmd.create(plan), ...runStage(1, 1, 10, [2]))).when(stagesProjection).rows('stages'));
    assert.deepEqual(
      rows.map((r) => [r.status, r.exitCode]),
      [
        ['failure', 2],
        ['skipped', 0],
      ],
    );
    assert.deepEqual(rows[1]!.stopped, at(13));
  });

  it('a lost runner: attempt 2 requeued, then claimed by another runner', () => {
    const events = history(cmd.create(planOf({ name: 'build' })), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.expire(1, t(60)), cmd.claim(1, t(61), 2, runner(2)));
    const [row] = given(events).when(stagesProjection).rows('stages');
    assert.deepEqual(
      { status: row!.status, attempt: row!.attempt, runnerId: row!.runnerId, started: row!.started, updated: row!.updated },
      { status: 'pending', attempt: 2, runnerId: 'runner-2', started: at(2), updated: at(61) }, // a claim alone is still pending (Drone)
    );
  });

  it('blocking, approving and declining move every stage not ended', () => {
    const plan = planOf({ name: 'a' }, { name: 'b' });
    const blocked = history(cmd.create(plan, { block: 'protected' }));
    assert.deepEqual(given(blocked).when(stagesProjection).rows('stages').map((r) => r.status), ['blocked', 'blocked']);
    const declined = history(cmd.create(plan, { block: 'protected' }), cmd.decline(t(5)));
    assert.deepEqual(given(declined).when(stagesProjection).rows('stages').map((r) => [r.status, r.stopped]), [
      ['declined', at(5)],
      ['declined', at(5)],
    ]);
    const approved = history(cmd.create(plan, { block: 'protected' }), cmd.approve(t(5)));
    assert.deepEqual(given(approved).when(stagesProjection).rows('stages').map((r) => r.status), ['pending', 'pending']);
  });

  it('timed out: killed with the reason as error', () => {
    const events = history(cmd.create(planOf({ name: 'build' })), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.timeOut(1, t(2 + 3600), lease(1)));
    const [row] = given(events).when(stagesProjection).rows('stages');
    assert.equal(row!.status, 'killed');
    assert.match(String(row!.error), /deadline/);
  });

  it('ignores step events (no write per step)', () => {
    const before = history(cmd.create(planOf({ name: 'build' })), cmd.claim(1, t(1)), cmd.start(1, t(2)));
    const after = history(cmd.create(planOf({ name: 'build' })), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.startStep(1, 1, t(3)));
    assert.equal(stagesProjection.handles.has(after.at(-1)!.type), false);
    assert.deepEqual(given(before).when(stagesProjection, ...after.slice(before.length)).ops(), []);
  });
});
