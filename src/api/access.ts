import { and, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { accessLevel, allows, type Access } from '../access/repo-access.ts';
import type { Permission } from '../access/user-events.ts';
import type { Executor } from '../events/database.ts';
import { repoPermissions } from '../projections/tables.ts';
import type { Caller } from './auth.ts';
import { slugParts } from './bodies.ts';
import { ApiError } from './errors.ts';
import { findRepo } from './read-views.ts';

/**
 * The route guards. Answers:
 * - 401 when the route needs a token and none came, or nobody asks for a repo that is not
 *   public (as Drone does; a bad token is a 401 in auth.ts);
 * - 404 when the repository does not exist or is inactive, and — as GitHub does — when a
 *   signed-in caller may not read it: the same answer, so a private repository's name does
 *   not leak to users without access;
 * - 403 when the caller may read it but the route needs more (write, admin).
 */
export const unauthorized = () => new ApiError(401, 'this needs a token: send Authorization: Bearer <token>', 'unauthorized');

export async function grantedPermission(db: Executor, repoId: string, caller: Caller): Promise<Permission | undefined> {
  if (caller.kind !== 'user') return undefined;
  const [row] = await db.db
    .select({ permission: repoPermissions.permission })
    .from(repoPermissions)
    .where(and(eq(repoPermissions.repoId, repoId), eq(repoPermissions.login, caller.login)))
    .limit(1);
  return row?.permission as Permission | undefined;
}

export async function callerAccess(db: Executor, caller: Caller, repo: { id: string; visibility: string }): Promise<Access> {
  return accessLevel(caller, repo.visibility, await grantedPermission(db, repo.id, caller));
}

/** Refuses a caller without `need` on a repo whose access is `have` (see the rule above). */
export function checkAccess(caller: Caller, have: Access, need: Permission, slug: string): void {
  if (allows(have, need)) return;
  if (have === 'none') {
    if (caller.kind === 'anonymous') throw unauthorized();
    throw new ApiError(404, `repository ${slug} not found`, 'not_found');
  }
  if (caller.kind === 'anonymous') throw unauthorized();
  throw new ApiError(403, `this needs ${need} permission on ${slug}; you have ${have}`, 'forbidden');
}

/**
 * The active repository named by the route's `owner` and `name`, once the caller is known
 * to have `need` on it. Writes by nobody are refused before the lookup (401).
 */
export async function requireRepo(db: Executor, c: Context<{ Variables: { caller: Caller } }>, need: Permission) {
  const caller = c.get('caller');
  if (need !== 'read' && caller.kind === 'anonymous') throw unauthorized();
  const owner = c.req.param('owner') ?? '';
  const name = c.req.param('name') ?? '';
  slugParts(owner, name);
  const repo = await findRepo(db, owner, name);
  const slug = `${owner}/${name}`;
  if (!repo || !repo.active) {
    throw new ApiError(404, `repository ${slug} not found`, 'not_found');
  }
  checkAccess(caller, await callerAccess(db, caller, repo), need, slug);
  return repo;
}

/** Server-wide routes (users, other users' tokens): a server admin only. */
export function requireServerAdmin(caller: Caller): { login: string } {
  if (caller.kind === 'admin') return caller;
  if (caller.kind === 'anonymous') throw unauthorized();
  throw new ApiError(403, 'this needs a server admin', 'forbidden');
}

/** Any signed-in caller. */
export function requireUser(caller: Caller): { login: string; admin: boolean } {
  if (caller.kind === 'anonymous') throw unauthorized();
  return { login: caller.login, admin: caller.kind === 'admin' };
}
