import { and, asc, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { z } from 'zod';
import type { EventStore } from '../events/event-store.ts';
import { secrets } from '../projections/tables.ts';
import { decideSecrets, evolveSecrets, initialSecretsState, type SecretCommand, type SecretsState } from '../secrets/secret-decider.ts';
import { SecretEvent, SecretName, secretStreamId } from '../secrets/secret-events.ts';
import { seal, secretContext } from '../secrets/sealed-value.ts';
import { handleCommand, type Decider } from '../server/command-handler.ts';
import { requireRepo } from './access.ts';
import type { App, AppDeps, Env } from './app.ts';
import { parseBody } from './bodies.ts';
import { ApiError, notFound } from './errors.ts';

const secretsDecider: Decider<SecretCommand, SecretEvent, SecretsState> = {
  decide: decideSecrets,
  evolve: evolveSecrets,
  initialState: initialSecretsState,
  read: (stored) => SecretEvent.parse({ type: stored.type, data: stored.data }),
};

export const handleSecretCommand = (store: EventStore, repoId: string, command: SecretCommand) =>
  handleCommand(store, secretStreamId(repoId), secretsDecider, command, { actor: command.data.by });

/** At most 64 KiB, like a Drone secret; the value is write-only. */
const Data = z.string().min(1, 'must not be empty').max(64 * 1024);
const CreateBody = z.object({ name: SecretName, data: Data, pull_request: z.boolean().default(false), pull_request_push: z.boolean().default(false) }).strict();
const UpdateBody = z.object({ data: Data, pull_request: z.boolean(), pull_request_push: z.boolean() }).partial().strict();

type SecretRow = typeof secrets.$inferSelect;
/** Drone's secret JSON without `data`: a value goes in, never out. */
const secretJson = (row: SecretRow, slug: string) => ({
  repo: slug,
  name: row.name,
  pull_request: row.pullRequest,
  pull_request_push: row.pullRequestPush,
  created: Math.floor(row.created.getTime() / 1000),
  updated: Math.floor(row.updated.getTime() / 1000),
});

/**
 * Drone's repo secrets: `GET/POST .../secrets`, `GET/PATCH/DELETE .../secrets/{name}`, for
 * the repo's admins. Values are sealed here, before the command, so no event, view, answer
 * or log line ever holds one in clear. Without RUNLOG_SECRET_KEY nothing can be sealed:
 * POST and PATCH answer 503 and say so; listing and deleting still work.
 */
export function registerSecretRoutes(app: App, deps: AppDeps) {
  const now = () => (deps.now ?? (() => new Date()))().toISOString();
  const key = () => {
    if (deps.secretKey) return deps.secretKey;
    throw new ApiError(503, 'secrets are off on this server: set RUNLOG_SECRET_KEY (32 bytes, e.g. `openssl rand -hex 32`) and restart it', 'secrets_disabled');
  };
  async function admin(c: Context<Env>) {
    const repo = await requireRepo(deps.database, c, 'admin');
    return { repo, by: (c.get('caller') as { login: string }).login };
  }
  const find = async (repoId: string, name: string) =>
    (await deps.database.db.select().from(secrets).where(and(eq(secrets.repoId, repoId), eq(secrets.name, name))).limit(1))[0];
  function nameParam(value: string | undefined) {
    const parsed = SecretName.safeParse(value);
    if (!parsed.success) throw new ApiError(400, `name: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data;
  }

  app.get('/api/repos/:owner/:name/secrets', async (c) => {
    const { repo } = await admin(c);
    const rows = await deps.database.db.select().from(secrets).where(eq(secrets.repoId, repo.id)).orderBy(asc(secrets.name));
    return c.json(rows.map((row) => secretJson(row, repo.slug)));
  });
  app.get('/api/repos/:owner/:name/secrets/:secret', async (c) => {
    const { repo } = await admin(c);
    const name = nameParam(c.req.param('secret'));
    const row = await find(repo.id, name);
    if (!row) throw notFound(`secret ${name}`);
    return c.json(secretJson(row, repo.slug));
  });
  app.post('/api/repos/:owner/:name/secrets', async (c) => {
    const { repo, by } = await admin(c);
    const body = parseBody(CreateBody, await c.req.text());
    const sealed = seal(key(), body.data, secretContext(repo.id, body.name));
    const handled = await handleSecretCommand(deps.store, repo.id, {
      type: 'CreateSecret',
      data: { repoId: repo.id, name: body.name, sealed, pullRequest: body.pull_request, pullRequestPush: body.pull_request_push, by, at: now() },
    });
    await deps.waitForProjections(handled.checkpoint);
    return c.json(secretJson((await find(repo.id, body.name))!, repo.slug));
  });
  app.patch('/api/repos/:owner/:name/secrets/:secret', async (c) => {
    const { repo, by } = await admin(c);
    const name = nameParam(c.req.param('secret'));
    const body = parseBody(UpdateBody, await c.req.text());
    const sealed = body.data === undefined ? undefined : seal(key(), body.data, secretContext(repo.id, name));
    const handled = await handleSecretCommand(deps.store, repo.id, {
      type: 'UpdateSecret',
      data: {
        repoId: repo.id,
        name,
        ...(sealed !== undefined ? { sealed } : {}),
        ...(body.pull_request !== undefined ? { pullRequest: body.pull_request } : {}),
        ...(body.pull_request_push !== undefined ? { pullRequestPush: body.pull_request_push } : {}),
        by,
        at: now(),
      },
    });
    await deps.waitForProjections(handled.checkpoint);
    return c.json(secretJson((await find(repo.id, name))!, repo.slug));
  });
  app.delete('/api/repos/:owner/:name/secrets/:secret', async (c) => {
    const { repo, by } = await admin(c);
    const name = nameParam(c.req.param('secret'));
    const handled = await handleSecretCommand(deps.store, repo.id, { type: 'DeleteSecret', data: { repoId: repo.id, name, by, at: now() } });
    await deps.waitForProjections(handled.checkpoint);
    return c.body(null, 204);
  });
}
