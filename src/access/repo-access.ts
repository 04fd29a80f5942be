import type { Permission } from './user-events.ts';

/**
 * What a caller may do with a repository — pure, so every route answers by one rule:
 * - a server admin (the admin token, or a user with `admin`) may do anything;
 * - a user has what an admin granted on the repo (read, write or admin), and at least read
 *   on public and internal repos (internal: every signed-in user, as in Drone);
 * - nobody (no token) may read public repos, nothing else.
 */
export type Access = 'none' | Permission;

const rank: Record<Access, number> = { none: 0, read: 1, write: 2, admin: 3 };

export type AccessCaller = { kind: 'admin' } | { kind: 'user' } | { kind: 'anonymous' };

export function accessLevel(caller: AccessCaller, visibility: string, granted: Permission | undefined): Access {
  if (caller.kind === 'admin') return 'admin';
  const byVisibility: Access = visibility === 'public' || (visibility === 'internal' && caller.kind === 'user') ? 'read' : 'none';
  if (caller.kind === 'anonymous' || granted === undefined) return byVisibility;
  return rank[granted] >= rank[byVisibility] ? granted : byVisibility;
}

export const allows = (have: Access, need: Permission): boolean => rank[have] >= rank[need];
