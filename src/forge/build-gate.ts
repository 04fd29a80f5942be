import type { BlockReason } from '../events/build-events.ts';
import type { Trigger } from '../pipeline/trigger.ts';

/**
 * Whether a hook's build must wait for a human before it runs (it starts `blocked`; an
 * admin approves or declines it):
 * - `fork`: a pull request from a fork runs someone else's code with this repo's
 *   runners — Woodpecker's default approval mode ("forks") does the same;
 * - `protected`: in a protected repo, a change to the config file itself (Drone blocks a
 *   protected repo's unsigned or changed config). When the changed files are unknown the
 *   config may have changed, so the build waits too.
 */
export function blockReasonFor(trigger: Trigger, repo: { protected: boolean; configPath: string }): BlockReason | undefined {
  if (trigger.fork !== '') return 'fork';
  if (repo.protected && (trigger.changedFiles === undefined || trigger.changedFiles.includes(repo.configPath))) return 'protected';
  return undefined;
}
