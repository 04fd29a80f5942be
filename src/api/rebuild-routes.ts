// Builds started from another build, as Drone does them: a restart (`POST .../builds/{n}`)
// and a promotion or rollback (`POST .../builds/{n}/promote?target=`). Each is a new build
// with the next number and `parent` = n, on the same commit and the same config text as n
// (the one its BuildCreated recorded), so what runs is what ran — only the repo's settings
// of today apply. Parameters: n's, then the request's (query or form body), the request winning.
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { RepoSettings } from '../events/repo-events.ts';
import { buildCreatedData, createBuild, type CreateBuildInput } from '../server/create-build.ts';
import type { TriggerInput } from '../pipeline/trigger.ts';
import { requireRepo } from './access.ts';
import type { App, AppDeps, Env } from './app.ts';
import { buildParams, positiveInt, requestFields } from './bodies.ts';
import { buildOrigin, buildWithStages, repoBuild } from './build-lookup.ts';
import { ApiError } from './errors.ts';

const RESTART_RESERVED = new Set(['access_token']);
const PROMOTE_RESERVED = new Set(['access_token', 'target']);
const TARGET = /^[A-Za-z0-9][A-Za-z0-9._\/-]{0,99}$/;

export function registerRebuildRoutes(app: App, deps: AppDeps) {
  const clock = deps.now ?? (() => new Date());

  async function rebuild(c: Context<Env>, event: 'restart' | 'promote' | 'rollback') {
    // Drone asks write permission for restarts and promotions.
    const repo = await requireRepo(deps.database, c, 'write');
    const { login } = c.get('caller') as { login: string };
    const previous = await repoBuild(deps, repo, positiveInt(c.req.param('number'), 'number'));
    const fields = requestFields(c.req.query(), c.req.header('content-type'), await c.req.text());
    if (event === 'restart' && (previous.status === 'blocked' || previous.status === 'declined')) {
      const what = previous.status === 'blocked' ? 'it waits for approval: approve it (POST .../approve) instead' : 'it was declined: start a new build instead';
      throw new ApiError(409, `build ${repo.slug}#${previous.number} cannot be restarted, ${what}`, 'build_blocked');
    }
    let target = '';
    if (event !== 'restart') {
      target = fields.target ?? '';
      if (target === '') throw new ApiError(400, `target: required, the environment to ${event} to, like ?target=production`);
      if (!TARGET.test(target)) throw new ApiError(400, `target: '${target.slice(0, 60)}' is not an environment name (letters, digits, '.', '_', '/', '-')`);
    }
    const origin = await buildOrigin(deps, previous);
    const params = { ...origin.trigger.params, ...buildParams(fields, event === 'restart' ? RESTART_RESERVED : PROMOTE_RESERVED) };
    const trigger: TriggerInput = event === 'restart' ? { ...origin.trigger, params } : { ...origin.trigger, event, deployTo: target, params };
    const input: CreateBuildInput = {
      repo: { id: repo.id, owner: repo.owner, name: repo.name, settings: RepoSettings.parse(repo) },
      trigger,
      config: { path: origin.config.path, text: origin.config.text },
      createdBy: login,
      parent: previous.number,
      ...(repo.protected ? { block: 'protected' as const } : {}),
      system: deps.system,
      at: clock(),
    };
    if (event !== 'restart') refuseWhenNothingRuns(input, event, target);
    const created = await createBuild(deps.database, input);
    await deps.waitForProjections(created.checkpoint);
    return c.json(await buildWithStages(deps, await repoBuild(deps, repo, created.number)));
  }

  // Drone's restart: a new build of the same commit and config (`HandleRetry`).
  app.post('/api/repos/:owner/:name/builds/:number', (c) => rebuild(c, 'restart'));
  app.post('/api/repos/:owner/:name/builds/:number/promote', (c) => rebuild(c, 'promote'));
  app.post('/api/repos/:owner/:name/builds/:number/rollback', (c) => rebuild(c, 'rollback'));
}

/**
 * Drone creates no build when no pipeline's trigger takes the event; say so instead of
 * answering with a build whose every stage was skipped.
 */
function refuseWhenNothingRuns(input: CreateBuildInput, event: 'promote' | 'rollback', target: string): void {
  const compiled = buildCreatedData(randomUUID(), 1, input);
  const plan = 'plan' in compiled ? compiled.plan : undefined;
  if (!plan || plan.stages.some((stage) => !stage.skip)) return;
  const reasons = plan.stages.map((stage) => `${stage.name}: ${stage.skip?.reason ?? ''}`).join('; ');
  throw new ApiError(
    400,
    `no pipeline of ${input.config.path} runs for ${event} to '${target}' (${reasons}): ` +
      `give the pipeline to run a trigger like {event: [${event}], target: [${target}]}`,
    'nothing_to_run',
  );
}
