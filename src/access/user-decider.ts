import type { Permission, UserEvent } from './user-events.ts';

/**
 * A user's lifecycle, pure like the build decider: the caller brings the time, the actor
 * and the token's digest. Each user holds at most one live token, as in Drone: issuing one
 * revokes the last (that is Drone's "rotate"), so a lost token is replaced, never added to.
 */
export type UserState =
  | { status: 'unknown' | 'deleted' }
  | { status: 'active'; login: string; admin: boolean; active: boolean; tokens: string[]; permissions: Record<string, { repo: string; permission: Permission }> };

type Stamp = { by: string; at: string };
export type UserCommand =
  | { type: 'CreateUser'; data: { login: string; admin: boolean; email: string } & Stamp }
  | { type: 'UpdateUser'; data: { login: string; admin?: boolean; active?: boolean } & Stamp }
  | { type: 'DeleteUser'; data: { login: string } & Stamp }
  | { type: 'IssueToken'; data: { login: string; tokenId: string; sha256: string } & Stamp }
  | { type: 'RevokeTokens'; data: { login: string } & Stamp }
  | { type: 'GrantPermission'; data: { login: string; repoId: string; repo: string; permission: Permission } & Stamp }
  | { type: 'RevokePermission'; data: { login: string; repoId: string; repo: string } & Stamp };

/** A command the user's state does not allow; `status` is what the API answers. */
export class UserCommandRefused extends Error {
  override readonly name = 'UserCommandRefused';
  constructor(
    readonly status: 404 | 409,
    message: string,
    readonly code = status === 404 ? 'not_found' : 'conflict',
  ) {
    super(message);
  }
}

export const initialUserState = (): UserState => ({ status: 'unknown' });

export function evolveUser(state: UserState, event: UserEvent): UserState {
  if (event.type === 'UserCreated') {
    return { status: 'active', login: event.data.login, admin: event.data.admin, active: true, tokens: [], permissions: {} };
  }
  if (state.status !== 'active') return state;
  switch (event.type) {
    case 'UserUpdated':
      return { ...state, admin: event.data.admin ?? state.admin, active: event.data.active ?? state.active };
    case 'UserDeleted':
      return { status: 'deleted' };
    case 'TokenIssued':
      return { ...state, tokens: [...state.tokens, event.data.tokenId] };
    case 'TokenRevoked':
      return { ...state, tokens: state.tokens.filter((id) => id !== event.data.tokenId) };
    case 'PermissionGranted':
      return { ...state, permissions: { ...state.permissions, [event.data.repoId]: { repo: event.data.repo, permission: event.data.permission } } };
    case 'PermissionRevoked': {
      const { [event.data.repoId]: _gone, ...rest } = state.permissions;
      return { ...state, permissions: rest };
    }
    default: {
      const never: never = event;
      return never;
    }
  }
}

export function decideUser(command: UserCommand, state: UserState): UserEvent[] {
  const { by, at, login } = command.data;
  if (command.type === 'CreateUser') {
    if (state.status === 'active') throw new UserCommandRefused(409, `user ${login} already exists: PATCH /api/users/${login} to change it`);
    return [{ type: 'UserCreated', data: command.data }];
  }
  if (state.status !== 'active') throw new UserCommandRefused(404, `user ${login} not found`);
  const revokeAll = (): UserEvent[] => state.tokens.map((tokenId) => ({ type: 'TokenRevoked', data: { login, tokenId, by, at } }));
  switch (command.type) {
    case 'UpdateUser': {
      const changes = { ...(command.data.admin !== undefined && command.data.admin !== state.admin ? { admin: command.data.admin } : {}), ...(command.data.active !== undefined && command.data.active !== state.active ? { active: command.data.active } : {}) };
      return Object.keys(changes).length === 0 ? [] : [{ type: 'UserUpdated', data: { login, ...changes, by, at } }];
    }
    case 'DeleteUser':
      return [
        ...revokeAll(),
        ...Object.entries(state.permissions).map(([repoId, grant]): UserEvent => ({ type: 'PermissionRevoked', data: { login, repoId, repo: grant.repo, by, at } })),
        { type: 'UserDeleted', data: { login, by, at } },
      ];
    case 'IssueToken':
      return [...revokeAll(), { type: 'TokenIssued', data: command.data }];
    case 'RevokeTokens':
      return revokeAll();
    case 'GrantPermission':
      if (state.permissions[command.data.repoId]?.permission === command.data.permission) return [];
      return [{ type: 'PermissionGranted', data: command.data }];
    case 'RevokePermission':
      if (!state.permissions[command.data.repoId]) return [];
      return [{ type: 'PermissionRevoked', data: command.data }];
    default: {
      const never: never = command;
      return never;
    }
  }
}
