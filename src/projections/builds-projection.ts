// The `builds` view: one row per build, its status always the decider's (`build.status`).
import { buildEventTypes } from '../events/build-events.ts';
import type { Projection, ProjectedBuildEvent, ProjectedEvent } from './projection.ts';
import { patch, upsert, type RowOp } from './row-ops.ts';

function reduce(event: ProjectedEvent): RowOp[] {
  if (!('build' in event)) return [];
  const { build } = event;
  const at = new Date(event.data.at);
  const key = { id: build.buildId };
  if (event.type === 'BuildCreated') return [created(event)];
  const set = { status: build.status, updated: at, version: event.streamVersion };
  switch (event.type) {
    // Drone sets `started` when the build's first stage starts; later starts keep it.
    case 'StageStarted':
    case 'StageResumed':
      return [patch('builds', key, { set, setIfNull: { started: at } })];
    case 'BuildFinished':
      return [patch('builds', key, { set: { ...set, finished: at } })];
    default:
      return [patch('builds', key, { set })];
  }
}

function created(event: Extract<ProjectedBuildEvent, { type: 'BuildCreated' }>): RowOp {
  const { data, build } = event;
  const { trigger } = data;
  const at = new Date(data.at);
  return upsert(
    'builds',
    { id: data.buildId },
    {
      set: {
        repoId: data.repoId,
        number: data.number,
        status: build.status,
        error: data.error ?? null,
        event: trigger.event,
        action: trigger.action,
        ref: trigger.ref,
        branch: trigger.branch,
        sourceBranch: trigger.sourceBranch,
        targetBranch: trigger.targetBranch,
        commit: trigger.after || trigger.commit,
        before: trigger.before,
        message: trigger.message,
        title: trigger.title,
        link: trigger.link,
        authorLogin: trigger.author.login,
        authorName: trigger.author.name,
        authorEmail: trigger.author.email,
        authorAvatar: trigger.author.avatar,
        sender: trigger.sender,
        trigger: data.createdBy,
        fork: trigger.fork,
        params: trigger.params,
        cron: trigger.cron,
        deployTo: trigger.deployTo,
        deployId: trigger.deployId ?? null,
        parent: data.parent ?? null,
        configPath: data.config.path,
        created: at,
        started: null,
        finished: null,
        updated: at,
        version: event.streamVersion,
      },
    },
  );
}

export const buildsProjection: Projection = {
  name: 'builds',
  tables: ['builds'],
  handles: new Set(buildEventTypes),
  reduce,
};
