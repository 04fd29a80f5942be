import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { issueToken } from '../access/api-token.ts';
import { handleUserCommand } from '../access/user-commands.ts';
import { Login } from '../access/user-events.ts';
import { users } from '../projections/tables.ts';
import { requireServerAdmin, requireUser } from './access.ts';
import type { App, AppDeps } from './app.ts';
import { parseBody } from './bodies.ts';
import { ApiError, notFound } from './errors.ts';

type UserRow = typeof users.$inferSelect;
const unix = (date: Date) => Math.floor(date.getTime() / 1000);

/** Drone's user JSON (`drone/core.User`), without the forge fields runlog has no use for. */
export const userJson = (user: UserRow) => ({
  login: user.login,
  email: user.email,
  machine: false,
  admin: user.admin,
  active: user.active,
  avatar: '',
  created: unix(user.created),
  updated: unix(user.updated),
});

const CreateUserBody = z.object({ login: Login, email: z.string().max(255).default(''), admin: z.boolean().default(false) }).strict();
const UpdateUserBody = z.object({ admin: z.boolean(), active: z.boolean() }).partial().strict();

/**
 * Users and their tokens, as Drone's `/api/user` and `/api/users`. Users are created by a
 * server admin (runlog has no forge login yet); creating one answers its first token, once —
 * only its sha256 is kept. Each user has one live token: issuing another revokes it
 * (Drone's rotate). The admin token (RUNLOG_ADMIN_TOKEN) belongs to no user.
 */
export function registerUserRoutes(app: App, deps: AppDeps) {
  const now = () => (deps.now ?? (() => new Date()))().toISOString();

  async function findUser(login: string) {
    const [row] = await deps.database.db.select().from(users).where(eq(users.login, login.toLowerCase())).limit(1);
    return row;
  }
  async function existingUser(login: string) {
    const row = await findUser(login);
    if (!row) throw notFound(`user ${login}`);
    return row;
  }
  function loginParam(value: string | undefined): string {
    const parsed = Login.safeParse(value);
    if (!parsed.success) throw new ApiError(400, `login: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data.toLowerCase();
  }
  /** Issues (rotates) a user's token; the clear token is in this answer only. */
  async function rotate(login: string, by: string) {
    const issued = issueToken();
    const handled = await handleUserCommand(deps.store, login, { type: 'IssueToken', data: { login, tokenId: issued.tokenId, sha256: issued.sha256, by, at: now() } });
    await deps.waitForProjections(handled.checkpoint);
    return { ...userJson(await existingUser(login)), token: issued.token, token_id: issued.tokenId };
  }
  async function revoke(login: string, by: string) {
    const handled = await handleUserCommand(deps.store, login, { type: 'RevokeTokens', data: { login, by, at: now() } });
    await deps.waitForProjections(handled.checkpoint);
  }
  /** The caller's own user; the admin token has none. */
  async function ownLogin(caller: ReturnType<typeof requireUser>) {
    const row = await findUser(caller.login);
    if (!row) throw new ApiError(400, 'the admin token belongs to no user: create one (POST /api/users) and use its token', 'no_user');
    return row.login;
  }

  app.get('/api/user', async (c) => {
    const caller = requireUser(c.get('caller'));
    const row = await findUser(caller.login);
    if (row) return c.json(userJson(row));
    return c.json({ login: caller.login, email: '', machine: true, admin: true, active: true, avatar: '', created: 0, updated: 0 });
  });
  app.post('/api/user/token', async (c) => {
    const caller = requireUser(c.get('caller'));
    const login = await ownLogin(caller);
    return c.json(await rotate(login, caller.login));
  });
  app.delete('/api/user/token', async (c) => {
    const caller = requireUser(c.get('caller'));
    await revoke(await ownLogin(caller), caller.login);
    return c.body(null, 204);
  });

  app.get('/api/users', async (c) => {
    requireServerAdmin(c.get('caller'));
    const rows = await deps.database.db.select().from(users).orderBy(asc(users.login));
    return c.json(rows.map(userJson));
  });
  app.post('/api/users', async (c) => {
    const { login: by } = requireServerAdmin(c.get('caller'));
    const body = parseBody(CreateUserBody, await c.req.text());
    const login = body.login.toLowerCase();
    const issued = issueToken();
    const at = now();
    await handleUserCommand(deps.store, login, { type: 'CreateUser', data: { login, email: body.email, admin: body.admin, by, at } });
    const handled = await handleUserCommand(deps.store, login, { type: 'IssueToken', data: { login, tokenId: issued.tokenId, sha256: issued.sha256, by, at } });
    await deps.waitForProjections(handled.checkpoint);
    return c.json({ ...userJson(await existingUser(login)), token: issued.token, token_id: issued.tokenId }, 200);
  });
  app.get('/api/users/:login', async (c) => {
    requireServerAdmin(c.get('caller'));
    return c.json(userJson(await existingUser(loginParam(c.req.param('login')))));
  });
  app.patch('/api/users/:login', async (c) => {
    const { login: by } = requireServerAdmin(c.get('caller'));
    const login = loginParam(c.req.param('login'));
    const body = parseBody(UpdateUserBody, await c.req.text());
    const handled = await handleUserCommand(deps.store, login, { type: 'UpdateUser', data: { login, ...body, by, at: now() } });
    await deps.waitForProjections(handled.checkpoint);
    return c.json(userJson(await existingUser(login)));
  });
  app.delete('/api/users/:login', async (c) => {
    const { login: by } = requireServerAdmin(c.get('caller'));
    const login = loginParam(c.req.param('login'));
    const handled = await handleUserCommand(deps.store, login, { type: 'DeleteUser', data: { login, by, at: now() } });
    await deps.waitForProjections(handled.checkpoint);
    return c.body(null, 204);
  });
  app.post('/api/users/:login/token', async (c) => {
    const { login: by } = requireServerAdmin(c.get('caller'));
    const login = loginParam(c.req.param('login'));
    await existingUser(login);
    return c.json(await rotate(login, by));
  });
  app.delete('/api/users/:login/token', async (c) => {
    const { login: by } = requireServerAdmin(c.get('caller'));
    const login = loginParam(c.req.param('login'));
    await revoke(login, by);
    return c.body(null, 204);
  });
}
