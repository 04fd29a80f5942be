import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildEnvironment,
  runtimeEnvironment,
  stageEnvironment,
  stepEnvironment,
  workspaceEnvironment,
} from '../../src/pipeline/environment.ts';
import { calverEnvironment, semverEnvironment } from '../../src/pipeline/tag-versions.ts';
import { CompileContext } from '../../src/pipeline/trigger.ts';
import type { CompileContextInput, TriggerInput } from '../../src/pipeline/trigger.ts';

const sha = '8f51ad7884c5eb69c11d260a31da7a745e6b78e2';
const author = { login: 'octocat', name: 'The Octocat', email: 'octocat@github.com', avatar: 'https://avatars/octocat' };

function context(trigger: Partial<TriggerInput>, overrides: Partial<CompileContextInput> = {}): CompileContext {
  return CompileContext.parse({
    trigger: {
      event: 'push',
      ref: 'refs/heads/main',
      branch: 'main',
      commit: sha,
      before: '1111111111111111111111111111111111111111',
      after: sha,
      message: 'Fix the login page',
      link: 'https://github.com/octocat/hello-world/commit/8f51ad7',
      author,
      sender: 'octocat',
      ...trigger,
    },
    repo: {
      owner: 'octocat',
      name: 'hello-world',
      slug: 'octocat/hello-world',
      cloneUrl: 'https://github.com/octocat/hello-world.git',
      link: 'https://github.com/octocat/hello-world',
      defaultBranch: 'main',
    },
    build: { number: 42, createdAt: '2024-05-01T12:00:00Z' },
    system: { host: 'ci.example.com', proto: 'https', version: '1.0.0' },
    ...overrides,
  });
}

/** Asserts the listed variables have exactly these values (`undefined`: not set at all). */
function expectVars(env: Record<string, string>, want: Record<string, string | undefined>): void {
  const got = Object.fromEntries(Object.keys(want).map((key) => [key, env[key]]));
  assert.deepEqual(got, want);
}

const keys = (env: Record<string, string>, prefix: string) => Object.keys(env).filter((key) => key.startsWith(prefix)).sort();

