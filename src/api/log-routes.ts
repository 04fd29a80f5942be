import { purgeStepLog } from '../logs/purge-step-log.ts';
import { requireAdmin, type App, type AppDeps } from './app.ts';
import { positiveInt } from './bodies.ts';
import { activeRepo, repoBuild } from './build-lookup.ts';

/**
 * Drone's `DELETE .../logs/{stage}/{step}` (admins): the step's output goes, a
 * `StepLogPurged` event says who purged it, and its `StepFinished` keeps the log's size and
 * sha256. 204, as Drone answers. Refused (409) while the step runs.
 */
export function registerLogRoutes(app: App, deps: AppDeps) {
  const clock = deps.now ?? (() => new Date());
  app.delete('/api/repos/:owner/:name/builds/:number/logs/:stage/:step', async (c) => {
    const { login } = requireAdmin(c.get('caller'));
    const repo = await activeRepo(deps, c.req.param('owner'), c.req.param('name'));
    const build = await repoBuild(deps, repo, positiveInt(c.req.param('number'), 'number'));
    const ref = { buildId: build.id, stage: positiveInt(c.req.param('stage'), 'stage'), step: positiveInt(c.req.param('step'), 'step') };
    const purged = await purgeStepLog(deps.database, deps.store, ref, { login, at: clock().toISOString() });
    await deps.waitForProjections(purged.checkpoint);
    return c.body(null, 204);
  });
}
