import { and, eq, isNotNull, lte, sql } from 'drizzle-orm';
import type { Database } from '../events/database.ts';
import { StreamVersionConflict, type EventStore } from '../events/event-store.ts';
import { RepoSettings } from '../events/repo-events.ts';
import type { SystemInfo } from '../pipeline/trigger.ts';
import { builds, crons, repos } from '../projections/tables.ts';
import { handleCommand, type Decider } from '../server/command-handler.ts';
import { createBuild } from '../server/create-build.ts';
import { decideCron, evolveCron, initialCronState, type CronCommand, type CronState } from './cron-decider.ts';
import { CronEvent, cronStreamId } from './cron-events.ts';

export const cronDecider: Decider<CronCommand, CronEvent, CronState> = {
  decide: decideCron,
  evolve: evolveCron,
  initialState: initialCronState,
  read: (stored) => CronEvent.parse({ type: stored.type, data: stored.data }),
};

export const handleCronCommand = (store: EventStore, repoId: string, command: CronCommand) =>
  handleCommand(store, cronStreamId(repoId), cronDecider, command, 'by' in command.data ? { actor: command.data.by } : { actor: 'cron' });

export type CronSchedulerOptions = {
  database: Database;
  store: EventStore;
  system: SystemInfo;
  signal: AbortSignal;
  now?: () => Date;
  /** How often to look for due jobs; default 1000 ms (slots are to the second). */
  everyMs?: number;
  log?: (message: string) => void;
};

/**
 * Fires due cron jobs as `cron` builds. Runs in one process at a time (the leader in
 * `runlog server`, always in `runlog serve`), but is safe with more: each slot is fired
 * through the cron decider with the stream's expected version, so only one `CronFired`
 * per slot is ever written, and its build has an id fixed by the slot, so creating it
 * twice is refused. Order: `CronFired` first, then the build; a crash in between leaves a
 * fired slot without its build, which the next tick creates (`recover`). A restart
 * therefore neither skips a recorded slot nor doubles it.
 *
 * Until runlog reads `.drone.yml` from the forge, a cron build takes the config and commit
 * of the newest build on its branch; with no build there the slot is recorded as skipped.
 */
export async function runCronScheduler(options: CronSchedulerOptions): Promise<void> {
  const { signal } = options;
  const log = options.log ?? (() => {});
  while (!signal.aborted) {
    try {
      await cronTick(options);
    } catch (error) {
      log(`runlog: cron: ${error instanceof Error ? error.message : String(error)}`);
    }
    // The listener goes when the wait ends either way: one left per tick piled up on the
    // server's lifetime signal (a tick a second, for as long as the server runs).
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, options.everyMs ?? 1000);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** One look: fire what is due, then create any fired build that does not exist yet. */
export async function cronTick(options: Omit<CronSchedulerOptions, 'signal'>): Promise<void> {
  const { database, store } = options;
  const now = (options.now ?? (() => new Date()))();
  const due = await database.db
    .select({ cron: crons, repo: repos })
    .from(crons)
    .innerJoin(repos, eq(repos.id, crons.repoId))
    .where(and(eq(crons.disabled, false), eq(repos.active, true), lte(crons.next, now)));
  for (const { cron, repo } of due) {
    const source = await branchConfig(database, repo.id, cron.branch);
    const handled = await handleCronCommand(store, repo.id, {
      type: 'FireCron',
      data: { repoId: repo.id, name: cron.name, scheduled: cron.next!.toISOString(), at: now.toISOString(), ...(source ? {} : { skipped: `no build on branch ${cron.branch} to take ${repo.configPath} from` }) },
    });
    const fired = handled.events[0];
    if (fired?.type === 'CronFired' && fired.data.buildId && source) {
      await createCronBuild(options, repo, cron.name, cron.branch, fired.data.buildId, source, now);
    }
  }
  await recover(options, now);
}

type RepoRow = typeof repos.$inferSelect;

async function createCronBuild(options: Omit<CronSchedulerOptions, 'signal'>, repo: RepoRow, name: string, branch: string, buildId: string, source: { text: string; commit: string }, at: Date) {
  try {
    await createBuild(options.database, {
      buildId,
      repo: { id: repo.id, owner: repo.owner, name: repo.name, settings: RepoSettings.parse(repo) },
      trigger: { event: 'cron', ref: `refs/heads/${branch}`, branch, commit: source.commit, after: source.commit, cron: name, sender: 'cron' },
      config: { path: repo.configPath, text: source.text },
      createdBy: 'cron',
      system: options.system,
      at,
    });
  } catch (error) {
    if (!(error instanceof StreamVersionConflict)) throw error; // already created: by us before a crash, or another replica
  }
}

/** Fired slots whose build is not in the views: create it (a no-op conflict when it exists but the view lags). */
async function recover(options: Omit<CronSchedulerOptions, 'signal'>, now: Date) {
  const { database } = options;
  const missing = await database.db
    .select({ cron: crons, repo: repos })
    .from(crons)
    .innerJoin(repos, eq(repos.id, crons.repoId))
    .leftJoin(builds, sql`${builds.id}::text = ${crons.lastBuildId}`)
    .where(and(isNotNull(crons.lastBuildId), sql`${builds.id} is null`));
  for (const { cron, repo } of missing) {
    const source = await branchConfig(database, repo.id, cron.branch);
    if (source) await createCronBuild(options, repo, cron.name, cron.branch, cron.lastBuildId!, source, cron.lastFired ?? now);
  }
}

/** The config text and commit of the newest build on a branch (from its BuildCreated). */
async function branchConfig(database: Database, repoId: string, branch: string): Promise<{ text: string; commit: string } | undefined> {
  const [row] = await database.query<{ text: string | null; commit: string | null }>(
    sql`select data->'config'->>'text' as text, data->'trigger'->>'commit' as commit from events
        where type = 'BuildCreated' and data->>'repoId' = ${repoId} and data->'trigger'->>'branch' = ${branch}
        order by global_position desc limit 1`,
  );
  return row?.text ? { text: row.text, commit: row.commit ?? '' } : undefined;
}
