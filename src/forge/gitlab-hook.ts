import { z } from 'zod';
import { filesOfCommits, payloadOf, shortRef, ZERO_SHA, type HookTriggerInput } from './hook-trigger.ts';

/**
 * GitLab's webhook payloads (https://docs.gitlab.com/user/project/integrations/webhook_events/)
 * as a HookTrigger. `X-Gitlab-Event`: `Push Hook`, `Tag Push Hook`, `Merge Request Hook`.
 * A merge request builds `refs/merge-requests/<iid>/head` when opened, reopened, or updated
 * with new commits (an update that carries `oldrev`); a title edit is an update without
 * one and builds nothing. GitLab lists at most 20 commits in a push (`total_commits_count`
 * says how many there were): past that, the compare API gives the files.
 */
const project = z.object({ path_with_namespace: z.string(), web_url: z.string().default('') });
const commit = z.object({
  id: z.string().default(''),
  message: z.string().default(''),
  title: z.string().default(''),
  url: z.string().default(''),
  author: z.object({ name: z.string().default(''), email: z.string().default('') }).partial().nullish(),
  added: z.array(z.string()).nullish(),
  modified: z.array(z.string()).nullish(),
  removed: z.array(z.string()).nullish(),
});

const Push = z.object({
  object_kind: z.enum(['push', 'tag_push']),
  ref: z.string(),
  before: z.string().default(''),
  after: z.string().default(''),
  checkout_sha: z.string().nullish(),
  user_username: z.string().default(''),
  user_name: z.string().default(''),
  user_email: z.string().nullish(),
  user_avatar: z.string().nullish(),
  project,
  commits: z.array(commit).nullish(),
  total_commits_count: z.number().int().nonnegative().nullish(),
});

const MergeRequest = z.object({
  object_kind: z.literal('merge_request'),
  user: z.object({ username: z.string().default(''), name: z.string().default(''), avatar_url: z.string().nullish() }).partial().nullish(),
  project,
  object_attributes: z.object({
    iid: z.number().int().positive(),
    title: z.string().default(''),
    url: z.string().default(''),
    action: z.string().default(''),
    oldrev: z.string().nullish(),
    source_branch: z.string(),
    target_branch: z.string(),
    source: z.object({ path_with_namespace: z.string() }).nullish(),
    target: z.object({ path_with_namespace: z.string() }).nullish(),
    last_commit: commit,
    diff_refs: z.object({ base_sha: z.string().nullish(), head_sha: z.string().nullish() }).nullish(),
  }),
});

const ProjectOnly = z.object({ project: z.object({ path_with_namespace: z.string() }).nullish() });

const GITLAB_PUSH_COMMITS_LISTED = 20;

export function parseGitlabHook(event: string, payload: unknown): HookTriggerInput {
  switch (event) {
    case 'Push Hook':
    case 'Tag Push Hook':
      return gitlabPush(payloadOf(Push, payload, event));
    case 'Merge Request Hook':
      return gitlabMergeRequest(payloadOf(MergeRequest, payload, event));
    default: {
      const parsed = ProjectOnly.safeParse(payload);
      const slug = parsed.success && parsed.data.project ? { slug: parsed.data.project.path_with_namespace } : {};
      return { kind: 'ignore', forge: 'gitlab', ...slug, reason: `GitLab event '${event.slice(0, 60)}' does not build (Push Hook, Tag Push Hook and Merge Request Hook do)` };
    }
  }
}

function gitlabPush(push: z.infer<typeof Push>): HookTriggerInput {
  const slug = push.project.path_with_namespace;
  const isTag = push.object_kind === 'tag_push' || push.ref.startsWith('refs/tags/');
  const name = shortRef(push.ref);
  const sha = push.checkout_sha || push.after;
  if (ZERO_SHA.test(push.after) || !sha) {
    return { kind: 'ignore', forge: 'gitlab', slug, reason: `${isTag ? 'tag' : 'branch'} '${name}' was deleted: no build` };
  }
  const commits = push.commits ?? [];
  const head = commits.find((c) => c.id === sha) ?? commits.at(-1);
  const listedAll = (push.total_commits_count ?? commits.length) <= commits.length && commits.length < GITLAB_PUSH_COMMITS_LISTED + 1;
  const comparable = push.before !== '' && !ZERO_SHA.test(push.before);
  return {
    kind: 'build',
    forge: 'gitlab',
    slug,
    trigger: {
      event: isTag ? 'tag' : 'push',
      ref: push.ref,
      branch: name,
      commit: sha,
      before: push.before,
      after: sha,
      message: head?.message ?? '',
      link: head?.url || push.project.web_url,
      author: { login: push.user_username, name: head?.author?.name || push.user_name, email: head?.author?.email || push.user_email || '', avatar: push.user_avatar ?? '' },
      sender: push.user_username,
      ...(listedAll && commits.length > 0 ? { changedFiles: filesOfCommits(commits) } : {}),
    },
    ...(!listedAll && comparable ? { compare: { base: push.before, head: sha } } : {}),
  };
}

const MR_ACTIONS: Record<string, 'opened' | 'synchronized' | 'reopened'> = { open: 'opened', reopen: 'reopened', update: 'synchronized' };

function gitlabMergeRequest(hook: z.infer<typeof MergeRequest>): HookTriggerInput {
  const slug = hook.project.path_with_namespace;
  const mr = hook.object_attributes;
  const ref = `refs/merge-requests/${mr.iid}/head`;
  if (mr.action === 'close' || mr.action === 'merge') return { kind: 'close', forge: 'gitlab', slug, pullRequest: mr.iid, ref };
  const action = MR_ACTIONS[mr.action];
  if (!action || (mr.action === 'update' && !mr.oldrev)) {
    const what = mr.action === 'update' ? 'an update without new commits' : `merge request action '${mr.action.slice(0, 60)}'`;
    return { kind: 'ignore', forge: 'gitlab', slug, reason: `${what} does not build (open, reopen and new commits do)` };
  }
  const source = mr.source?.path_with_namespace ?? slug;
  const head = mr.last_commit;
  const base = mr.diff_refs?.base_sha ?? '';
  return {
    kind: 'build',
    forge: 'gitlab',
    slug,
    trigger: {
      event: 'pull_request',
      action,
      ref,
      branch: mr.target_branch,
      sourceBranch: mr.source_branch,
      targetBranch: mr.target_branch,
      commit: head.id,
      before: base,
      after: head.id,
      message: mr.title,
      title: mr.title,
      link: mr.url,
      author: { login: hook.user?.username ?? '', name: hook.user?.name ?? head.author?.name ?? '', email: head.author?.email ?? '', avatar: hook.user?.avatar_url ?? '' },
      sender: hook.user?.username ?? '',
      pullRequest: mr.iid,
      fork: source.toLowerCase() === slug.toLowerCase() ? '' : source,
    },
    ...(base ? { compare: { base, head: head.id, pullRequest: mr.iid } } : {}),
  };
}
