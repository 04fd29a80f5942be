import type { BuildStatus } from '../events/build-status.ts';
import { describeFailure, forgeRequest, hasApi, repoPath, type FetchLike, type ForgeAccess } from './forge-api.ts';

/**
 * A build's status as a commit status on its forge, with the build's link (Drone's status
 * service): GitHub and Gitea `POST /repos/{o}/{n}/statuses/{sha}`, GitLab
 * `POST /projects/{id}/statuses/{sha}`. The context is `continuous-integration/runlog/<event>`
 * (Drone's `continuous-integration/drone/<event>`), so a push and a pull request of one
 * commit keep separate checks.
 */
export type CommitStatus = {
  access: ForgeAccess;
  sha: string;
  status: BuildStatus;
  event: string;
  number: number;
  link: string;
};

type ForgeState = { github: string; gitea: string; gitlab: string; description: string };

/** Drone's words to each forge's (GitHub has no running or cancelled: pending and error stand in). */
export function forgeState(status: BuildStatus): ForgeState {
  switch (status) {
    case 'pending':
      return { github: 'pending', gitea: 'pending', gitlab: 'pending', description: 'Build is pending' };
    case 'blocked':
      return { github: 'pending', gitea: 'pending', gitlab: 'pending', description: 'Build is waiting for approval' };
    case 'running':
      return { github: 'pending', gitea: 'pending', gitlab: 'running', description: 'Build is running' };
    case 'success':
      return { github: 'success', gitea: 'success', gitlab: 'success', description: 'Build is passing' };
    case 'failure':
      return { github: 'failure', gitea: 'failure', gitlab: 'failed', description: 'Build is failing' };
    case 'killed':
      return { github: 'error', gitea: 'error', gitlab: 'canceled', description: 'Build was killed' };
    case 'declined':
      return { github: 'error', gitea: 'error', gitlab: 'canceled', description: 'Build was declined' };
    case 'error':
      return { github: 'error', gitea: 'error', gitlab: 'failed', description: 'Build errored' };
    default: {
      const never: never = status;
      return never;
    }
  }
}

export const statusContext = (event: string) => `continuous-integration/runlog/${event === 'pull_request' ? 'pr' : event}`;

/** The forge call for one status (pure): the path under the API base and the JSON body; undefined when there is nothing to send (no API, no commit). */
export function commitStatusRequest(status: CommitStatus): { path: string; body: Record<string, string> } | undefined {
  const { access } = status;
  if (!hasApi(access) || status.sha === '') return undefined;
  const state = forgeState(status.status);
  const context = statusContext(status.event);
  const body: Record<string, string> =
    access.forge === 'gitlab'
      ? { state: state.gitlab, target_url: status.link, description: state.description, name: context }
      : { state: access.forge === 'github' ? state.github : state.gitea, target_url: status.link, description: state.description, context };
  return { path: `${repoPath(access)}/statuses/${encodeURIComponent(status.sha)}`, body };
}

/** Sends one status; throws ForgeApiError (or a network error) when the forge did not take it. */
export async function postCommitStatus(status: CommitStatus, fetch?: FetchLike): Promise<void> {
  const { access } = status;
  const request = commitStatusRequest(status);
  if (!request || !hasApi(access)) return;
  const response = await forgeRequest(access, request.path, { method: 'POST', body: request.body, fetch });
  if (!response.ok) throw await describeFailure(response, `commit status for ${access.slug}@${status.sha.slice(0, 10)}`);
  await response.body?.cancel();
}
