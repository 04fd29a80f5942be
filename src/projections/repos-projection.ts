// The `repos` view: one row per repository ever activated, from its `repo-<id>` stream.
import { repoEventTypes } from '../events/repo-events.ts';
import type { RepoEvent, RepoSettings } from '../events/repo-events.ts';
import type { Projection, ProjectedEvent } from './projection.ts';
import { patch, upsert, type RowOp } from './row-ops.ts';

const isRepoEvent = (event: ProjectedEvent): event is Extract<ProjectedEvent, RepoEvent> => !('build' in event) && (repoEventTypes as ReadonlySet<string>).has(event.type);

function reduce(event: ProjectedEvent): RowOp[] {
  if (!isRepoEvent(event)) return [];
  const at = new Date(event.data.at);
  const key = { id: event.data.repoId };
  switch (event.type) {
    case 'RepoActivated': {
      const { owner, name, settings } = event.data;
      // Activating again (after a deactivation) keeps the row's first `created`.
      return [
        upsert('repos', key, {
          set: { owner, name, slug: `${owner}/${name}`, ...settings, active: true, updated: at, version: event.streamVersion },
          setIfNull: { created: at },
        }),
      ];
    }
    case 'RepoUpdated':
      return [patch('repos', key, { set: { ...settingsOnly(event.data.changes), updated: at, version: event.streamVersion } })];
    case 'RepoDeactivated':
      return [patch('repos', key, { set: { active: false, updated: at, version: event.streamVersion } })];
    default:
      return [];
  }
}

/** The changed settings, and nothing else a stored event might carry. */
function settingsOnly(changes: Partial<RepoSettings>): Partial<RepoSettings> {
  const out: Partial<RepoSettings> = {};
  for (const key of settingKeys) if (changes[key] !== undefined) (out as Record<string, unknown>)[key] = changes[key];
  return out;
}

const settingKeys: ReadonlyArray<keyof RepoSettings> = [
  'cloneUrl',
  'defaultBranch',
  'configPath',
  'timeout',
  'trusted',
  'protected',
  'visibility',
  'autoCancelPushes',
  'autoCancelPullRequests',
  'forge',
  'forgeUrl',
  'forgeToken',
  'webhookSecret',
  'registry',
  'notifyEmail',
  'notifyOn',
  'notifyWebhook',
  'notifyWebhookSecret',
];

export const reposProjection: Projection = {
  name: 'repos',
  tables: ['repos'],
  handles: repoEventTypes,
  reduce,
};
