import { z } from 'zod';
import type { TriggerInput } from '../pipeline/trigger.ts';
import { filesOfCommits, payloadOf, shortRef, ZERO_SHA, type HookTriggerInput } from './hook-trigger.ts';
import { PullRequestPayload, pullRequestHook } from './pull-request-hook.ts';

/**
 * GitHub's webhook payloads (https://docs.github.com/webhooks/webhook-events-and-payloads)
 * as a HookTrigger. Drone's mapping (drone/service/hook/parser): a push to a branch is
 * `push`, to refs/tags/ `tag`; pull requests are mapped in pull-request-hook.ts.
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
      return pullRequestHook('github', payloadOf(PullRequestPayload, payload, 'pull_request'), 'opened, synchronize and reopened');
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
