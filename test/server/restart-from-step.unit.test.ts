import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Build } from '../../src/events/build-state.ts';
import { fold, stageRunId } from '../../src/events/build-state.ts';
import { carriedStages, resolveRestart, resumeRunFields } from '../../src/server/restart-from-step.ts';
import { history } from '../events/decider-spec.ts';
import { cmd, planOf, runStage, t } from '../events/fixtures.ts';

// lint, test (fails), deploy after test, notify after lint: restart 'test'.
const plan = planOf(
  { name: 'lint' },
  { name: 'test', steps: [{ name: 'clone' }, { name: 'unit' }] },
  { name: 'deploy', dependsOn: ['test'] },
  { name: 'docs', dependsOn: ['lint'] },
);
const parent = fold(
  history(cmd.create(plan), ...runStage(1, 1, 10), ...runStage(2, 2, 20, [0, 1]), ...runStage(4, 1, 40)),
) as Build;

describe('restart from a step (pure parts)', () => {
  it('names stage and step by number or by name', () => {
    assert.deepEqual(resolveRestart(parent, 'test', 'unit'), { stage: 2, step: 2 });
    assert.deepEqual(resolveRestart(parent, '2', '1'), { stage: 2, step: 1 });
  });

  it('refuses a missing or unknown stage or step with a 4xx naming what there is', () => {
    const status = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return [(error as { status: number }).status, (error as Error).message];
      }
      return undefined;
    };
    assert.deepEqual(status(() => resolveRestart(parent, undefined, 'unit'))?.[0], 400);
    assert.deepEqual(status(() => resolveRestart(parent, 'test', ''))?.[0], 400);
    const [code, message] = status(() => resolveRestart(parent, 'nope', 'unit'))!;
    assert.equal(code, 404);
    assert.match(String(message), /1 lint, 2 test, 3 deploy, 4 docs/);
    assert.equal(status(() => resolveRestart(parent, 'test', 'deploy'))?.[0], 404);
  });

  it('carries over the stages that succeeded and do not run after the restarted one', () => {
    assert.equal(parent.stages[1]!.status, 'failure');
    assert.equal(parent.stages[2]!.status, 'skipped');
    assert.deepEqual(carriedStages(parent, 2), [1, 4]);
    // Restarting lint: docs runs after it, so only nothing else that succeeded is carried (test failed).
    assert.deepEqual(carriedStages(parent, 1), []);
  });

  it('tells the claim of the restarted stage where to start and which workspace; once it started, a later attempt gets the workspace it ran on', () => {
    const restart = { stage: 2, step: 2, carried: [1, 4], workspace: { runner: { id: 'r', name: 'r' }, key: 'k' } };
    const created = history(cmd.create(plan, { number: 8, parent: 7, restart }));
    const state = fold(created);
    assert.deepEqual(resumeRunFields(state, 2), { resumeFrom: 2, workspaceKey: 'k' });
    assert.deepEqual(resumeRunFields(state, 3), {});
    const started = fold(history(cmd.create(plan, { number: 8, parent: 7, restart }), cmd.claim(2, t(1)), cmd.start(2, t(2))));
    assert.deepEqual(resumeRunFields(started, 2), { workspaceKey: stageRunId((started as Build).buildId, 2, 1) });
  });
});
