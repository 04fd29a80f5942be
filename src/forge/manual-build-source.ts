import type { ConfigSource } from './config-source.ts';
import { hasApi, type FetchLike, type ForgeAccess } from './forge-api.ts';
import { branchHead } from './branch-head.ts';
import { commitSha, isFullSha } from './commit-sha.ts';

/**
 * The commit and config of a manual build (`POST /api/repos/{o}/{n}/builds?branch=&commit=`)
 * that came without a config text: read at `commit` through the repo's config source, or —
 * without a commit — at the branch's head, resolved to a sha first (from the forge's API, or
 * by git itself for a git-only repo) so the build is pinned to one commit.
 *
 * `refused`: nothing is built and the caller is told why (`status` 400 for what the caller
 * can fix, 502 for a forge that did not answer). A config that cannot be read at a commit
 * that exists is not refused: like a hook's, the build is made and ends in `error` naming
 * the file (Drone does the same), so the attempt shows in the build list.
 */
export type ManualSource =
  | { kind: 'found'; commit: string; config: { ok: true; text: string } | { ok: false; message: string } }
  | { kind: 'refused'; status: 400 | 502; message: string };

export async function manualBuildSource(
  source: ConfigSource,
  access: ForgeAccess,
  request: { path: string; branch: string; commit: string },
  fetch?: FetchLike,
): Promise<ManualSource> {
  const ref = `refs/heads/${request.branch}`;
  if (!hasApi(access) && access.cloneUrl === '') {
    return { kind: 'refused', status: 400, message: `config: ${access.slug} has no forge API and no clone URL to read ${request.path} from: set clone_url or forge, or send {"config": "<the .drone.yml text>"}` };
  }
  let commit = request.commit;
  if (commit === '' && hasApi(access)) {
    let head: string | undefined;
    try {
      head = await branchHead(access, request.branch, fetch);
    } catch (error) {
      return { kind: 'refused', status: 502, message: `could not read the head of ${request.branch} from the forge: ${(error as Error).message}; give commit=<sha> to build a known commit` };
    }
    if (!head) return { kind: 'refused', status: 400, message: `branch: ${access.slug} has no branch '${request.branch.slice(0, 200)}' on its forge` };
    commit = head;
  }
  if (commit !== '' && !isFullSha(commit) && hasApi(access)) {
    let full: string | undefined;
    try {
      full = await commitSha(access, commit, fetch);
    } catch (error) {
      return { kind: 'refused', status: 502, message: `could not resolve commit ${commit} through the forge: ${(error as Error).message}; give the full 40-character sha` };
    }
    if (!full) return { kind: 'refused', status: 400, message: `commit: ${access.slug} has no commit '${commit}' on its forge` };
    commit = full;
  }
  const config = await source({ access, path: request.path, commit, ref });
  if (config.ok) return { kind: 'found', commit: config.commit || commit, config };
  if (config.commit) return { kind: 'found', commit: config.commit, config };
  if (isFullSha(commit)) return { kind: 'found', commit, config };
  // Git could not fetch the branch, or found no commit by that abbreviation: there is no commit
  // to pin an error build to.
  if (config.message.startsWith('commit: no commit')) return { kind: 'refused', status: 400, message: config.message };
  const missing = /couldn't find remote ref|not our ref/i.test(config.message);
  return { kind: 'refused', status: missing ? 400 : 502, message: missing ? `branch: no branch '${request.branch.slice(0, 200)}' in ${access.slug}: ${config.message}` : config.message };
}
