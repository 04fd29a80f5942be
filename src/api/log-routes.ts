import { purgeStepLog } from '../logs/purge-step-log.ts';
import { requireRepo } from './access.ts';
import type { App, AppDeps } from './app.ts';
import { positiveInt } from './bodies.ts';
import { repoBuild } from './build-lookup.ts';

/**
 * Drone's `DELETE .../logs/{stage}/{step}` (admin permission on the repo, as Drone asks): the step's output goes, a
 * `StepLogPurged` event says who purged it, and its `StepFinished` keeps the log's size and
 * sha256. 204, as Drone answers. Refused (409) while the step runs.
 */
export function registerLogRoutes(app: App, deps: AppDeps) {
  const clock = deps.now ?? (() => new Date());
  app.delete('/api/repos/:owner/:name/builds/:number/logs/:stage/:step', async (c) => {
    const repo = await requireRepo(deps.database, c, 'admin');
    const { login } = c.get('caller') as { login: string };
    const build = await repoBuild(deps, repo, positiveInt(c.req.param('number'), 'number'));
    const ref = { buildId: build.id, stage: positiveInt(c.req.param('stage'), 'stage'), step: positiveInt(c.req.param('step'), 'step') };
    const purged = await purgeStepLog(deps.database, deps.store, ref, { login, at: clock().toISOString() });
    await deps.waitForProjections(purged.checkpoint);
    return c.body(null, 204);
  });
}
