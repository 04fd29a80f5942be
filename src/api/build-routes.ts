import { RepoSettings } from '../events/repo-events.ts';
import type { BuildCommand } from '../events/build-commands.ts';
import { handleBuildCommand } from '../server/command-handler.ts';
import { createBuild } from '../server/create-build.ts';
import type { App, Env, ResolvedDeps } from './app.ts';
import { manualBuildSource } from '../forge/manual-build-source.ts';
import { forgeAccessOf, RepoSecretError } from '../forge/repo-secrets.ts';
import { requireRepo } from './access.ts';
import type { Context } from 'hono';
import { BuildBody, buildParams, isFormBody, parseBody, positiveInt, requestFields } from './bodies.ts';
import { buildJson, stageJson } from './drone-json.ts';
import { ApiError, notFound } from './errors.ts';
import { findBuild, listBuilds, stagesWithSteps } from './read-views.ts';
import { readStepLog, type StoredChunk } from '../logs/log-store.ts';

/** Query keys of `POST .../builds` that are not build parameters. */
const RESERVED_QUERY = new Set(['branch', 'commit', 'access_token']);

/** Drone's build paths (the build's own history is in history-routes.ts). */
export function registerBuildRoutes(app: App, deps: ResolvedDeps) {
  const clock = deps.now ?? (() => new Date());

  /** The route's repository, once the caller is known to have `need` on it; and who the caller is. */
  async function repoFor(c: Context<Env>, need: 'read' | 'write' | 'admin') {
    const repo = await requireRepo(deps.database, c, need);
    const caller = c.get('caller');
    return { repo, login: caller.kind === 'anonymous' ? '' : caller.login };
  }

  async function buildFor(repoId: string, number: number, slug: string) {
    const build = await findBuild(deps.database, repoId, number);
    if (!build) throw notFound(`build ${slug}#${number}`);
    return build;
  }

  async function fullBuild(build: NonNullable<Awaited<ReturnType<typeof findBuild>>>) {
    const { stages, steps } = await stagesWithSteps(deps.database, [build.id]);
    return {
      ...buildJson(build),
      stages: stages.map((stage) => stageJson(stage, steps.filter((step) => step.stage === stage.number))),
    };
  }

  app.get('/api/repos/:owner/:name/builds', async (c) => {
    const { repo } = await repoFor(c, 'read');
    const page = positiveInt(c.req.query('page'), 'page', 1, 100_000);
    const perPage = positiveInt(c.req.query('per_page'), 'per_page', 25, 100);
    const branch = c.req.query('branch') || undefined;
    const rows = await listBuilds(deps.database, repo.id, { page, perPage, branch });
    // Drone sends no paging headers; a full page here also says where the next one is.
    if (rows.length === perPage) {
      const next = new URL(c.req.url);
      next.searchParams.set('page', String(page + 1));
      next.searchParams.set('per_page', String(perPage));
      c.header('Link', `<${next.pathname}${next.search}>; rel="next"`);
    }
    return c.json(rows.map(buildJson));
  });

  app.post('/api/repos/:owner/:name/builds', async (c) => {
    const { repo, login } = await repoFor(c, 'write');
    // drone-node sends branch and commit as a form body: they count as if in the query.
    const text = await c.req.text();
    const form = isFormBody(c.req.header('content-type'));
    const fields = requestFields(c.req.query(), c.req.header('content-type'), text);
    const body = form ? {} : parseBody(BuildBody, text);
    const branch = fields.branch || repo.defaultBranch;
    let commit = fields.commit ?? '';
    if (commit !== '' && !/^[0-9a-fA-F]{7,64}$/.test(commit)) {
      throw new ApiError(400, `commit: expected a hexadecimal commit sha, got '${commit.slice(0, 80)}'`);
    }
    // Hex is case-free; forges and git name commits in lower case, and so do the build and its links.
    commit = commit.toLowerCase();
    // Drone reads the config at the commit; a `config` in the body overrides it (a build of an
    // edited pipeline without pushing it; runlog's own addition, kept from before it read forges).
    let config: { text: string; error?: string };
    if (body.config !== undefined) config = { text: body.config };
    else {
      let access;
      try {
        access = forgeAccessOf(deps.repoSecretKey, repo);
      } catch (error) {
        if (error instanceof RepoSecretError) {
          throw new ApiError(503, `the forge_token of ${repo.slug} does not open with this server's key (RUNLOG_SECRET_KEY changed?): set it again with PATCH /api/repos/${repo.slug}, or send {"config": ...}`);
        }
        throw error;
      }
      const found = await manualBuildSource(deps.configSource, access, { path: repo.configPath, branch, commit }, deps.forgeFetch);
      if (found.kind === 'refused') throw new ApiError(found.status, found.message);
      commit = found.commit;
      config = found.config.ok ? { text: found.config.text } : { text: '', error: found.config.message };
    }
    const params = buildParams(fields, RESERVED_QUERY);
    const created = await createBuild(deps.database, {
      repo: { id: repo.id, owner: repo.owner, name: repo.name, settings: RepoSettings.parse(repo) },
      trigger: { event: 'custom', ref: `refs/heads/${branch}`, branch, commit, after: commit, sender: login, params },
      config: { path: repo.configPath, text: config.text },
      ...(config.error !== undefined ? { configError: config.error } : {}),
      createdBy: login,
      ...(repo.protected ? { block: 'protected' as const } : {}),
      system: deps.system,
      at: clock(),
    });
    await deps.waitForProjections(created.checkpoint);
    return c.json(await fullBuild(await buildFor(repo.id, created.number, repo.slug)), 200);
  });

  app.get('/api/repos/:owner/:name/builds/:number', async (c) => {
    const { repo } = await repoFor(c, 'read');
    const build = await buildFor(repo.id, positiveInt(c.req.param('number'), 'number'), repo.slug);
    return c.json(await fullBuild(build));
  });

  // Drone's log format: one entry per line, `pos` its number, `time` seconds since the step's first output.
  app.get('/api/repos/:owner/:name/builds/:number/logs/:stage/:step', async (c) => {
    const { repo } = await repoFor(c, 'read');
    const build = await buildFor(repo.id, positiveInt(c.req.param('number'), 'number'), repo.slug);
    const ref = { buildId: build.id, stage: positiveInt(c.req.param('stage'), 'stage'), step: positiveInt(c.req.param('step'), 'step') };
    const chunks = await readStepLog(deps.database, ref);
    // No output yet, or no such step: Drone answers 404 for a step the build does not have.
    if (chunks.length === 0 && !(await stagesWithSteps(deps.database, [build.id])).steps.some((s) => s.stage === ref.stage && s.number === ref.step)) {
      throw notFound(`step ${ref.stage}/${ref.step} of build ${repo.slug}#${build.number}`);
    }
    return c.json(droneLogLines(chunks));
  });

  /** A command on an existing build, answered with the build as it is afterwards. */
  function buildAction(path: string, method: 'post' | 'delete', command: (by: string, at: string) => BuildCommand, need: 'write' | 'admin' = 'write') {
    app[method](path, async (c) => {
      const { repo, login } = await repoFor(c, need);
      const build = await buildFor(repo.id, positiveInt(c.req.param('number'), 'number'), repo.slug);
      const stage = c.req.param('stage');
      if (stage !== undefined) {
        const number = positiveInt(stage, 'stage');
        const { stages } = await stagesWithSteps(deps.database, [build.id]);
        if (!stages.some((s) => s.number === number)) throw notFound(`stage ${number} of build ${repo.slug}#${build.number}`);
      }
      const handled = await handleBuildCommand(deps.store, build.id, command(login, clock().toISOString()), { actor: login });
      if (handled.events.some((event) => event.type === 'CancelRequested')) deps.onCancelRequested?.(build.id);
      await deps.waitForProjections(handled.checkpoint);
      return c.json(await fullBuild(await buildFor(repo.id, build.number, repo.slug)));
    });
  }
  // Drone: DELETE cancels; approve/decline take an optional stage that runlog does not need (a build is approved whole).
  buildAction('/api/repos/:owner/:name/builds/:number', 'delete', (by, at) => ({ type: 'RequestCancel', data: { by, at } }));
  for (const suffix of ['', '/:stage']) {
    // Drone asks admin permission to approve or decline: whoever may only push cannot wave their own build through.
    buildAction(`/api/repos/:owner/:name/builds/:number/approve${suffix}`, 'post', (by, at) => ({ type: 'ApproveBuild', data: { by, at } }), 'admin');
    buildAction(`/api/repos/:owner/:name/builds/:number/decline${suffix}`, 'post', (by, at) => ({ type: 'DeclineBuild', data: { by, at } }), 'admin');
  }
}

/** Chunks (arbitrary cuts of the byte stream) as Drone's `[{pos, out, time}]` lines. */
export function droneLogLines(chunks: StoredChunk[]): { pos: number; out: string; time: number }[] {
  const first = chunks[0]?.created.getTime() ?? 0;
  const lines: { pos: number; out: string; time: number }[] = [];
  let partial = '';
  let partialTime = 0;
  for (const chunk of chunks) {
    const time = Math.max(0, Math.floor((chunk.created.getTime() - first) / 1000));
    const parts = (partial + chunk.data).split('\n');
    if (partial === '') partialTime = time;
    partial = parts.pop() ?? '';
    for (const part of parts) {
      lines.push({ pos: lines.length, out: `${part}\n`, time: partialTime });
      partialTime = time;
    }
    if (partial !== '' && parts.length > 0) partialTime = time;
  }
  if (partial !== '') lines.push({ pos: lines.length, out: partial, time: partialTime });
  return lines;
}
