import { createHash } from 'node:crypto';
import type { RepoEvent, RepoSettings } from './repo-events.ts';

/**
 * A repository's lifecycle: activate, change settings, deactivate (and activate again).
 * Pure, like the build decider: the caller brings the time and the actor.
 */
export type RepoState =
  | { status: 'unknown' }
  | { status: 'active' | 'inactive'; repoId: string; owner: string; name: string; settings: RepoSettings };

export type RepoCommand =
  | { type: 'ActivateRepo'; data: { repoId: string; owner: string; name: string; settings: RepoSettings; by: string; at: string } }
  | { type: 'UpdateRepo'; data: { repoId: string; changes: Partial<RepoSettings>; by: string; at: string } }
  | { type: 'DeactivateRepo'; data: { repoId: string; by: string; at: string } };

/**
 * A repo's id comes from its lower-cased slug, so two concurrent activations of one repo
 * meet on one stream and the second gets a version conflict instead of a twin repo.
 */
export function repoIdFor(slug: string): string {
  const hex = createHash('sha256').update(slug.toLowerCase()).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A command the repo's state does not allow; `status` is what the API answers. */
export class RepoCommandRefused extends Error {
  override readonly name = 'RepoCommandRefused';
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

export const initialRepoState = (): RepoState => ({ status: 'unknown' });

export function evolveRepo(state: RepoState, event: RepoEvent): RepoState {
  switch (event.type) {
    case 'RepoActivated':
      return { status: 'active', ...event.data };
    case 'RepoUpdated':
      return state.status === 'unknown' ? state : { ...state, settings: { ...state.settings, ...event.data.changes } };
    case 'RepoDeactivated':
      return state.status === 'unknown' ? state : { ...state, status: 'inactive' };
    default: {
      const never: never = event;
      return never;
    }
  }
}

export function decideRepo(command: RepoCommand, state: RepoState): RepoEvent[] {
  switch (command.type) {
    case 'ActivateRepo':
      if (state.status === 'active') {
        throw new RepoCommandRefused(409, `${command.data.owner}/${command.data.name} is already active: PATCH it to change its settings`);
      }
      return [{ type: 'RepoActivated', data: command.data }];
    case 'UpdateRepo':
      if (state.status !== 'active') throw new RepoCommandRefused(404, 'repository not active: activate it first (POST /api/repos/{owner}/{name})');
      return [{ type: 'RepoUpdated', data: command.data }];
    case 'DeactivateRepo':
      if (state.status !== 'active') throw new RepoCommandRefused(404, 'repository not active');
      return [{ type: 'RepoDeactivated', data: command.data }];
    default: {
      const never: never = command;
      return never;
    }
  }
}