describe('environment: a push', () => {
  it('gives every variable Drone and Woodpecker give, with these exact values', () => {
    assert.deepEqual(buildEnvironment(context({})), {
      CI: 'true',
      DRONE: 'true',
      DRONE_SYSTEM_PROTO: 'https',
      DRONE_SYSTEM_HOST: 'ci.example.com',
      DRONE_SYSTEM_HOSTNAME: 'ci.example.com',
      DRONE_SYSTEM_VERSION: '1.0.0',
      DRONE_REPO: 'octocat/hello-world',
      DRONE_REPO_SCM: 'git',
      DRONE_REPO_OWNER: 'octocat',
      DRONE_REPO_NAMESPACE: 'octocat',
      DRONE_REPO_NAME: 'hello-world',
      DRONE_REPO_LINK: 'https://github.com/octocat/hello-world',
      DRONE_REPO_BRANCH: 'main',
      DRONE_REMOTE_URL: 'https://github.com/octocat/hello-world.git',
      DRONE_GIT_HTTP_URL: 'https://github.com/octocat/hello-world.git',
      DRONE_GIT_SSH_URL: '',
      DRONE_REPO_VISIBILITY: 'public',
      DRONE_REPO_PRIVATE: 'false',
      DRONE_BRANCH: 'main',
      DRONE_SOURCE_BRANCH: 'main',
      DRONE_TARGET_BRANCH: 'main',
      DRONE_COMMIT: sha,
      DRONE_COMMIT_SHA: sha,
      DRONE_COMMIT_BEFORE: '1111111111111111111111111111111111111111',
      DRONE_COMMIT_AFTER: sha,
      DRONE_COMMIT_REF: 'refs/heads/main',
      DRONE_COMMIT_BRANCH: 'main',
      DRONE_COMMIT_LINK: 'https://github.com/octocat/hello-world/commit/8f51ad7',
      DRONE_COMMIT_MESSAGE: 'Fix the login page',
      DRONE_COMMIT_AUTHOR: 'octocat',
      DRONE_COMMIT_AUTHOR_EMAIL: 'octocat@github.com',
      DRONE_COMMIT_AUTHOR_AVATAR: 'https://avatars/octocat',
      DRONE_COMMIT_AUTHOR_NAME: 'The Octocat',
      DRONE_BUILD_NUMBER: '42',
      DRONE_BUILD_PARENT: '0',
      DRONE_BUILD_EVENT: 'push',
      DRONE_BUILD_ACTION: '',
      DRONE_BUILD_DEBUG: 'false',
      DRONE_BUILD_CREATED: '1714564800',
      DRONE_BUILD_LINK: 'https://ci.example.com/octocat/hello-world/42',
      DRONE_BUILD_TRIGGER: '@hook',
      DRONE_DEPLOY_TO: '',
      DRONE_DEPLOY_ID: '0',
      // Drone's legacy CI_* aliases
      CI_REPO_LINK: 'https://github.com/octocat/hello-world',
      CI_REPO_REMOTE: 'https://github.com/octocat/hello-world.git',
      CI_REMOTE_URL: 'https://github.com/octocat/hello-world.git',
      CI_BUILD_NUMBER: '42',
      CI_PARENT_BUILD_NUMBER: '0',
      CI_BUILD_CREATED: '1714564800',
      CI_BUILD_EVENT: 'push',
      CI_BUILD_LINK: 'https://github.com/octocat/hello-world/commit/8f51ad7',
      CI_BUILD_TARGET: '',
      // Woodpecker's names
      CI_SYSTEM_NAME: 'runlog',
      CI_SYSTEM_URL: 'https://ci.example.com',
      CI_SYSTEM_HOST: 'ci.example.com',
      CI_SYSTEM_VERSION: '1.0.0',
      CI_REPO: 'octocat/hello-world',
      CI_REPO_NAME: 'hello-world',
      CI_REPO_OWNER: 'octocat',
      CI_REPO_SCM: 'git',
      CI_REPO_URL: 'https://github.com/octocat/hello-world',
      CI_REPO_CLONE_URL: 'https://github.com/octocat/hello-world.git',
      CI_REPO_DEFAULT_BRANCH: 'main',
      CI_REPO_PRIVATE: 'false',
      CI_REPO_TRUSTED: 'false',
      CI_REPO_TRUSTED_NETWORK: 'false',
      CI_REPO_TRUSTED_VOLUMES: 'false',
      CI_REPO_TRUSTED_SECURITY: 'false',
      CI_COMMIT_SHA: sha,
      CI_COMMIT_REF: 'refs/heads/main',
      CI_COMMIT_BRANCH: 'main',
      CI_COMMIT_MESSAGE: 'Fix the login page',
      CI_COMMIT_AUTHOR: 'octocat',
      CI_COMMIT_AUTHOR_NAME: 'The Octocat',
      CI_COMMIT_AUTHOR_EMAIL: 'octocat@github.com',
      CI_COMMIT_AUTHOR_AVATAR: 'https://avatars/octocat',
      CI_PIPELINE_NUMBER: '42',
      CI_PIPELINE_PARENT: '0',
      CI_PIPELINE_EVENT: 'push',
      CI_PIPELINE_URL: 'https://ci.example.com/octocat/hello-world/42',
      CI_PIPELINE_FORGE_URL: 'https://github.com/octocat/hello-world/commit/8f51ad7',
      CI_PIPELINE_CREATED: '1714564800',
      CI_PIPELINE_FILES: '[]',
    });
  });

  it('sets no tag, semver, pull request or Woodpecker-empty variables', () => {
    const env = buildEnvironment(context({}));
    assert.deepEqual(keys(env, 'DRONE_SEMVER'), []);
    assert.deepEqual(keys(env, 'DRONE_CALVER'), []);
    expectVars(env, { DRONE_TAG: undefined, DRONE_PULL_REQUEST: undefined, CI_COMMIT_TAG: undefined, CI_PIPELINE_DEPLOY_TARGET: undefined });
  });

  it('lists the changed files as JSON, as Woodpecker does', () => {
    assert.equal(buildEnvironment(context({ changedFiles: ['a.go', 'b c.md'] })).CI_PIPELINE_FILES, '["a.go","b c.md"]');
    const many = Array.from({ length: 501 }, (_, i) => `f${i}`);
    assert.equal(buildEnvironment(context({ changedFiles: many })).CI_PIPELINE_FILES, undefined);
  });

  it('names a private repository so', () => {
    const env = buildEnvironment(
      context({}, { repo: { owner: 'o', name: 'n', slug: 'o/n', private: true, visibility: 'private', trusted: true } }),
    );
    expectVars(env, { DRONE_REPO_PRIVATE: 'true', DRONE_REPO_VISIBILITY: 'private', CI_REPO_PRIVATE: 'true', CI_REPO_TRUSTED: 'true' });
  });
});

