import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BuildStatus } from '../../src/events/build-status.ts';
import { commitStatusRequest, forgeState, statusContext, type CommitStatus } from '../../src/forge/commit-status.ts';
import type { ForgeAccess } from '../../src/forge/forge-api.ts';
import { buildLink, statusChanges } from '../../src/forge/status-follower.ts';
import type { BuildSnapshot } from '../../src/live/build-snapshots.ts';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const access = (forge: ForgeAccess['forge'], slug = 'acme/web'): ForgeAccess => ({ forge, apiUrl: 'http://forge.test/api', token: 't', slug, cloneUrl: '' });
const status = (forge: ForgeAccess['forge'], build: BuildStatus, event = 'push'): CommitStatus => ({
  access: access(forge, forge === 'gitlab' ? 'group/sub/web' : 'acme/web'),
  sha: SHA,
  status: build,
  event,
  number: 7,
  link: 'https://ci.example.test/acme/web/7',
});

describe('build status to each forge state', () => {
  const ALL: BuildStatus[] = ['pending', 'blocked', 'running', 'success', 'failure', 'killed', 'declined', 'error'];
  const GITHUB = new Set(['pending', 'success', 'failure', 'error']);
  const GITEA = new Set(['pending', 'success', 'error', 'failure', 'warning']);
  const GITLAB = new Set(['pending', 'running', 'success', 'failed', 'canceled']);

  test('given every build status, then each forge gets a state it accepts and a description', () => {
    for (const build of ALL) {
      const state = forgeState(build);
      assert.ok(GITHUB.has(state.github), `github ${build} -> ${state.github}`);
      assert.ok(GITEA.has(state.gitea), `gitea ${build} -> ${state.gitea}`);
      assert.ok(GITLAB.has(state.gitlab), `gitlab ${build} -> ${state.gitlab}`);
      assert.notEqual(state.description, '');
    }
  });

  test('given the lifecycle, then GitHub sees pending, pending, success; GitLab pending, running, success; a kill is error / canceled', () => {
    assert.deepEqual((['pending', 'running', 'success'] as const).map((s) => forgeState(s).github), ['pending', 'pending', 'success']);
    assert.deepEqual((['pending', 'running', 'success'] as const).map((s) => forgeState(s).gitlab), ['pending', 'running', 'success']);
    assert.deepEqual([forgeState('failure').gitlab, forgeState('killed').github, forgeState('killed').gitlab], ['failed', 'error', 'canceled']);
  });

  test('given an event, then the context is continuous-integration/runlog/<event> (pull_request as pr, like Drone)', () => {
    assert.equal(statusContext('push'), 'continuous-integration/runlog/push');
    assert.equal(statusContext('pull_request'), 'continuous-integration/runlog/pr');
    assert.equal(statusContext('tag'), 'continuous-integration/runlog/tag');
  });
});

describe('the status request per forge', () => {
  test('given GitHub, then POST /repos/{o}/{n}/statuses/{sha} with state, target_url, description, context', () => {
    assert.deepEqual(commitStatusRequest(status('github', 'running')), {
      path: `/repos/acme/web/statuses/${SHA}`,
      body: { state: 'pending', target_url: 'https://ci.example.test/acme/web/7', description: 'Build is running', context: 'continuous-integration/runlog/push' },
    });
  });

  test('given Gitea, then the same path under its API base with its own state words', () => {
    assert.deepEqual(commitStatusRequest(status('gitea', 'failure', 'pull_request')), {
      path: `/repos/acme/web/statuses/${SHA}`,
      body: { state: 'failure', target_url: 'https://ci.example.test/acme/web/7', description: 'Build is failing', context: 'continuous-integration/runlog/pr' },
    });
  });

  test('given GitLab, then /projects/{url-encoded path}/statuses/{sha} with name instead of context', () => {
    assert.deepEqual(commitStatusRequest(status('gitlab', 'killed')), {
      path: `/projects/group%2Fsub%2Fweb/statuses/${SHA}`,
      body: { state: 'canceled', target_url: 'https://ci.example.test/acme/web/7', description: 'Build was killed', name: 'continuous-integration/runlog/push' },
    });
  });

  test('given a git-only repo or a build without a commit, then nothing is sent', () => {
    assert.equal(commitStatusRequest(status('git', 'success')), undefined);
    assert.equal(commitStatusRequest({ ...status('github', 'success'), sha: '' }), undefined);
  });
});

describe('status changes among build snapshots', () => {
  const snapshot = (buildId: string, status: string, previousStatus: string): BuildSnapshot =>
    ({ buildId, repoId: 'r1', previousStatus, build: { number: 3, status, after: SHA, event: 'push' } }) as unknown as BuildSnapshot;

  test('given created, a stage event that keeps running, then success, then only the changes are reported, in order', () => {
    const changes = statusChanges([snapshot('b', 'pending', ''), snapshot('b', 'running', 'pending'), snapshot('b', 'running', 'running'), snapshot('b', 'success', 'running')]);
    assert.deepEqual(changes.map((change) => change.status), ['pending', 'running', 'success']);
    assert.deepEqual(changes[0], { repoId: 'r1', buildId: 'b', number: 3, status: 'pending', sha: SHA, event: 'push' });
  });

  test('given the system, then the link is the build page', () => {
    assert.equal(buildLink({ proto: 'https', host: 'ci.example.test', version: 'x' }, 'acme/web', 12), 'https://ci.example.test/acme/web/12');
  });
});
