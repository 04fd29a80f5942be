import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildsProjection } from '../../src/projections/builds-projection.ts';
import { BUILD_ID, cmd, planOf, runStage, t } from '../events/fixtures.ts';
import { history } from '../events/decider-spec.ts';
import { given, projected } from './projection-spec.ts';

const plan = planOf({ name: 'build', steps: [{ name: 'compile' }, { name: 'test' }] }, { name: 'deploy', dependsOn: ['build'] });
const at = (s: number) => new Date(t(s));

describe('builds projection', () => {
  it('BuildCreated writes the whole row: trigger facts under Drone’s names, status pending', () => {
    const created = history(
      cmd.create(plan, {
        trigger: {
          event: 'pull_request',
          action: 'opened',
          ref: 'refs/pull/7/head',
          branch: 'main',
          sourceBranch: 'feature',
          targetBranch: 'main',
          commit: 'c0ffee',
          after: 'c0ffee',
          before: 'decade',
          message: 'Add feature',
          title: 'Feature',
          link: 'https://example.test/pr/7',
          author: { login: 'octo', name: 'Octo Cat', email: 'octo@example.test', avatar: 'https://example.test/a.png' },
          sender: 'octo',
          fork: 'someone/hello',
          params: { LEVEL: '2' },
        },
        parent: 3,
      }),
    );
    const [row] = given(created).when(buildsProjection).rows('builds');
    assert.deepEqual(row, {
      id: BUILD_ID,
      repoId: 'repo-1',
      number: 7,
      status: 'pending',
      error: null,
      event: 'pull_request',
      action: 'opened',
      ref: 'refs/pull/7/head',
      branch: 'main',
      sourceBranch: 'feature',
      targetBranch: 'main',
      commit: 'c0ffee',
      before: 'decade',
      message: 'Add feature',
      title: 'Feature',
      link: 'https://example.test/pr/7',
      authorLogin: 'octo',
      authorName: 'Octo Cat',
      authorEmail: 'octo@example.test',
      authorAvatar: 'https://example.test/a.png',
      sender: 'octo',
      trigger: 'alice',
      fork: 'someone/hello',
      params: { LEVEL: '2' },
      cron: '',
      deployTo: '',
      deployId: null,
      parent: 3,
      configPath: '.drone.yml',
      created: at(0),
      started: null,
      finished: null,
      updated: at(0),
      version: created.length,
    });
  });

  it('a build that runs to the end: running from its first stage start, then success with started/finished/version', () => {
    const events = history(cmd.create(plan), ...runStage(1, 2, 10), ...runStage(2, 1, 30));
    const [row] = given(events).when(buildsProjection).rows('builds');
    assert.equal(row!.status, 'success');
    assert.deepEqual(row!.started, at(11), 'the first StageStarted');
    assert.deepEqual(row!.finished, at(33));
    assert.deepEqual(row!.updated, at(33));
    assert.equal(row!.version, events.length);
  });

  it('the row’s status is the decider’s after every event (blocked, approved, running, cancelled → killed)', () => {
    const events = history(
      cmd.create(plan, { block: 'protected' }),
      cmd.approve(t(1)),
      cmd.claim(1, t(2)),
      cmd.start(1, t(3)),
      cmd.cancel(t(4)),
      cmd.cancelStage(1, t(5)),
    );
    const seen: string[] = [];
    for (let n = 1; n <= events.length; n++) {
      const [row] = given(events.slice(0, n)).when(buildsProjection).rows('builds');
      const last = projected(events.slice(0, n)).at(-1)!;
      assert.equal(row!.status, 'build' in last ? last.build.status : undefined, `after ${events[n - 1]!.type}`);
      seen.push(row!.status as string);
    }
    assert.deepEqual([...new Set(seen)], ['pending', 'blocked', 'running', 'killed']);
  });

  it('a config that did not compile: status error, the message kept', () => {
    const events = history(cmd.create(undefined, { error: '.drone.yml:3:1: unknown key' }));
    const [row] = given(events).when(buildsProjection).rows('builds');
    assert.equal(row!.status, 'error');
    assert.equal(row!.error, '.drone.yml:3:1: unknown key');
    assert.deepEqual(row!.finished, at(0));
  });

  it('step events only move status, updated and version', () => {
    const events = history(cmd.create(plan), cmd.claim(1, t(1)), cmd.start(1, t(2)));
    given(events)
      .when(buildsProjection, ...history(cmd.create(plan), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.startStep(1, 1, t(3))).slice(events.length))
      .thenOps([{ kind: 'patch', table: 'builds', key: { id: BUILD_ID }, set: { status: 'running', updated: at(3), version: events.length + 1 } }]);
  });
});
