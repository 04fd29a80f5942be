import { requireRepo } from './access.ts';
import type { App, AppDeps } from './app.ts';
import { buildWithStages } from './build-lookup.ts';
import { ApiError, notFound } from './errors.ts';
import { latestBuild } from './read-views.ts';

/**
 * Drone's `GET .../builds/latest`: the newest build of `?ref=` or `?branch=` (branch wins),
 * else of the default branch. Registered before `GET .../builds/{number}`, which it would
 * otherwise reach as a bad number.
 */
export function registerLatestBuildRoute(app: App, deps: AppDeps) {
  app.get('/api/repos/:owner/:name/builds/latest', async (c) => {
    const repo = await requireRepo(deps.database, c, 'read');
    const branch = c.req.query('branch');
    const ref = branch ? `refs/heads/${branch}` : c.req.query('ref') || `refs/heads/${repo.defaultBranch}`;
    if (ref.length > 500 || /[\s\u0000-\u001f]/.test(ref)) throw new ApiError(400, `ref: '${ref.slice(0, 80)}' is not a git ref`);
    const build = await latestBuild(deps.database, repo.id, ref);
    if (!build) throw notFound(`a build of ${repo.slug} for ${ref}`);
    return c.json(await buildWithStages(deps, build));
  });
}
