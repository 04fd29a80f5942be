import { RepoSettings } from '../events/repo-events.ts';
import { repoIdFor } from '../events/repo-decider.ts';
import { handleRepoCommand } from '../server/command-handler.ts';
import { accessLevel } from '../access/repo-access.ts';
import { callerAccess, grantedPermission, requireRepo, requireServerAdmin, unauthorized } from './access.ts';
import type { App, ResolvedDeps } from './app.ts';
import { parseBody, positiveInt, RepoBody, settingsFromBody, slugParts } from './bodies.ts';
import { repoJson } from './drone-json.ts';
import { ApiError, notFound } from './errors.ts';
import { findRepo, listAllRepos, listRepos, repoCounter, userGrants } from './read-views.ts';
import { newWebhookSecret, openRepoSecret, sealRepoSecret } from '../forge/repo-secrets.ts';
import type { Caller } from './auth.ts';

/** Drone's repo paths: list, activate, read, change, deactivate. */
export function registerRepoRoutes(app: App, deps: ResolvedDeps) {
  const now = () => (deps.now ?? (() => new Date()))().toISOString();

  /** The webhook secret in clear, for the admin only (a secret that no longer opens is shown as ''). */
  const secretFor = async (caller: Caller, repo: { id: string; webhookSecret: string; visibility: string }) => {
    if ((await callerAccess(deps.database, caller, repo)) !== 'admin') return undefined;
    try {
      return openRepoSecret(deps.repoSecretKey, repo.id, 'webhookSecret', repo.webhookSecret);
    } catch {
      return '';
    }
  };

  async function answer(owner: string, name: string, caller: Caller) {
    const repo = await findRepo(deps.database, owner, name);
    if (!repo) throw notFound(`repository ${owner}/${name}`);
    return repoJson(repo, await repoCounter(deps.database, repo.id), await secretFor(caller, repo));
  }

  app.get('/api/user/repos', async (c) => {
    const caller = c.get('caller');
    const repos = await listRepos(deps.database);
    const grants = caller.kind === 'user' ? await userGrants(deps.database, caller.login) : new Map<string, never>();
    const visible = repos.filter((repo) => accessLevel(caller, repo.visibility, grants.get(repo.id)) !== 'none');
    return c.json(visible.map((repo) => repoJson(repo)));
  });

  // Drone's admin list of every repository, active or not. `per_page` goes up to 10,000
  // (drone-node's getRepos asks for that many); the default is Drone's 25.
  app.get('/api/repos', async (c) => {
    requireServerAdmin(c.get('caller'));
    const page = positiveInt(c.req.query('page'), 'page', 1, 100_000);
    const perPage = positiveInt(c.req.query('per_page'), 'per_page', 25, 10_000);
    const rows = await listAllRepos(deps.database, { page, perPage });
    return c.json(rows.map((repo) => repoJson(repo)));
  });

  // Activating needs admin on the repo: a server admin, or a user an admin granted it to (grants may precede activation).
  app.post('/api/repos/:owner/:name', async (c) => {
    const caller = c.get('caller');
    if (caller.kind === 'anonymous') throw unauthorized();
    const { owner, name } = slugParts(c.req.param('owner'), c.req.param('name'));
    if (caller.kind === 'user' && (await grantedPermission(deps.database, repoIdFor(`${owner}/${name}`), caller)) !== 'admin') {
      throw new ApiError(403, `activating ${owner}/${name} needs admin permission on it (a server admin grants it: PUT /api/repos/${owner}/${name}/permissions/${caller.login})`, 'forbidden');
    }
    const login = caller.login;
    const body = parseBody(RepoBody, await c.req.text());
    const repoId = repoIdFor(`${owner}/${name}`);
    // Every repo gets a webhook secret: the one given, or a new random one (shown to the admin in the answer).
    const settings = RepoSettings.parse(settingsFromBody({ webhook_secret: newWebhookSecret(), ...body }, sealRepoSecret(deps.repoSecretKey, repoId)));
    const handled = await handleRepoCommand(deps.store, repoId, {
      type: 'ActivateRepo',
      data: { repoId, owner, name, settings, by: login, at: now() },
    });
    await deps.waitForProjections(handled.checkpoint);
    return c.json(await answer(owner, name, c.get('caller')), 200);
  });

  app.get('/api/repos/:owner/:name', async (c) => {
    const repo = await requireRepo(deps.database, c, 'read');
    return c.json(repoJson(repo, await repoCounter(deps.database, repo.id), await secretFor(c.get('caller'), repo)));
  });

  app.patch('/api/repos/:owner/:name', async (c) => {
    await requireRepo(deps.database, c, 'admin');
    const { login } = c.get('caller') as { login: string };
    const { owner, name } = slugParts(c.req.param('owner'), c.req.param('name'));
    const repoId = repoIdFor(`${owner}/${name}`);
    const changes = settingsFromBody(parseBody(RepoBody, await c.req.text()), sealRepoSecret(deps.repoSecretKey, repoId));
    const handled = await handleRepoCommand(deps.store, repoId, { type: 'UpdateRepo', data: { repoId, changes, by: login, at: now() } });
    await deps.waitForProjections(handled.checkpoint);
    return c.json(await answer(owner, name, c.get('caller')));
  });

  // Drone's `?remove=true` deletes the repo's row; runlog keeps every repo's history, so
  // removing deactivates it like a plain DELETE (activating it again brings its builds back).
  app.delete('/api/repos/:owner/:name', async (c) => {
    await requireRepo(deps.database, c, 'admin');
    const { login } = c.get('caller') as { login: string };
    const { owner, name } = slugParts(c.req.param('owner'), c.req.param('name'));
    const remove = c.req.query('remove');
    if (remove !== undefined && remove !== 'true' && remove !== 'false') throw new ApiError(400, `remove: expected true or false, got '${remove.slice(0, 40)}'`);
    const repoId = repoIdFor(`${owner}/${name}`);
    const handled = await handleRepoCommand(deps.store, repoId, { type: 'DeactivateRepo', data: { repoId, by: login, at: now() } });
    await deps.waitForProjections(handled.checkpoint);
    return c.json(await answer(owner, name, c.get('caller')));
  });
}
