import { z } from 'zod';
import { describeFailure, forgeRequest, repoPath, type FetchLike, type ForgeAccess } from './forge-api.ts';
import type { Forge } from './hook-trigger.ts';

/**
 * The commit a branch points at now, from the forge's API (GitHub `GET /repos/{o}/{n}/commits/{branch}`,
 * Gitea `GET /repos/{o}/{n}/branches/{branch}`, GitLab `GET /projects/{id}/repository/branches/{branch}`):
 * a manual build without `commit` is pinned to that sha, so its config, its clone and its commit
 * status all name the same commit even if the branch moves meanwhile.
 * Undefined when the forge has no such branch; throws ForgeApiError (or a network error) otherwise.
 */
export async function branchHead(access: ForgeAccess & { forge: Forge }, branch: string, fetch?: FetchLike): Promise<string | undefined> {
  const name = encodeURIComponent(branch);
  const path =
    access.forge === 'github'
      ? `${repoPath(access)}/commits/${name}`
      : access.forge === 'gitea'
        ? `${repoPath(access)}/branches/${name}`
        : `${repoPath(access)}/repository/branches/${name}`;
  const response = await forgeRequest(access, path, { fetch });
  if (response.status === 404 || response.status === 422) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) throw await describeFailure(response, `the head of ${branch}`);
  const body: unknown = await response.json();
  const parsed = access.forge === 'github' ? GithubCommit.safeParse(body) : BranchWithCommit.safeParse(body);
  if (!parsed.success) throw new Error(`the head of ${branch}: the forge's answer names no commit sha`);
  return 'sha' in parsed.data ? parsed.data.sha : parsed.data.commit.id;
}

const SHA = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/);
const GithubCommit = z.object({ sha: SHA });
/** Gitea and GitLab both answer a branch with its commit's `id`. */
const BranchWithCommit = z.object({ commit: z.object({ id: SHA }) });
