import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { decide } from '../events/build-decider.ts';
import { initialState } from '../events/build-state.ts';
import { buildStreamId, type BuildEvent } from '../events/build-events.ts';
import type { BlockReason, RestartFrom } from '../events/build-events.ts';
import { appendToStream } from '../events/append-to-stream.ts';
import type { Database } from '../events/database.ts';
import type { Checkpoint } from '../events/event-store.ts';
import { EVENTS_CHANNEL } from '../events/sql-event-store.ts';
import { compileConfig } from '../pipeline/config-format.ts';
import { formatDiagnostic } from '../pipeline/diagnostic.ts';
import type { RepoSettings } from '../events/repo-events.ts';
import { Trigger, type SystemInfo, type TriggerInput } from '../pipeline/trigger.ts';
import { lastCheckpoint } from './command-handler.ts';

export type RepoForBuild = { id: string; owner: string; name: string; settings: RepoSettings };

export type CreateBuildInput = {
  repo: RepoForBuild;
  /** A build id chosen beforehand (a cron slot's): creating it twice is a StreamVersionConflict, never a twin. */
  buildId?: string;
  trigger: TriggerInput;
  config: { path: string; text: string };
  /** The config could not be read (missing, forge unreachable): the build is created as an `error` build saying so. */
  configError?: string;
  createdBy: string;
  /** The build this one restarts. */
  parent?: number;
  /** A restart from a step of `parent` (see restart-from-step.ts). */
  restart?: RestartFrom;
  block?: BlockReason;
  system: SystemInfo;
  at: Date;
};

export type CreatedBuild = { buildId: string; number: number; events: BuildEvent[]; checkpoint?: Checkpoint };

/** Advisory-lock namespace for build numbers ('bnum'), apart from the store's stream locks. */
const BUILD_NUMBER_LOCK = 1651404141;

/**
 * Creates a build with the next number of its repo. Numbers are gap-free and never
 * doubled: one transaction takes the repo's advisory lock (which writes nothing, so the
 * append stays the transaction's first write), reads the highest number the log holds,
 * and appends `BuildCreated` with the next one. A crash before commit leaves no number
 * behind; the `repo_counters` view is derived from these events like every other view.
 */
export async function createBuild(database: Database, input: CreateBuildInput): Promise<CreatedBuild> {
  const buildId = input.buildId ?? randomUUID();
  const at = input.at.toISOString();
  const result = await database.transaction(async (tx) => {
    await tx.query(sql`select pg_advisory_xact_lock(${BUILD_NUMBER_LOCK}, hashtext(${input.repo.id}))`);
    // Spelled as a backward walk of the (repoId, number) index (migration 0003) for one row:
    // `max()` is planned so only when the statistics say the repo has many builds, and
    // otherwise reads every BuildCreated of the repo (each with its plan) under this lock.
    const [row] = await tx.query<{ last: number | string | null }>(
      sql`select (data->>'number')::int as last from events
           where type = 'BuildCreated' and data->>'repoId' = ${input.repo.id} and (data->>'number')::int is not null
           order by (data->>'number')::int desc limit 1`,
    );
    const number = Number(row?.last ?? 0) + 1;
    const events = decide(
      {
        type: 'CreateBuild',
        data: { ...buildCreatedData(buildId, number, input), at, ...(input.block ? { block: input.block } : {}) },
      },
      initialState(),
    );
    const appended = await appendToStream(tx, buildStreamId(buildId), 0, events, { actor: input.createdBy });
    return { number, events, checkpoint: lastCheckpoint(appended) };
  });
  await database.notify(EVENTS_CHANNEL).catch(() => {});
  return { buildId, ...result };
}

/** What `BuildCreated` will record (the compiled plan, or the compile errors): pure, so a caller may look before it creates. */
export function buildCreatedData(buildId: string, number: number, input: CreateBuildInput) {
  const { repo, config } = input;
  const trigger = Trigger.parse(input.trigger);
  const common = {
    buildId,
    repoId: repo.id,
    repo: `${repo.owner}/${repo.name}`,
    number,
    trigger,
    config: { path: config.path, text: config.text, sha256: createHash('sha256').update(config.text).digest('hex') },
    ...(input.parent ? { parent: input.parent } : {}),
    ...(input.restart ? { restart: input.restart } : {}),
    createdBy: input.createdBy,
  };
  if (input.configError !== undefined) return { ...common, error: input.configError };
  const compiled = compileConfig(
    config.text,
    {
      trigger,
      repo: {
        owner: repo.owner,
        name: repo.name,
        slug: `${repo.owner}/${repo.name}`,
        cloneUrl: repo.settings.cloneUrl,
        defaultBranch: repo.settings.defaultBranch,
        visibility: repo.settings.visibility,
        private: repo.settings.visibility !== 'public',
        trusted: repo.settings.trusted,
        timeout: repo.settings.timeout,
        configPath: config.path,
      },
      build: { number, parent: input.parent ?? 0, createdAt: input.at.toISOString() },
      system: input.system,
    },
    { file: config.path, ...(repo.settings.registry ? { registry: repo.settings.registry } : {}) },
  );
  const errors = compiled.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
  return {
    ...common,
    ...(compiled.plan && errors.length === 0 ? { plan: compiled.plan } : { error: errors.map(formatDiagnostic).join('\n') || 'the config gave no pipeline' }),
  };
}
