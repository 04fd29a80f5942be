import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stepsProjection } from '../../src/projections/steps-projection.ts';
import { BUILD_ID, LOG_SHA, cmd, planOf, runner, t } from '../events/fixtures.ts';
import { history } from '../events/decider-spec.ts';
import { given } from './projection-spec.ts';

const at = (s: number) => new Date(t(s));
const sorted = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => (a.stage as number) - (b.stage as number) || (a.number as number) - (b.number as number));

const plan = planOf({
  name: 'build',
  services: ['redis'],
  steps: [{ name: 'compile', retry: { limit: 2 } }, { name: 'lint', failure: 'ignore' }, { name: 'docs', skip: { condition: 'branch', reason: "branch 'main' does not match include [docs]" } }],
});

describe('steps projection', () => {
  it('BuildCreated writes every step of every stage, services first and detached', () => {
    const rows = sorted(given(history(cmd.create(plan))).when(stepsProjection).rows('steps'));
    assert.deepEqual(
      rows.map((r) => [r.buildId, r.stage, r.number, r.name, r.status, r.image, r.detached, r.errignore, r.retries]),
      [
        [BUILD_ID, 1, 1, 'redis', 'pending', 'redis', true, false, 0],
        [BUILD_ID, 1, 2, 'compile', 'pending', 'alpine', false, false, 0],
        [BUILD_ID, 1, 3, 'lint', 'pending', 'alpine', false, true, 0],
        [BUILD_ID, 1, 4, 'docs', 'pending', 'alpine', false, false, 0],
      ],
    );
  });

  it('start, retry and finish: exit code, log size and hash, retries, times; a compile-time skip keeps its reason', () => {
    const events = history(
      cmd.create(plan),
      cmd.claim(1, t(1)),
      cmd.start(1, t(2)),
      cmd.startStep(1, 2, t(3)),
      cmd.retryStep(1, 2, 1, 1, t(4)),
      cmd.finishStep(1, 2, t(5), 0),
    );
    const rows = sorted(given(events).when(stepsProjection).rows('steps'));
    assert.deepEqual(rows[1], {
      buildId: BUILD_ID,
      stage: 1,
      number: 2,
      name: 'compile',
      status: 'success',
      exitCode: 0,
      error: null,
      image: 'alpine',
      detached: false,
      errignore: false,
      logSize: 12,
      logSha256: LOG_SHA,
      skipReason: null,
      retries: 1,
      started: at(3),
      stopped: at(5),
    });
    assert.deepEqual([rows[3]!.status, rows[3]!.skipReason, rows[3]!.stopped], ['skipped', "branch 'main' does not match include [docs]", at(2)]);
  });

  it('a requeued stage that starts again puts its steps back to pending (build-state: StageStarted resets them)', () => {
    const events = history(
      cmd.create(planOf({ name: 'build', steps: [{ name: 'a' }, { name: 'b' }] })),
      cmd.claim(1, t(1)),
      cmd.start(1, t(2)),
      cmd.startStep(1, 1, t(3)),
      cmd.finishStep(1, 1, t(4), 0),
      cmd.startStep(1, 2, t(5)),
      cmd.expire(1, t(60)),
      cmd.claim(1, t(61), 2, runner(2), 'lease-2'),
      cmd.start(1, t(62), 'lease-2'),
    );
    const rows = sorted(given(events).when(stepsProjection).rows('steps'));
    assert.deepEqual(
      rows.map((r) => [r.status, r.exitCode, r.logSize, r.started, r.stopped]),
      [
        ['pending', null, null, null, null],
        ['pending', null, null, null, null],
      ],
    );
  });

  it('a resumed stage keeps the steps before `fromStep` (workspace kept)', () => {
    const events = history(
      cmd.create(planOf({ name: 'build', steps: [{ name: 'a' }, { name: 'b' }] })),
      cmd.claim(1, t(1)),
      cmd.start(1, t(2)),
      cmd.startStep(1, 1, t(3)),
      cmd.finishStep(1, 1, t(4), 0),
      cmd.expire(1, t(60)),
      cmd.claim(1, t(61), 2, runner(2), 'lease-2'),
      cmd.resume(1, t(62), 2, 'kept', 'lease-2'),
    );
    const rows = sorted(given(events).when(stepsProjection).rows('steps'));
    assert.deepEqual(rows.map((r) => [r.status, r.exitCode]), [
      ['success', 0],
      ['pending', null],
    ]);
  });

  it('a cancel records running steps killed and pending ones skipped', () => {
    const events = history(
      cmd.create(planOf({ name: 'build', steps: [{ name: 'a' }, { name: 'b' }] })),
      cmd.claim(1, t(1)),
      cmd.start(1, t(2)),
      cmd.startStep(1, 1, t(3)),
      cmd.cancel(t(4)),
      cmd.cancelStage(1, t(5)),
    );
    const rows = sorted(given(events).when(stepsProjection).rows('steps'));
    assert.deepEqual(rows.map((r) => r.status), ['killed', 'skipped']);
  });
});
