import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IllegalCommand } from '../../src/events/decider-errors.ts';
import { Plan } from '../../src/pipeline/plan.ts';
import { Trigger } from '../../src/pipeline/trigger.ts';
import { createLocalBuild, createMemoryReporter } from '../../src/runner/reporter.ts';

const plan = Plan.parse({
  version: 1,
  stages: [
    {
      number: 1,
      name: 'default',
      type: 'exec',
      platform: {},
      workspace: { path: '/drone/src' },
      clone: { disable: true },
      steps: [{ number: 1, name: 'a', kind: 'step', image: '' }],
    },
  ],
});
const trigger = Trigger.parse({ event: 'push', ref: 'refs/heads/main', commit: 'abc' });
const at = () => new Date().toISOString();

describe('memory reporter', () => {
  it('given a local build, the stage is claimed and the history holds the decider’s events', async () => {
    const { reporter, leaseToken } = await createLocalBuild({ plan, trigger });
    assert.deepEqual((await reporter.history()).map((e) => e.type), ['BuildCreated', 'StageQueued', 'StageClaimed']);
    const started = await reporter.command({ type: 'StartStage', data: { stage: 1, leaseToken, timeoutMinutes: 60, at: at() } });
    assert.deepEqual(started.map((e) => e.type), ['StageStarted']);
  });

  it('rejects a refused command with the decider’s typed error, and appends nothing', async () => {
    const { reporter } = await createLocalBuild({ plan, trigger });
    const before = reporter.events().length;
    await assert.rejects(
      reporter.command({ type: 'StartStage', data: { stage: 1, leaseToken: 'someone-else', timeoutMinutes: 60, at: at() } }),
      (error: unknown) => error instanceof IllegalCommand && error.code === 'stale_lease' && error.status === 403,
    );
    assert.equal(reporter.events().length, before);
  });

  it('says when a cancel was requested', async () => {
    const { reporter } = await createLocalBuild({ plan, trigger });
    assert.equal(await reporter.cancelled(), false);
    await reporter.command({ type: 'RequestCancel', data: { by: 'alice', at: at() } });
    assert.equal(await reporter.cancelled(), true);
  });

  it('stores log chunks by byte offset, drops a resend and refuses a gap', async () => {
    const seen: string[] = [];
    const reporter = createMemoryReporter([], { onLog: (_stage, _step, chunk) => seen.push(chunk.data) });
    await reporter.log(1, 1, { offset: 0, data: 'hé\n' });
    await reporter.log(1, 1, { offset: 0, data: 'hé\n' });
    await reporter.log(1, 1, { offset: 4, data: 'two\n' });
    await assert.rejects(reporter.log(1, 1, { offset: 100, data: 'x' }), /offset 100, expected 8/);
    assert.equal(reporter.logText(1, 1), 'hé\ntwo\n');
    assert.deepEqual(seen, ['hé\n', 'two\n']);
  });
});