describe('environment: a tag', () => {
  const tagged = (tag: string) => context({ event: 'tag', ref: `refs/tags/${tag}`, branch: '', message: 'Release' });

  it('sets the tag and its semver parts, as runner-go parses them', () => {
    const env = buildEnvironment(tagged('v1.2.3-alpha.1+build.5'));
    expectVars(env, {
      DRONE_TAG: 'v1.2.3-alpha.1+build.5',
      CI_COMMIT_TAG: 'v1.2.3-alpha.1+build.5',
      DRONE_BUILD_EVENT: 'tag',
      DRONE_COMMIT_REF: 'refs/tags/v1.2.3-alpha.1+build.5',
      DRONE_BRANCH: '',
      DRONE_SEMVER: '1.2.3-alpha.1+build.5',
      DRONE_SEMVER_MAJOR: '1',
      DRONE_SEMVER_MINOR: '2',
      DRONE_SEMVER_PATCH: '3',
      DRONE_SEMVER_PRERELEASE: 'alpha.1',
      DRONE_SEMVER_BUILD: 'build.5',
      DRONE_SEMVER_SHORT: '1.2.3',
      DRONE_SEMVER_ERROR: undefined,
      CI_PIPELINE_EVENT: 'tag',
    });
    assert.deepEqual(keys(env, 'DRONE_CALVER'), []);
  });

  it('leaves out prerelease and build when the tag has none', () => {
    const env = buildEnvironment(tagged('2.0.0'));
    expectVars(env, { DRONE_SEMVER: '2.0.0', DRONE_SEMVER_SHORT: '2.0.0', DRONE_SEMVER_PRERELEASE: undefined, DRONE_SEMVER_BUILD: undefined });
  });

  it('sets only DRONE_SEMVER_ERROR when the tag is not semver, with go-semver\'s message', () => {
    const env = buildEnvironment(tagged('nightly'));
    assert.deepEqual(keys(env, 'DRONE_SEMVER'), ['DRONE_SEMVER_ERROR']);
    assert.equal(env.DRONE_SEMVER_ERROR, 'nightly is not in dotted-tri format');
    assert.equal(env.DRONE_TAG, 'nightly');
  });

  it('reads a calendar version too', () => {
    const env = buildEnvironment(tagged('v2024.05.1-rc1'));
    expectVars(env, {
      DRONE_CALVER: '2024.05.1-rc1',
      DRONE_CALVER_MAJOR_MINOR: '2024.05',
      DRONE_CALVER_MAJOR: '2024',
      DRONE_CALVER_MINOR: '05',
      DRONE_CALVER_MICRO: '1',
      DRONE_CALVER_MODIFIER: 'rc1',
      DRONE_CALVER_SHORT: '2024.05.1',
      DRONE_SEMVER: '2024.5.1-rc1',
      DRONE_SEMVER_MINOR: '5',
    });
  });

  describe('semver parsing, as coreos/go-semver v0.3.0', () => {
    const cases: [string, Record<string, string>][] = [
      ['v1.2.3-alpha+001', { DRONE_SEMVER: '1.2.3-alpha+001', DRONE_SEMVER_MAJOR: '1', DRONE_SEMVER_MINOR: '2', DRONE_SEMVER_PATCH: '3', DRONE_SEMVER_SHORT: '1.2.3', DRONE_SEMVER_PRERELEASE: 'alpha', DRONE_SEMVER_BUILD: '001' }],
      ['this is an invalid version', { DRONE_SEMVER_ERROR: 'this is an invalid version is not in dotted-tri format' }],
      ['v1.2', { DRONE_SEMVER_ERROR: '1.2 is not in dotted-tri format' }],
      ['1.2.x', { DRONE_SEMVER_ERROR: 'strconv.ParseInt: parsing "x": invalid syntax' }],
      ['1.2.3.4', { DRONE_SEMVER_ERROR: 'strconv.ParseInt: parsing "3.4": invalid syntax' }],
      ['1.2.3-beta_1', { DRONE_SEMVER_ERROR: 'failed to validate pre-release: beta_1 is not a valid semver identifier' }],
      ['1.2.3+', { DRONE_SEMVER: '1.2.3', DRONE_SEMVER_MAJOR: '1', DRONE_SEMVER_MINOR: '2', DRONE_SEMVER_PATCH: '3', DRONE_SEMVER_SHORT: '1.2.3' }],
      ['01.002.3', { DRONE_SEMVER: '1.2.3', DRONE_SEMVER_MAJOR: '1', DRONE_SEMVER_MINOR: '2', DRONE_SEMVER_PATCH: '3', DRONE_SEMVER_SHORT: '1.2.3' }],
      ['99999999999999999999.0.0', { DRONE_SEMVER_ERROR: 'strconv.ParseInt: parsing "99999999999999999999": value out of range' }],
    ];
    for (const [tag, want] of cases) it(tag, () => assert.deepEqual(semverEnvironment(tag), want));
  });

  describe('calver parsing, as runner-go calver.go', () => {
    const cases: [string, Record<string, string>][] = [
      ['19.04.1', { DRONE_CALVER: '19.04.1', DRONE_CALVER_MAJOR_MINOR: '19.04', DRONE_CALVER_MAJOR: '19', DRONE_CALVER_MINOR: '04', DRONE_CALVER_MICRO: '1', DRONE_CALVER_SHORT: '19.04.1' }],
      ['2024.1', { DRONE_CALVER: '2024.1', DRONE_CALVER_MAJOR_MINOR: '2024.1', DRONE_CALVER_MAJOR: '2024', DRONE_CALVER_MINOR: '1', DRONE_CALVER_MICRO: '', DRONE_CALVER_SHORT: '2024.1' }],
      ['1.2.3', {}],
      ['2018.1.0', {}],
      ['2024', {}],
      ['2024.x.1', {}],
    ];
    for (const [tag, want] of cases) it(tag, () => assert.deepEqual(calverEnvironment(tag), want));
  });
});

