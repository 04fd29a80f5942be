// `POST /api/repos/{owner}/{name}/builds/{n}/restart?stage=&step=`: restart from a step (a
// new build with `parent` = n; see src/server/restart-from-step.ts for what runs and why),
// and `GET /api/runners`: the runners and what they hold.
import { RepoSettings } from '../events/repo-events.ts';
import { fold, isBuild } from '../events/build-state.ts';
import { readBuild } from '../server/command-handler.ts';
import { createBuild } from '../server/create-build.ts';
import { resolveRestart, restartOf } from '../server/restart-from-step.ts';
import { findKeptWorkspace, listRunners, runnerJson } from '../server/runners.ts';
import { requireAdmin, type App, type AppDeps } from './app.ts';
import { positiveInt } from './bodies.ts';
import { requireRepo } from './access.ts';
import { buildOrigin, buildWithStages, repoBuild } from './build-lookup.ts';
import { ApiError } from './errors.ts';

export function registerRestartRoutes(app: App, deps: AppDeps) {
  const clock = deps.now ?? (() => new Date());

  app.post('/api/repos/:owner/:name/builds/:number/restart', async (c) => {
    // Write access, as every build write (build-routes.ts).
    const repo = await requireRepo(deps.database, c, 'write');
    const caller = c.get('caller');
    const login = caller.kind === 'anonymous' ? '' : caller.login;
    const previous = await repoBuild(deps, repo, positiveInt(c.req.param('number'), 'number'));
    const parent = fold((await readBuild(deps.store, previous.id)).events);
    if (!isBuild(parent)) throw new ApiError(422, `build #${previous.number} has no readable history`, 'unreadable_history');
    if (!parent.finished) {
      throw new ApiError(409, `build ${repo.slug}#${parent.number} is ${parent.status}: restart it from a step once it finished (or cancel it)`, 'build_running');
    }
    const at = resolveRestart(parent, c.req.query('stage'), c.req.query('step'));
    const now = clock();
    const workspace = await findKeptWorkspace(deps.database, { buildId: parent.buildId, stage: at.stage }, now);
    const origin = await buildOrigin(deps, previous);
    const created = await createBuild(deps.database, {
      repo: { id: repo.id, owner: repo.owner, name: repo.name, settings: RepoSettings.parse(repo) },
      trigger: origin.trigger,
      config: { path: origin.config.path, text: origin.config.text },
      createdBy: login,
      parent: parent.number,
      restart: restartOf(parent, at, workspace),
      ...(repo.protected ? { block: 'protected' as const } : {}),
      system: deps.system,
      at: now,
    });
    await deps.waitForProjections(created.checkpoint);
    return c.json(await buildWithStages(deps, await repoBuild(deps, repo, created.number)));
  });

  app.get('/api/runners', async (c) => {
    requireAdmin(c.get('caller'));
    const now = clock();
    return c.json((await listRunners(deps.database)).map((row) => runnerJson(row, now)));
  });
}
