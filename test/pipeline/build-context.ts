import type { CompileContextInput, TriggerInput } from '../../src/pipeline/trigger.ts';

/**
 * The build every compiler test pretends happened unless it says otherwise: a push to
 * `main` of a trusted repository. Fixed values only, so plans are byte-for-byte stable.
 */
export function buildContext(trigger: Partial<TriggerInput> = {}, repo: { trusted?: boolean } = {}): CompileContextInput {
  return {
    trigger: {
      event: 'push',
      ref: 'refs/heads/main',
      branch: 'main',
      commit: '6f2a1c8e9b3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a',
      before: '1111111111111111111111111111111111111111',
      after: '6f2a1c8e9b3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a',
      message: 'Fix the build',
      author: { login: 'octocat', name: 'The Octocat', email: 'octocat@example.com', avatar: '' },
      sender: 'octocat',
      ...trigger,
    },
    repo: {
      owner: 'octocat',
      name: 'hello-world',
      slug: 'octocat/hello-world',
      cloneUrl: 'https://git.example.com/octocat/hello-world.git',
      link: 'https://git.example.com/octocat/hello-world',
      trusted: repo.trusted ?? true,
    },
    build: { number: 42, createdAt: '2026-03-01T12:00:00.000Z' },
    system: { host: 'ci.example.com', proto: 'https', version: '0.1.0' },
  };
}

/** A tag build of v1.2.3. */
export const tagBuild = { event: 'tag', ref: 'refs/tags/v1.2.3', branch: '' } as const;
/** A pull request from `feature/login` into `main`. */
export const pullRequestBuild = {
  event: 'pull_request',
  action: 'opened',
  ref: 'refs/pull/7/head',
  branch: 'main',
  sourceBranch: 'feature/login',
  targetBranch: 'main',
  pullRequest: 7,
} as const;
