// The views of the streams beside builds and repos: users (with their tokens and repo
// permissions), secrets (sealed values only) and cron jobs.
import { cronEventTypes } from '../cron/cron-events.ts';
import { secretEventTypes } from '../secrets/secret-events.ts';
import { userEventTypes } from '../access/user-events.ts';
import type { AccessEvent, Projection, ProjectedEvent } from './projection.ts';
import { patch, remove, upsert, type RowOp } from './row-ops.ts';

const access = (event: ProjectedEvent): AccessEvent | undefined => ('build' in event ? undefined : (event as AccessEvent));

function reduceUsers(projected: ProjectedEvent): RowOp[] {
  const event = access(projected);
  if (!event) return [];
  switch (event.type) {
    case 'UserCreated': {
      const at = new Date(event.data.at);
      return [upsert('users', { login: event.data.login }, { set: { email: event.data.email, admin: event.data.admin, active: true, created: at, updated: at } })];
    }
    case 'UserUpdated': {
      const { admin, active } = event.data;
      return [patch('users', { login: event.data.login }, { set: { ...(admin !== undefined ? { admin } : {}), ...(active !== undefined ? { active } : {}), updated: new Date(event.data.at) } })];
    }
    case 'UserDeleted':
      return [remove('users', { login: event.data.login })];
    case 'TokenIssued':
      return [upsert('userTokens', { tokenId: event.data.tokenId }, { set: { login: event.data.login, sha256: event.data.sha256, created: new Date(event.data.at) } })];
    case 'TokenRevoked':
      return [remove('userTokens', { tokenId: event.data.tokenId })];
    case 'PermissionGranted':
      return [upsert('repoPermissions', { repoId: event.data.repoId, login: event.data.login }, { set: { permission: event.data.permission, updated: new Date(event.data.at) } })];
    case 'PermissionRevoked':
      return [remove('repoPermissions', { repoId: event.data.repoId, login: event.data.login })];
    default:
      return [];
  }
}

export const usersProjection: Projection = {
  name: 'users',
  tables: ['users', 'userTokens', 'repoPermissions'],
  handles: userEventTypes,
  reduce: reduceUsers,
};

function reduceSecrets(projected: ProjectedEvent): RowOp[] {
  const event = access(projected);
  if (!event) return [];
  const at = new Date(event.data.at);
  switch (event.type) {
    case 'SecretCreated': {
      const { repoId, name, sealed, pullRequest, pullRequestPush } = event.data;
      return [upsert('secrets', { repoId, name }, { set: { sealed, pullRequest, pullRequestPush, created: at, updated: at } })];
    }
    case 'SecretUpdated': {
      const { repoId, name, sealed, pullRequest, pullRequestPush } = event.data;
      const set = { ...(sealed !== undefined ? { sealed } : {}), ...(pullRequest !== undefined ? { pullRequest } : {}), ...(pullRequestPush !== undefined ? { pullRequestPush } : {}) };
      return [patch('secrets', { repoId, name }, { set: { ...set, updated: at } })];
    }
    case 'SecretDeleted':
      return [remove('secrets', { repoId: event.data.repoId, name: event.data.name })];
    default:
      return [];
  }
}

export const secretsProjection: Projection = { name: 'secrets', tables: ['secrets'], handles: secretEventTypes, reduce: reduceSecrets };

function reduceCrons(projected: ProjectedEvent): RowOp[] {
  const event = access(projected);
  if (!event) return [];
  const at = new Date(event.data.at);
  const next = (value: string | null) => (value === null ? null : new Date(value));
  switch (event.type) {
    case 'CronCreated': {
      const { repoId, name, expr, branch, disabled } = event.data;
      return [upsert('crons', { repoId, name }, { set: { expr, branch, disabled, next: next(event.data.next), lastScheduled: null, lastBuildId: null, lastFired: null, created: at, updated: at, version: projected.streamVersion } })];
    }
    case 'CronUpdated': {
      const { repoId, name, expr, branch, disabled } = event.data;
      return [patch('crons', { repoId, name }, { set: { expr, branch, disabled, next: next(event.data.next), updated: at, version: projected.streamVersion } })];
    }
    case 'CronDeleted':
      return [remove('crons', { repoId: event.data.repoId, name: event.data.name })];
    case 'CronFired': {
      const { repoId, name, scheduled, buildId } = event.data;
      return [patch('crons', { repoId, name }, { set: { next: next(event.data.next), lastScheduled: new Date(scheduled), lastBuildId: buildId ?? null, lastFired: at, version: projected.streamVersion } })];
    }
    default:
      return [];
  }
}

export const cronsProjection: Projection = { name: 'crons', tables: ['crons'], handles: cronEventTypes, reduce: reduceCrons };
