import { and, asc, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { z } from 'zod';
import { CronName } from '../cron/cron-events.ts';
import { handleCronCommand } from '../cron/cron-scheduler.ts';
import { crons } from '../projections/tables.ts';
import { requireRepo } from './access.ts';
import type { App, AppDeps, Env } from './app.ts';
import { parseBody } from './bodies.ts';
import { ApiError, notFound } from './errors.ts';

const Branch = z.string().min(1).max(255);
const CreateBody = z.object({ name: CronName, expr: z.string().min(1).max(200), branch: Branch.optional(), disabled: z.boolean().default(false) }).strict();
const UpdateBody = z.object({ expr: z.string().min(1).max(200), branch: Branch, disabled: z.boolean() }).partial().strict();

type CronRow = typeof crons.$inferSelect;
const unix = (date: Date | null) => (date ? Math.floor(date.getTime() / 1000) : 0);
/** Drone's cron JSON (`drone/core.Cron`): `next`/`prev` in UNIX seconds (0: never). */
const cronJson = (row: CronRow) => ({
  repo_id: row.repoId,
  name: row.name,
  expr: row.expr,
  branch: row.branch,
  disabled: row.disabled,
  next: unix(row.next),
  prev: unix(row.lastScheduled),
  created: unix(row.created),
  updated: unix(row.updated),
});

/** Drone's cron paths: `GET/POST .../cron`, `GET/PATCH/DELETE .../cron/{name}`, for the repo's admins. */
export function registerCronRoutes(app: App, deps: AppDeps) {
  const now = () => (deps.now ?? (() => new Date()))().toISOString();
  async function admin(c: Context<Env>) {
    const repo = await requireRepo(deps.database, c, 'admin');
    return { repo, by: (c.get('caller') as { login: string }).login };
  }
  const find = async (repoId: string, name: string) => (await deps.database.db.select().from(crons).where(and(eq(crons.repoId, repoId), eq(crons.name, name))).limit(1))[0];
  function nameParam(value: string | undefined) {
    const parsed = CronName.safeParse(value);
    if (!parsed.success) throw new ApiError(400, `name: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data;
  }

  app.get('/api/repos/:owner/:name/cron', async (c) => {
    const { repo } = await admin(c);
    return c.json((await deps.database.db.select().from(crons).where(eq(crons.repoId, repo.id)).orderBy(asc(crons.name))).map(cronJson));
  });
  app.get('/api/repos/:owner/:name/cron/:cron', async (c) => {
    const { repo } = await admin(c);
    const name = nameParam(c.req.param('cron'));
    const row = await find(repo.id, name);
    if (!row) throw notFound(`cron job ${name}`);
    return c.json(cronJson(row));
  });
  app.post('/api/repos/:owner/:name/cron', async (c) => {
    const { repo, by } = await admin(c);
    const body = parseBody(CreateBody, await c.req.text());
    const handled = await handleCronCommand(deps.store, repo.id, {
      type: 'CreateCron',
      data: { repoId: repo.id, name: body.name, expr: body.expr, branch: body.branch ?? repo.defaultBranch, disabled: body.disabled, by, at: now() },
    });
    await deps.waitForProjections(handled.checkpoint);
    return c.json(cronJson((await find(repo.id, body.name))!));
  });
  app.patch('/api/repos/:owner/:name/cron/:cron', async (c) => {
    const { repo, by } = await admin(c);
    const name = nameParam(c.req.param('cron'));
    const body = parseBody(UpdateBody, await c.req.text());
    const handled = await handleCronCommand(deps.store, repo.id, { type: 'UpdateCron', data: { repoId: repo.id, name, ...body, by, at: now() } });
    await deps.waitForProjections(handled.checkpoint);
    return c.json(cronJson((await find(repo.id, name))!));
  });
  app.delete('/api/repos/:owner/:name/cron/:cron', async (c) => {
    const { repo, by } = await admin(c);
    const name = nameParam(c.req.param('cron'));
    const handled = await handleCronCommand(deps.store, repo.id, { type: 'DeleteCron', data: { repoId: repo.id, name, by, at: now() } });
    await deps.waitForProjections(handled.checkpoint);
    return c.body(null, 204);
  });
}
