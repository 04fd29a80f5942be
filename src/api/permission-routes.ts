import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { handleUserCommand } from '../access/user-commands.ts';
import { Login, Permission } from '../access/user-events.ts';
import { repoIdFor } from '../events/repo-decider.ts';
import { repoPermissions, users } from '../projections/tables.ts';
import { callerAccess, checkAccess, unauthorized } from './access.ts';
import type { App, AppDeps, Env } from './app.ts';
import { parseBody, slugParts } from './bodies.ts';
import { ApiError, notFound } from './errors.ts';
import { findRepo } from './read-views.ts';
import type { Context } from 'hono';

const PermissionBody = z.object({ permission: Permission }).strict();

/**
 * Who may do what on a repository. Drone copies these from the forge at login; runlog has
 * no forge login yet, so a repo admin (or a server admin) grants them here, one user at a
 * time, and each grant is an event on the user's stream. A PUT names the whole permission
 * (read < write < admin, each including the ones before), so it is idempotent; DELETE takes
 * it away (the user keeps what the repo's visibility gives everyone).
 */
export function registerPermissionRoutes(app: App, deps: AppDeps) {
  const now = () => (deps.now ?? (() => new Date()))().toISOString();

  /** The repo to change grants on: a repo admin's active repo, or — for a server admin — any slug, even one not activated yet. */
  async function repoForGrants(c: Context<Env>) {
    const caller = c.get('caller');
    if (caller.kind === 'anonymous') throw unauthorized();
    const { owner, name } = slugParts(c.req.param('owner') ?? '', c.req.param('name') ?? '');
    const slug = `${owner}/${name}`;
    const repo = await findRepo(deps.database, owner, name);
    if (caller.kind === 'admin') return { repoId: repo?.id ?? repoIdFor(slug), slug: repo?.slug ?? slug, by: caller.login };
    if (!repo || !repo.active) throw notFound(`repository ${slug}`);
    checkAccess(caller, await callerAccess(deps.database, caller, repo), 'admin', slug);
    return { repoId: repo.id, slug: repo.slug, by: caller.login };
  }
  function loginParam(value: string | undefined): string {
    const parsed = Login.safeParse(value);
    if (!parsed.success) throw new ApiError(400, `login: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data.toLowerCase();
  }

  app.get('/api/repos/:owner/:name/permissions', async (c) => {
    const { repoId } = await repoForGrants(c);
    const rows = await deps.database.db.select().from(repoPermissions).where(eq(repoPermissions.repoId, repoId)).orderBy(asc(repoPermissions.login));
    return c.json(rows.map((row) => ({ login: row.login, permission: row.permission, updated: Math.floor(row.updated.getTime() / 1000) })));
  });

  app.put('/api/repos/:owner/:name/permissions/:login', async (c) => {
    const { repoId, slug, by } = await repoForGrants(c);
    const login = loginParam(c.req.param('login'));
    const { permission } = parseBody(PermissionBody, await c.req.text());
    const [user] = await deps.database.db.select({ login: users.login }).from(users).where(eq(users.login, login)).limit(1);
    if (!user) throw notFound(`user ${login}`);
    const handled = await handleUserCommand(deps.store, login, { type: 'GrantPermission', data: { login, repoId, repo: slug, permission, by, at: now() } });
    await deps.waitForProjections(handled.checkpoint);
    return c.json({ login, permission });
  });

  app.delete('/api/repos/:owner/:name/permissions/:login', async (c) => {
    const { repoId, slug, by } = await repoForGrants(c);
    const login = loginParam(c.req.param('login'));
    const handled = await handleUserCommand(deps.store, login, { type: 'RevokePermission', data: { login, repoId, repo: slug, by, at: now() } });
    await deps.waitForProjections(handled.checkpoint);
    return c.body(null, 204);
  });
}

