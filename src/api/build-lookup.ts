import { buildStreamId, BuildCreated } from '../events/build-events.ts';
import type { AppDeps } from './app.ts';
import { buildJson, stageJson } from './drone-json.ts';
import { ApiError, notFound } from './errors.ts';
import { findBuild, type findRepo, stagesWithSteps } from './read-views.ts';

/** Finding what a path names — one of a repo's builds — or a 404 that says which (the repo itself: access.ts's requireRepo). */
export type BuildRow = NonNullable<Awaited<ReturnType<typeof findBuild>>>;
export type RepoRow = NonNullable<Awaited<ReturnType<typeof findRepo>>>;

export async function repoBuild(deps: Pick<AppDeps, 'database'>, repo: RepoRow, number: number): Promise<BuildRow> {
  const build = await findBuild(deps.database, repo.id, number);
  if (!build) throw notFound(`build ${repo.slug}#${number}`);
  return build;
}

/** Drone's build JSON with its stages and their steps. */
export async function buildWithStages(deps: Pick<AppDeps, 'database'>, build: BuildRow) {
  const { stages, steps } = await stagesWithSteps(deps.database, [build.id]);
  return {
    ...buildJson(build),
    stages: stages.map((stage) => stageJson(stage, steps.filter((step) => step.stage === stage.number))),
  };
}

/** The build's first event: its trigger and config, which a restart or promotion starts again from. */
export async function buildOrigin(deps: Pick<AppDeps, 'store'>, build: BuildRow) {
  const [first] = await deps.store.readStream(buildStreamId(build.id), { toVersion: 1 });
  const parsed = BuildCreated.safeParse(first && { type: first.type, data: first.data });
  if (!parsed.success) throw new ApiError(422, `build #${build.number}: its first stored event is not a readable BuildCreated`, 'unreadable_history');
  return parsed.data.data;
}
