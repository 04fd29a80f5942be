import { z } from 'zod';
import { filesOfCommits, payloadOf, shortRef, ZERO_SHA, type HookTriggerInput } from './hook-trigger.ts';
import { PullRequestPayload, pullRequestHook } from './pull-request-hook.ts';

/**
 * Gitea's webhook payloads (https://docs.gitea.com/usage/webhooks; structs in
 * modules/structs/hook.go) as a HookTrigger. Gitea's shapes follow GitHub's, with its own
 * names: `compare_url`, action `synchronized`, a `delete` event for removed branches.
 * A tag arrives twice (`create` and a push to refs/tags/): it builds from the push.
 */
const user = z.object({ login: z.string().default(''), username: z.string().default(''), avatar_url: z.string().default('') }).partial().nullish();
const repository = z.object({ full_name: z.string(), html_url: z.string().default('') });
const commit = z.object({
  id: z.string().default(''),
  message: z.string().default(''),
  url: z.string().default(''),
  author: z.object({ name: z.string().default(''), email: z.string().default(''), username: z.string().default('') }).partial().nullish(),
  added: z.array(z.string()).nullish(),
  modified: z.array(z.string()).nullish(),
  removed: z.array(z.string()).nullish(),
});

const Push = z.object({
  ref: z.string(),
  before: z.string().default(''),
  after: z.string().default(''),
  compare_url: z.string().nullish(),
  commits: z.array(commit).nullish(),
  head_commit: commit.nullish(),
  repository,
  sender: user,
});

const RepoOnly = z.object({ repository: z.object({ full_name: z.string() }).nullish() });

export function parseGiteaHook(event: string, payload: unknown): HookTriggerInput {
  switch (event) {
    case 'push':
      return giteaPush(payloadOf(Push, payload, 'push'));
    case 'pull_request':
      return pullRequestHook('gitea', payloadOf(PullRequestPayload, payload, 'pull_request'), 'opened, synchronized and reopened');
    case 'create':
    case 'delete': {
      const { repository } = payloadOf(RepoOnly, payload, event);
      const reason = event === 'create' ? 'a new branch or tag builds from its push event' : 'a deleted branch or tag does not build';
      return { kind: 'ignore', forge: 'gitea', ...(repository ? { slug: repository.full_name } : {}), reason };
    }
    default:
      return { kind: 'ignore', forge: 'gitea', reason: `Gitea event '${event.slice(0, 60)}' does not build (push, tag and pull_request do)` };
  }
}

function giteaPush(push: z.infer<typeof Push>): HookTriggerInput {
  const slug = push.repository.full_name;
  const isTag = push.ref.startsWith('refs/tags/');
  const name = shortRef(push.ref);
  if (ZERO_SHA.test(push.after) || push.after === '') {
    return { kind: 'ignore', forge: 'gitea', slug, reason: `${isTag ? 'tag' : 'branch'} '${name}' was deleted: no build` };
  }
  const head = push.head_commit ?? push.commits?.[0];
  const commits = push.commits ?? [];
  const sender = push.sender?.login || push.sender?.username || '';
  return {
    kind: 'build',
    forge: 'gitea',
    slug,
    trigger: {
      event: isTag ? 'tag' : 'push',
      ref: push.ref,
      branch: name,
      commit: push.after,
      before: push.before,
      after: push.after,
      message: head?.message ?? '',
      link: push.compare_url || head?.url || '',
      author: { login: head?.author?.username || sender, name: head?.author?.name ?? '', email: head?.author?.email ?? '', avatar: push.sender?.avatar_url ?? '' },
      sender,
      ...(commits.length > 0 ? { changedFiles: filesOfCommits(commits) } : {}),
    },
  };
}
