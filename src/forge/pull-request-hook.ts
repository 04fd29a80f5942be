import { z } from 'zod';
import type { Forge, HookTriggerInput } from './hook-trigger.ts';

/**
 * GitHub's `pull_request` payload, which Gitea copies field for field (its users also say
 * `username`): one schema and one mapping for both. Drone's mapping: a pull request builds
 * `refs/pull/<n>/head` on its target branch, its title as the message; `closed` cancels,
 * opened/synchronize/reopened build (actions in Drone's words), anything else is ignored.
 */
const user = z.object({ login: z.string().default(''), username: z.string().default(''), avatar_url: z.string().default('') }).partial().nullish();
const branchRef = z.object({ ref: z.string(), sha: z.string(), repo: z.object({ full_name: z.string() }).nullish() });

export const PullRequestPayload = z.object({
  action: z.string(),
  number: z.number().int().positive(),
  pull_request: z.object({ title: z.string().default(''), html_url: z.string().default(''), user, head: branchRef, base: branchRef }),
  repository: z.object({ full_name: z.string(), html_url: z.string().default('') }),
  sender: user,
});
export type PullRequestPayload = z.infer<typeof PullRequestPayload>;

const PULL_REQUEST_BUILDS: Record<string, 'opened' | 'synchronized' | 'reopened'> = {
  opened: 'opened',
  synchronize: 'synchronized',
  synchronized: 'synchronized',
  reopened: 'reopened',
};

/** `buildingActions`: how the forge's own documentation names the actions that build, for the "does not build" answer. */
export function pullRequestHook(forge: Extract<Forge, 'github' | 'gitea'>, hook: PullRequestPayload, buildingActions: string): HookTriggerInput {
  const slug = hook.repository.full_name;
  const pr = hook.pull_request;
  const ref = `refs/pull/${hook.number}/head`;
  if (hook.action === 'closed') return { kind: 'close', forge, slug, pullRequest: hook.number, ref };
  const action = PULL_REQUEST_BUILDS[hook.action];
  if (!action) {
    return { kind: 'ignore', forge, slug, reason: `pull request action '${hook.action.slice(0, 60)}' does not build (${buildingActions} do)` };
  }
  const headRepo = pr.head.repo?.full_name ?? slug;
  return {
    kind: 'build',
    forge,
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
      author: { login: pr.user?.login || pr.user?.username || '', avatar: pr.user?.avatar_url ?? '' },
      sender: hook.sender?.login || hook.sender?.username || '',
      pullRequest: hook.number,
      fork: headRepo.toLowerCase() === slug.toLowerCase() ? '' : headRepo,
    },
    compare: { base: pr.base.sha, head: pr.head.sha, pullRequest: hook.number },
  };
}
