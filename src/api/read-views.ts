import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../events/database.ts';
import type { Permission } from '../access/user-events.ts';
import { builds, repoCounters, repoPermissions, repos, stages, steps } from '../projections/tables.ts';

/** The API's reads: views only (DESIGN.md: no folding of streams on a request path). */

export async function findRepo(db: Executor, owner: string, name: string) {
  const [repo] = await db.db.select().from(repos).where(eq(repos.slug, `${owner}/${name}`)).limit(1);
  return repo;
}

export async function listRepos(db: Executor) {
  return db.db.select().from(repos).where(eq(repos.active, true)).orderBy(asc(repos.slug));
}

export async function repoCounter(db: Executor, repoId: string): Promise<number> {
  const [row] = await db.db.select({ lastNumber: repoCounters.lastNumber }).from(repoCounters).where(eq(repoCounters.repoId, repoId));
  return row?.lastNumber ?? 0;
}

export async function listBuilds(db: Executor, repoId: string, options: { page: number; perPage: number; branch?: string }) {
  return db.db
    .select()
    .from(builds)
    .where(and(eq(builds.repoId, repoId), options.branch ? eq(builds.branch, options.branch) : undefined))
    .orderBy(desc(builds.number))
    .limit(options.perPage)
    .offset((options.page - 1) * options.perPage);
}

export async function findBuild(db: Executor, repoId: string, number: number) {
  const [build] = await db.db.select().from(builds).where(and(eq(builds.repoId, repoId), eq(builds.number, number))).limit(1);
  return build;
}

export async function stagesWithSteps(db: Executor, buildIds: string[]) {
  if (buildIds.length === 0) return { stages: [], steps: [] };
  const [stageRows, stepRows] = await Promise.all([
    db.db.select().from(stages).where(inArray(stages.buildId, buildIds)).orderBy(asc(stages.number)),
    db.db.select().from(steps).where(inArray(steps.buildId, buildIds)).orderBy(asc(steps.stage), asc(steps.number)),
  ]);
  return { stages: stageRows, steps: stepRows };
}

/** The newest build of a ref (Drone's `FindRef`). */
export async function latestBuild(db: Executor, repoId: string, ref: string) {
  const [build] = await db.db.select().from(builds).where(and(eq(builds.repoId, repoId), eq(builds.ref, ref))).orderBy(desc(builds.number)).limit(1);
  return build;
}

/** Every repository, active or not, by slug (Drone's `ListAll`, for admins). */
export async function listAllRepos(db: Executor, options: { page: number; perPage: number }) {
  return db.db
    .select()
    .from(repos)
    .orderBy(asc(repos.slug))
    .limit(options.perPage)
    .offset((options.page - 1) * options.perPage);
}

/** Stages waiting for or holding a runner (Drone's queue: `ListIncomplete`), oldest first, with their repo and build number. */
export async function incompleteStages(db: Executor) {
  return db.db
    .select({ stage: stages, number: builds.number, slug: repos.slug })
    .from(stages)
    .innerJoin(builds, eq(builds.id, stages.buildId))
    .innerJoin(repos, eq(repos.id, stages.repoId))
    .where(inArray(stages.status, ['pending', 'running']))
    .orderBy(asc(stages.created), asc(stages.buildId), asc(stages.number))
    .limit(10_000);
}

/** What an admin granted a user, by repo id. */
export async function userGrants(db: Executor, login: string): Promise<Map<string, Permission>> {
  const rows = await db.db.select({ repoId: repoPermissions.repoId, permission: repoPermissions.permission }).from(repoPermissions).where(eq(repoPermissions.login, login));
  return new Map(rows.map((row) => [row.repoId, row.permission as Permission]));
}
