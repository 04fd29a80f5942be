import { z } from 'zod';
import { describeFailure, forgeRequest, repoPath, type FetchLike, type ForgeAccess } from './forge-api.ts';
import type { Forge } from './hook-trigger.ts';

/** A full commit id: 40 hex (sha1) or 64 hex (sha256 repos). Anything shorter is an abbreviation. */
export const isFullSha = (commit: string) => /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit);

/**
 * The full sha of an abbreviated one (`a1b2c3d`, as typed from `git log --oneline`), from the
 * forge's commits API (GitHub `GET /repos/{o}/{n}/commits/{ref}` → `sha`, Gitea
 * `GET /repos/{o}/{n}/git/commits/{sha}` → `sha`, GitLab
 * `GET /projects/{id}/repository/commits/{sha}` → `id`): a build, its commit status and its
 * links must name the commit itself, as Drone's do.
 * Undefined when the forge knows no such commit; throws ForgeApiError (or a network error) otherwise.
 */
export async function commitSha(access: ForgeAccess & { forge: Forge }, short: string, fetch?: FetchLike): Promise<string | undefined> {
  const ref = encodeURIComponent(short);
  const path =
    access.forge === 'github'
      ? `${repoPath(access)}/commits/${ref}`
      : access.forge === 'gitea'
        ? `${repoPath(access)}/git/commits/${ref}`
        : `${repoPath(access)}/repository/commits/${ref}`;
  const response = await forgeRequest(access, path, { fetch });
  // GitHub answers 422 for a ref it cannot resolve (an ambiguous or unknown abbreviation).
  if (response.status === 404 || response.status === 422) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) throw await describeFailure(response, `commit ${short}`);
  const body: unknown = await response.json();
  const parsed = access.forge === 'gitlab' ? GitlabCommit.safeParse(body) : CommitWithSha.safeParse(body);
  if (!parsed.success) throw new Error(`commit ${short}: the forge's answer names no full commit sha`);
  return 'sha' in parsed.data ? parsed.data.sha : parsed.data.id;
}

const SHA = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/);
const CommitWithSha = z.object({ sha: SHA });
const GitlabCommit = z.object({ id: SHA });
