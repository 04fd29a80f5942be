import { createHookIntake } from '../forge/hook-intake.ts';
import { newWebhookSecret, sealRepoSecret } from '../forge/repo-secrets.ts';
import { handleRepoCommand } from '../server/command-handler.ts';
import { requireRepo } from './access.ts';
import type { App, ResolvedDeps } from './app.ts';
import { repoJson } from './drone-json.ts';
import { ApiError, notFound } from './errors.ts';
import { findRepo, repoCounter } from './read-views.ts';

/** GitHub caps a delivery at 25 MB; a push that large is a mistake, not a build. */
const MAX_HOOK_BYTES = 10 * 1024 * 1024;

/** `POST /hook` (forges' webhooks, src/forge/hook-intake.ts) and `POST /api/repos/{o}/{n}/repair` (a new webhook secret). */
export function registerHookRoutes(app: App, deps: ResolvedDeps) {
  const intake = createHookIntake({
    database: deps.database,
    store: deps.store,
    secretKey: deps.repoSecretKey,
    waitForProjections: deps.waitForProjections,
    get system() {
      return deps.system;
    },
    configSource: deps.configSource,
    ...(deps.forgeFetch ? { fetch: deps.forgeFetch } : {}),
    now: deps.now ?? (() => new Date()),
    log: deps.log ?? ((message) => console.error(message)),
    ...(deps.onCancelRequested ? { onCancelRequested: deps.onCancelRequested } : {}),
  });

  app.post('/hook', async (c) => {
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > MAX_HOOK_BYTES) throw new ApiError(413, `body: ${length} bytes is more than the ${MAX_HOOK_BYTES} a webhook may send`);
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.byteLength > MAX_HOOK_BYTES) throw new ApiError(413, `body: more than the ${MAX_HOOK_BYTES} bytes a webhook may send`);
    const answered = await intake.receive({ header: (name) => c.req.header(name), body });
    return c.json(answered.body, answered.status);
  });

  // Drone's repair re-registers the forge hook; runlog's rotates the webhook secret (the admin pastes the new one into the forge).
  app.post('/api/repos/:owner/:name/repair', async (c) => {
    const before = await requireRepo(deps.database, c, 'admin');
    const caller = c.get('caller');
    const login = caller.kind === 'anonymous' ? '' : caller.login;
    const repoId = before.id;
    const secret = newWebhookSecret();
    const handled = await handleRepoCommand(deps.store, repoId, {
      type: 'UpdateRepo',
      data: { repoId, changes: { webhookSecret: sealRepoSecret(deps.repoSecretKey, repoId)('webhookSecret', secret) }, by: login, at: (deps.now ?? (() => new Date()))().toISOString() },
    });
    await deps.waitForProjections(handled.checkpoint);
    const repo = await findRepo(deps.database, before.owner, before.name);
    if (!repo) throw notFound(`repository ${before.slug}`);
    return c.json(repoJson(repo, await repoCounter(deps.database, repo.id), secret));
  });
}