describe('environment: a pull request', () => {
  const env = buildEnvironment(
    context({
      event: 'pull_request',
      action: 'opened',
      ref: 'refs/pull/7/head',
      branch: 'main',
      sourceBranch: 'feature/login',
      targetBranch: 'main',
      title: 'Add a login page',
      pullRequest: 7,
      link: 'https://github.com/octocat/hello-world/pull/7',
    }),
  );
  it('sets the branches as Drone does: DRONE_BRANCH is the target', () => {
    expectVars(env, {
      DRONE_BRANCH: 'main',
      DRONE_SOURCE_BRANCH: 'feature/login',
      DRONE_TARGET_BRANCH: 'main',
      DRONE_COMMIT_BRANCH: 'main',
      DRONE_COMMIT_REF: 'refs/pull/7/head',
    });
  });
  it('sets the pull request number, title and action', () => {
    expectVars(env, {
      DRONE_PULL_REQUEST: '7',
      DRONE_PULL_REQUEST_TITLE: 'Add a login page',
      DRONE_BUILD_EVENT: 'pull_request',
      DRONE_BUILD_ACTION: 'opened',
      DRONE_BUILD_TRIGGER: '@hook',
      DRONE_TAG: undefined,
    });
  });
  it("sets Woodpecker's pull request variables", () => {
    expectVars(env, {
      CI_PIPELINE_EVENT: 'pull_request',
      CI_COMMIT_PULL_REQUEST: '7',
      CI_COMMIT_SOURCE_BRANCH: 'feature/login',
      CI_COMMIT_TARGET_BRANCH: 'main',
      CI_COMMIT_REFSPEC: 'feature/login:main',
      CI_COMMIT_BRANCH: 'main',
    });
  });
  it('takes the number from the ref when the trigger has none, as runner-go does', () => {
    const fromRef = buildEnvironment(context({ event: 'pull_request', ref: 'refs/pull/12/merge', branch: 'main', targetBranch: 'main' }));
    assert.equal(fromRef.DRONE_PULL_REQUEST, '12');
  });
});

