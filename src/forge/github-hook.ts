import { z } from 'zod';
import type { TriggerInput } from '../pipeline/trigger.ts';
import { filesOfCommits, payloadOf, shortRef, ZERO_SHA, type HookTriggerInput } from './hook-trigger.ts';

/**
 * GitHub's webhook payloads (https://docs.github.com/webhooks/webhook-events-and-payloads)
 * as a HookTrigger. Drone's mapping (drone/service/hook/parser): a push to a branch is
 * `push`, to refs/tags/ `tag`; a pull request builds `refs/pull/<n>/head` on its target
 * branch, its title as the message. Actions are Drone's words (`synchronized`).
 */
const user = z.object({ login: z.string().default(''), avatar_url: z.string().default('') }).partial().nullish();
const repository = z.object({ full_name: z.string(), html_url: z.string().default('') });
const gitAuthor = z.object({ name: z.string().default(''), email: z.string().default(''), username: z.string().default('') }).partial().nullish();
const commit = z.object({
  id: z.string().default(''),
  message: z.string().default(''),
  url: z.string().default(''),
  author: gitAuthor,
  added: z.array(z.string()).nullish(),
  modified: z.array(z.string()).nullish(),
  removed: z.array(z.string()).nullish(),
});

const Push = z.object({
  ref: z.string(),
  before: z.string().default(''),
  after: z.string().default(''),
  deleted: z.boolean().default(false),
  compare: z.string().nullish(),
  commits: z.array(commit).nullish(),
  head_commit: commit.nullish(),
  repository,
  sender: user,
});

const branchRef = z.object({ ref: z.string(), sha: z.string(), repo: z.object({ full_name: z.string() }).nullish() });
const PullRequest = z.object({
  action: z.string(),
  number: z.number().int().positive(),
  pull_request: z.object({
    title: z.string().default(''),
    html_url: z.string().default(''),
    user,
    head: branchRef,
    base: branchRef,
  }),
  repository,
  sender: user,
});

const Ping = z.object({ repository: z.object({ full_name: z.string() }).nullish() });

/** GitHub lists at most 20 commits in a push; past that the compare API gives the files. */
const GITHUB_PUSH_COMMITS_LISTED = 20;

export function parseGithubHook(event: string, payload: unknown): HookTriggerInput {
  switch (event) {
    case 'ping': {
      const ping = payloadOf(Ping, payload, 'ping');
      return { kind: 'ping', forge: 'github', ...(ping.repository ? { slug: ping.repository.full_name } : {}) };
    }
    case 'push':
      return githubPush(payloadOf(Push, payload, 'push'));
    case 'pull_request':
      return githubPullRequest(payloadOf(PullRequest, payload, 'pull_request'));
    default:
      return { kind: 'ignore', forge: 'github', reason: `GitHub event '${event.slice(0, 60)}' does not build (push, tag and pull_request do)` };
  }
}

function githubPush(push: z.infer<typeof Push>): HookTriggerInput {
  const slug = push.repository.full_name;
  const isTag = push.ref.startsWith('refs/tags/');
  const name = shortRef(push.ref);
  if (push.deleted || ZERO_SHA.test(push.after)) {
    return { kind: 'ignore', forge: 'github', slug, reason: `${isTag ? 'tag' : 'branch'} '${name}' was deleted: no build` };
  }
  const head = push.head_commit;
  const commits = push.commits ?? [];
  const listedAll = commits.length < GITHUB_PUSH_COMMITS_LISTED;
  const trigger: TriggerInput = {
    event: isTag ? 'tag' : 'push',
    ref: push.ref,
    branch: name,
    commit: push.after,
    before: push.before,
    after: push.after,
    message: head?.message ?? '',
    link: push.compare ?? head?.url ?? '',
    author: {
      login: head?.author?.username || push.sender?.login || '',
      name: head?.author?.name ?? '',
      email: head?.author?.email ?? '',
      avatar: push.sender?.avatar_url ?? '',
    },
    sender: push.sender?.login ?? '',
    // A new branch or tag lists no commits of its own: leave the files unknown rather than say "none changed".
    ...(listedAll && commits.length > 0 ? { changedFiles: filesOfCommits(commits) } : {}),
  };
  const comparable = !ZERO_SHA.test(push.before) && push.before !== '';
  return {
    kind: 'build',
    forge: 'github',
    slug,
    trigger,
    ...(!listedAll && comparable ? { compare: { base: push.before, head: push.after } } : {}),
  };
}

export const PULL_REQUEST_BUILDS: Record<string, 'opened' | 'synchronized' | 'reopened'> = {
  opened: 'opened',
  synchronize: 'synchronized',
  synchronized: 'synchronized',
  reopened: 'reopened',
};

function githubPullRequest(hook: z.infer<typeof PullRequest>): HookTriggerInput {
  const slug = hook.repository.full_name;
  const pr = hook.pull_request;
  const ref = `refs/pull/${hook.number}/head`;
  if (hook.action === 'closed') return { kind: 'close', forge: 'github', slug, pullRequest: hook.number, ref };
  const action = PULL_REQUEST_BUILDS[hook.action];
  if (!action) {
    return { kind: 'ignore', forge: 'github', slug, reason: `pull request action '${hook.action.slice(0, 60)}' does not build (opened, synchronize and reopened do)` };
  }
  const headRepo = pr.head.repo?.full_name ?? slug;
  return {
    kind: 'build',
    forge: 'github',
    slug,
    trigger: {
      event: 'pull_request',
      action,
      ref,
      branch: pr.base.ref,
      sourceBranch: pr.head.ref,
      targetBranch: pr.base.ref,
      commit: pr.head.sha,
      before: pr.base.sha,
      after: pr.head.sha,
      message: pr.title,
      title: pr.title,
      link: pr.html_url,
      author: { login: pr.user?.login ?? '', avatar: pr.user?.avatar_url ?? '' },
      sender: hook.sender?.login ?? '',
      pullRequest: hook.number,
      fork: headRepo.toLowerCase() === slug.toLowerCase() ? '' : headRepo,
    },
    compare: { base: pr.base.sha, head: pr.head.sha, pullRequest: hook.number },
  };
}
