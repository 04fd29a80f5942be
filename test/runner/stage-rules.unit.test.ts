import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BuildEvent } from '../../src/events/build-events.ts';
import { Plan } from '../../src/pipeline/plan.ts';
import { Trigger } from '../../src/pipeline/trigger.ts';
import { DEFAULT_INACTIVITY_LIMIT_MS, firedRule, nextRule, noteActivity, replayStage } from '../../src/runner/stage-rules.ts';

const t = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 12, minutes)).toISOString();
const runner = { id: 'r1', name: 'runner-1' };

const plan = Plan.parse({
  version: 1,
  stages: [
    {
      number: 1,
      name: 'default',
      type: 'docker',
      platform: {},
      workspace: { path: '/drone/src' },
      clone: {},
      steps: [
        { number: 1, name: 'a', kind: 'step', image: 'busybox' },
        { number: 2, name: 'b', kind: 'step', image: 'busybox', dependsOn: ['a'] },
      ],
    },
  ],
});

const created: BuildEvent = {
  type: 'BuildCreated',
  data: {
    at: t(0),
    buildId: '00000000-0000-4000-8000-000000000001',
    repoId: 'repo-1',
    repo: 'acme/app',
    number: 1,
    trigger: Trigger.parse({ event: 'push', ref: 'refs/heads/main', commit: 'abc' }),
    config: { path: '.drone.yml', sha256: '0'.repeat(64), text: '' },
    plan,
    createdBy: 'test',
  },
};
const queued = (attempt: number, at: string): BuildEvent => ({ type: 'StageQueued', data: { stage: 1, attempt, at } });
const claimed = (attempt: number, at: string): BuildEvent => ({
  type: 'StageClaimed',
  data: { stage: 1, attempt, runner, leaseToken: `lease-${attempt}`, at },
});
const started = (attempt: number, at: string, timeoutMinutes = 60): BuildEvent => ({
  type: 'StageStarted',
  data: { stage: 1, attempt, runner, timeoutMinutes, at },
});
const stepStarted = (step: number, at: string): BuildEvent => ({ type: 'StepStarted', data: { stage: 1, step, attempt: 1, at } });
const stepFinished = (step: number, at: string, exitCode = 0): BuildEvent => ({
  type: 'StepFinished',
  data: { stage: 1, step, exitCode, status: exitCode === 0 ? 'success' : 'failure', at },
});

describe('stage rules', () => {
  it('given a cancel already in the log, the stage is not run', () => {
    const events: BuildEvent[] = [created, queued(1, t(0)), { type: 'CancelRequested', data: { by: 'alice', at: t(1) } }, claimed(1, t(2))];
    const replay = replayStage(events, 1);
    assert.equal(replay.refuse?.reason, 'cancelled');
    assert.match(replay.refuse?.message ?? '', /alice/);
  });

  it('given a stage that ended, it is not run again; an unknown stage is refused', () => {
    const events: BuildEvent[] = [
      created, queued(1, t(0)), claimed(1, t(0)), started(1, t(0)),
      { type: 'StageFinished', data: { stage: 1, attempt: 1, status: 'success', at: t(3) } },
    ];
    assert.equal(replayStage(events, 1).refuse?.reason, 'ended');
    assert.equal(replayStage(events, 7).refuse?.reason, 'unknown');
    assert.equal(replayStage([], 1).refuse?.reason, 'unknown');
  });

  it('a fresh stage may run and has no clock yet', () => {
    const replay = replayStage([created, queued(1, t(0)), claimed(1, t(0))], 1);
    assert.equal(replay.refuse, undefined);
    assert.equal(replay.startedBefore, false);
    assert.equal(replay.attempt, 1);
    assert.equal(nextRule(replay.clock, new Date(t(5))), undefined);
  });

  it('the deadline is the first start + timeout; a requeued stage keeps it', () => {
    const events: BuildEvent[] = [
      created, queued(1, t(0)), claimed(1, t(0)), started(1, t(10), 30), stepStarted(1, t(11)),
      { type: 'StageLeaseExpired', data: { stage: 1, attempt: 1, runner, leaseToken: 'lease-1', at: t(20) } },
      { type: 'StageRequeued', data: { stage: 1, attempt: 2, at: t(20) } },
      claimed(2, t(25)), started(2, t(26), 30),
    ];
    const replay = replayStage(events, 1);
    assert.equal(replay.startedBefore, true);
    assert.equal(replay.attempt, 2);
    assert.equal(replay.clock.deadline?.toISOString(), t(40));
  });

  it('the inactivity clock restarts from the last recorded activity', () => {
    const events: BuildEvent[] = [created, queued(1, t(0)), claimed(1, t(0)), started(1, t(0)), stepStarted(1, t(1)), stepFinished(1, t(4)), stepStarted(2, t(5))];
    const { clock } = replayStage(events, 1, { inactivityLimitMs: 10 * 60_000 });
    assert.equal(clock.lastActivityAt?.toISOString(), t(5));
    assert.deepEqual(nextRule(clock, new Date(t(6))), { rule: 'inactivity', at: new Date(t(15)), inMs: 9 * 60_000 });
    // Output seen while running moves it on; older activity does not move it back.
    const later = noteActivity(clock, new Date(t(12)));
    assert.equal(nextRule(later, new Date(t(12)))?.at.toISOString(), t(22));
    assert.equal(noteActivity(later, new Date(t(3))), later);
  });

  it('nextRule says which of timeout and inactivity fires first, and firedRule when it is due', () => {
    const clock = { deadline: new Date(t(60)), lastActivityAt: new Date(t(50)), inactivityLimitMs: 15 * 60_000 };
    assert.deepEqual(nextRule(clock, new Date(t(55))), { rule: 'timeout', at: new Date(t(60)), inMs: 5 * 60_000 });
    assert.equal(firedRule(clock, new Date(t(59))), undefined);
    assert.equal(firedRule(clock, new Date(t(61))), 'timeout');
    const quiet = { ...clock, lastActivityAt: new Date(t(30)) };
    assert.equal(nextRule(quiet, new Date(t(40)))?.rule, 'inactivity');
    assert.equal(firedRule(quiet, new Date(t(45))), 'inactivity');
    // A tie goes to the timeout.
    assert.equal(nextRule({ ...clock, lastActivityAt: new Date(t(45)) }, new Date(t(0)))?.rule, 'timeout');
  });

  it('a claim on a stage past its deadline fires at once (the runner stops before any step)', () => {
    const events: BuildEvent[] = [
      created, queued(1, t(0)), claimed(1, t(0)), started(1, t(0), 5),
      { type: 'StageRequeued', data: { stage: 1, attempt: 2, at: t(8) } }, claimed(2, t(9)),
    ];
    assert.equal(firedRule(replayStage(events, 1).clock, new Date(t(9))), 'timeout');
  });

  it('remembers how each step ended, for a resume with a kept workspace', () => {
    const events: BuildEvent[] = [created, queued(1, t(0)), claimed(1, t(0)), started(1, t(0)), stepStarted(1, t(1)), stepFinished(1, t(2)), stepStarted(2, t(3)), stepFinished(2, t(4), 1)];
    assert.deepEqual([...replayStage(events, 1).steps], [[1, 'success'], [2, 'failure']]);
    assert.equal(DEFAULT_INACTIVITY_LIMIT_MS, 15 * 60_000);
  });
});