describe('environment: a cron build', () => {
  const env = buildEnvironment(context({ event: 'cron', cron: 'nightly', sender: '', ref: 'refs/heads/main', branch: 'main' }));
  it('is triggered by @cron, on the cron branch, with no source branch (Drone cron hook)', () => {
    expectVars(env, {
      DRONE_BUILD_EVENT: 'cron',
      DRONE_BUILD_TRIGGER: '@cron',
      DRONE_BRANCH: 'main',
      DRONE_TARGET_BRANCH: 'main',
      DRONE_SOURCE_BRANCH: '',
      CI_PIPELINE_EVENT: 'cron',
      DRONE_PULL_REQUEST: undefined,
      DRONE_TAG: undefined,
    });
  });
});

describe('environment: a promote', () => {
  const env = buildEnvironment(
    context(
      { event: 'promote', deployTo: 'production', deployId: 9, sender: 'admin', params: { VERSION: '1.2.3' } },
      { build: { number: 43, parent: 42, createdAt: '2024-05-02T08:30:15.900Z' } },
    ),
  );
  it('names the target, the parent build and who promoted it', () => {
    expectVars(env, {
      DRONE_BUILD_EVENT: 'promote',
      DRONE_DEPLOY_TO: 'production',
      DRONE_DEPLOY_ID: '9',
      DRONE_BUILD_PARENT: '42',
      DRONE_BUILD_NUMBER: '43',
      DRONE_BUILD_TRIGGER: 'admin',
      DRONE_BUILD_CREATED: '1714638615',
      DRONE_BUILD_LINK: 'https://ci.example.com/octocat/hello-world/43',
      CI_BUILD_TARGET: 'production',
      CI_PARENT_BUILD_NUMBER: '42',
      CI_PIPELINE_EVENT: 'deployment',
      CI_PIPELINE_DEPLOY_TARGET: 'production',
      CI_PIPELINE_PARENT: '42',
    });
  });
  it('leaves build parameters to the caller, who layers them as Drone does', () => {
    assert.equal(env.VERSION, undefined);
  });
  it('calls a rollback a deployment and a custom build a manual one, in Woodpecker terms', () => {
    assert.equal(buildEnvironment(context({ event: 'rollback', deployTo: 'production' })).CI_PIPELINE_EVENT, 'deployment');
    const custom = buildEnvironment(context({ event: 'custom', sender: 'admin' }));
    expectVars(custom, { CI_PIPELINE_EVENT: 'manual', DRONE_BUILD_TRIGGER: 'admin', DRONE_BUILD_EVENT: 'custom' });
  });
});

