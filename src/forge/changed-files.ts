import { z } from 'zod';
import { describeFailure, forgeRequest, hasApi, repoPath, type FetchLike, type ForgeAccess } from './forge-api.ts';

/**
 * The files a push or pull request changed, from the forge's API when the payload did not
 * list them all: GitHub's compare (`base...head`, files renamed count under both names),
 * Gitea's pull request files, GitLab's repository compare. `undefined` when the forge cannot
 * say: `paths` conditions then do not skip anything (better an extra build than a missed one).
 */
export type Comparison = { base: string; head: string; pullRequest?: number };

const GithubCompare = z.object({ files: z.array(z.object({ filename: z.string(), previous_filename: z.string().optional() })).default([]) });
const GiteaFiles = z.array(z.object({ filename: z.string(), previous_filename: z.string().optional() }));
const GitlabCompare = z.object({ diffs: z.array(z.object({ new_path: z.string(), old_path: z.string() })).default([]) });

export async function changedFiles(access: ForgeAccess, comparison: Comparison, fetch?: FetchLike): Promise<string[] | undefined> {
  if (!hasApi(access)) return undefined;
  const { base, head, pullRequest } = comparison;
  try {
    if (access.forge === 'github') {
      const body = await json(access, `${repoPath(access)}/compare/${encodeURIComponent(base)}...${encodeURIComponent(head)}`, fetch);
      return unique(GithubCompare.parse(body).files.flatMap((f) => [f.filename, ...(f.previous_filename ? [f.previous_filename] : [])]));
    }
    if (access.forge === 'gitea') {
      if (pullRequest === undefined) return undefined;
      const body = await json(access, `${repoPath(access)}/pulls/${pullRequest}/files?limit=1000`, fetch);
      return unique(GiteaFiles.parse(body).flatMap((f) => [f.filename, ...(f.previous_filename ? [f.previous_filename] : [])]));
    }
    const body = await json(access, `${repoPath(access)}/repository/compare?from=${encodeURIComponent(base)}&to=${encodeURIComponent(head)}`, fetch);
    return unique(GitlabCompare.parse(body).diffs.flatMap((d) => [d.new_path, d.old_path]));
  } catch {
    return undefined;
  }
}

async function json(access: ForgeAccess & { forge: 'github' | 'gitea' | 'gitlab' }, path: string, fetch?: FetchLike): Promise<unknown> {
  const response = await forgeRequest(access, path, { fetch });
  if (!response.ok) throw await describeFailure(response, path);
  return response.json();
}

const unique = (files: string[]) => [...new Set(files)];