describe('environment: stage, step, workspace, run time', () => {
  it('stageEnvironment', () => {
    assert.deepEqual(
      stageEnvironment({ name: 'backend', number: 2, type: 'docker', os: 'linux', arch: 'arm64', variant: 'v8', kernel: '', dependsOn: ['lint', 'build'], machine: 'runner-1' }),
      {
        DRONE_STAGE_KIND: 'pipeline',
        DRONE_STAGE_TYPE: 'docker',
        DRONE_STAGE_NAME: 'backend',
        DRONE_STAGE_NUMBER: '2',
        DRONE_STAGE_MACHINE: 'runner-1',
        DRONE_STAGE_OS: 'linux',
        DRONE_STAGE_ARCH: 'arm64',
        DRONE_STAGE_VARIANT: 'v8',
        DRONE_STAGE_DEPENDS_ON: 'lint,build',
        DRONE_CARD_PATH: '/dev/stdout',
        CI_WORKFLOW_NAME: 'backend',
        CI_WORKFLOW_NUMBER: '2',
        CI_SYSTEM_PLATFORM: 'linux/arm64',
      },
    );
    const bare = stageEnvironment({ name: 'default', number: 1, type: 'exec', os: 'linux', arch: 'amd64', variant: '', kernel: '', dependsOn: [] });
    expectVars(bare, { DRONE_STAGE_MACHINE: '', DRONE_STAGE_DEPENDS_ON: '', DRONE_STAGE_VARIANT: '' });
  });

  it('stepEnvironment', () => {
    assert.deepEqual(stepEnvironment({ name: 'test', number: 3 }), {
      DRONE_STEP_NAME: 'test',
      DRONE_STEP_NUMBER: '3',
      CI_STEP_NAME: 'test',
      CI_STEP_NUMBER: '3',
    });
  });

  it('workspaceEnvironment: the default workspace', () => {
    assert.deepEqual(workspaceEnvironment('/drone/src'), {
      DRONE_WORKSPACE: '/drone/src',
      DRONE_WORKSPACE_BASE: '/drone/src',
      DRONE_WORKSPACE_PATH: '',
      CI_WORKSPACE: '/drone/src',
      CI_WORKSPACE_BASE: '/drone/src',
      CI_WORKSPACE_PATH: '',
    });
  });

  it('workspaceEnvironment: a path below the default base, and elsewhere', () => {
    expectVars(workspaceEnvironment('/drone/src/github.com/octocat/hello-world'), {
      DRONE_WORKSPACE: '/drone/src/github.com/octocat/hello-world',
      DRONE_WORKSPACE_BASE: '/drone/src',
      DRONE_WORKSPACE_PATH: 'github.com/octocat/hello-world',
    });
    expectVars(workspaceEnvironment('/go/src/app'), { DRONE_WORKSPACE: '/go/src/app', DRONE_WORKSPACE_BASE: '/go/src/app', DRONE_WORKSPACE_PATH: '' });
  });

  it('runtimeEnvironment while everything passes', () => {
    assert.deepEqual(
      runtimeEnvironment({
        buildStatus: 'success',
        stageStatus: 'success',
        buildStartedAt: '2024-05-01T12:00:05Z',
        startedAt: '2024-05-01T12:00:07Z',
        now: '2024-05-01T12:01:00Z',
        runnerHost: 'runner-1.internal',
        runnerName: 'runner-1',
        runnerPlatform: 'linux/amd64',
      }),
      {
        DRONE_BUILD_STATUS: 'success',
        DRONE_BUILD_STARTED: '1714564805',
        DRONE_BUILD_FINISHED: '1714564860',
        DRONE_STAGE_STATUS: 'success',
        DRONE_STAGE_STARTED: '1714564807',
        DRONE_STAGE_FINISHED: '1714564860',
        DRONE_MACHINE: 'runner-1.internal',
        DRONE_RUNNER_HOST: 'runner-1.internal',
        DRONE_RUNNER_HOSTNAME: 'runner-1.internal',
        DRONE_RUNNER_NAME: 'runner-1',
        DRONE_RUNNER_PLATFORM: 'linux/amd64',
        CI_BUILD_STATUS: 'success',
        CI_BUILD_STARTED: '1714564805',
        CI_BUILD_FINISHED: '1714564860',
        CI_PIPELINE_STARTED: '1714564805',
      },
    );
  });

  it('runtimeEnvironment after a failure lists what failed', () => {
    const env = runtimeEnvironment({
      buildStatus: 'failure',
      stageStatus: 'failure',
      buildStartedAt: '2024-05-01T12:00:05Z',
      startedAt: '2024-05-01T12:00:07Z',
      now: '2024-05-01T12:01:00Z',
      runnerHost: 'h',
      runnerName: 'n',
      runnerPlatform: 'linux/amd64',
      failedStages: ['backend'],
      failedSteps: ['test', 'lint'],
    });
    expectVars(env, { DRONE_BUILD_STATUS: 'failure', DRONE_STAGE_STATUS: 'failure', DRONE_FAILED_STAGES: 'backend', DRONE_FAILED_STEPS: 'test,lint', CI_BUILD_STATUS: 'failure' });
  });

  it('no variable is set by two of the functions (each is listed once)', () => {
    const sets = [
      buildEnvironment(context({ event: 'tag', ref: 'refs/tags/v1.0.0' })),
      stageEnvironment({ name: 's', number: 1, type: 'docker', os: 'linux', arch: 'amd64', variant: '', kernel: '', dependsOn: [] }),
      stepEnvironment({ name: 'x', number: 1 }),
      workspaceEnvironment('/drone/src'),
      runtimeEnvironment({ buildStatus: 'failure', stageStatus: 'failure', buildStartedAt: '', startedAt: '', now: '', runnerHost: 'h', runnerName: 'n', runnerPlatform: 'p' }),
    ];
    const seen = new Map<string, number>();
    sets.forEach((env, i) => {
      for (const key of Object.keys(env)) {
        assert.equal(seen.has(key), false, `${key} is set by functions ${seen.get(key)} and ${i}`);
        seen.set(key, i);
      }
    });
  });
});
