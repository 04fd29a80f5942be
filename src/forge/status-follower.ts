// Commit statuses back to the forge (Drone's status service): a follower of the event log that
// posts each build status change — created (pending or blocked), running, and the outcome —
// to the commit on the repo's forge, with the build's link. Only repos with a forge API
// (github, gitea, gitlab) and a forge token get them.
//
// Delivery is at least once, in log order per build: the checkpoint (row
// `forge:commit-statuses` of `checkpoints`) moves only after a batch was sent, so a crash
// sends that batch again (a forge takes the same status twice without harm: the newest one
// per context wins). A first start begins at the log's end (`markCommitStatusStart`, awaited
// before the server listens), so enabling this on a server with history posts nothing old.
// A forge that does not take a status is logged and retried with backoff, then skipped:
// the build never waits for, fails on or changes because of its forge.
import { setTimeout as sleep } from 'node:timers/promises';
import { and, inArray, ne } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../events/database.ts';
import type { BuildStatus } from '../events/build-status.ts';
import type { EventStore } from '../events/event-store.ts';
import { markFollowerStart, readFollowerCheckpoint, writeFollowerCheckpoint } from '../events/follower-checkpoint.ts';
import { buildSnapshots, type BuildSnapshot } from '../live/build-snapshots.ts';
import type { SystemInfo } from '../pipeline/trigger.ts';
import { repos } from '../projections/tables.ts';
import { postCommitStatus, type CommitStatus } from './commit-status.ts';
import { apiBase, ForgeApiError, hasApi, type FetchLike } from './forge-api.ts';
import { forgeAccessOf, type RepoSecretKey } from './repo-secrets.ts';

export const CHECKPOINT_NAME = 'forge:commit-statuses';

/** One status change of one build, as the log says it (pure data, no forge yet). */
export type StatusChange = { repoId: string; buildId: string; number: number; status: BuildStatus; sha: string; event: string };

/** The status changes among a batch's snapshots, in log order: a build's first status, then each that differs from the one before. */
export function statusChanges(snapshots: readonly BuildSnapshot[]): StatusChange[] {
  return snapshots
    .filter((snapshot) => snapshot.build.status !== snapshot.previousStatus)
    .map(({ repoId, buildId, build }) => ({ repoId, buildId, number: build.number, status: build.status as BuildStatus, sha: build.after, event: build.event }));
}

/** The build's page on this server: what the forge's "Details" link opens (Drone's `/{owner}/{name}/{number}`). */
export const buildLink = (system: SystemInfo, slug: string, number: number) => `${system.proto}://${system.host}/${slug}/${number}`;

/** A 4xx (other than timeouts and rate limits) will be the same next time: a wrong token, an unknown repo or commit. */
const retryable = (error: unknown) => !(error instanceof ForgeApiError) || error.status >= 500 || error.status === 408 || error.status === 429;

export interface CommitStatusOptions {
  readonly database: Database;
  readonly store: EventStore;
  /** Opens the repos' forge tokens (the API's repo secret key). */
  readonly secretKey: RepoSecretKey;
  /** Read at each post: the public host is known only once the server listens. */
  system(): SystemInfo;
  readonly signal: AbortSignal;
  /** Pauses between tries of one status; default 1, 4, 16 s (four tries). */
  readonly retryDelaysMs?: readonly number[];
  readonly logger?: Logger;
  readonly log?: (message: string) => void;
  readonly pollIntervalMs?: number;
  readonly fetch?: FetchLike;
}

/** Fixes a first start's place at the log's end before the server listens (see follower-checkpoint.ts). */
export const markCommitStatusStart = (database: Database, store: EventStore) => markFollowerStart(database, store, CHECKPOINT_NAME);

/** Runs until `signal` aborts, from the stored place. */
export async function runCommitStatuses(options: CommitStatusOptions): Promise<void> {
  const { database, store, signal } = options;
  const delays = options.retryDelaysMs ?? [1000, 4000, 16000];
  const warn = (fields: Record<string, unknown>, message: string) =>
    options.logger ? options.logger.warn({ component: 'commit-status', ...fields }, message) : (options.log ?? console.error)(`runlog: ${message} ${JSON.stringify(fields)}`);
  // A forge (API base) that just failed every try gets one try per status until it answers
  // again, so a forge that is down delays the statuses of other forges by seconds, not minutes.
  const down = new Set<string>();

  async function send(status: CommitStatus, change: StatusChange): Promise<void> {
    if (!hasApi(status.access)) return;
    const forge = apiBase(status.access);
    const tries = down.has(forge) ? 1 : delays.length + 1;
    const about = { repo: status.access.slug, build: change.number, status: change.status, forge };
    for (let attempt = 1; attempt <= tries && !signal.aborted; attempt += 1) {
      try {
        await postCommitStatus(status, options.fetch);
        down.delete(forge);
        return;
      } catch (error) {
        const problem = error instanceof Error ? error.message : String(error);
        const again = retryable(error) && attempt < tries;
        warn({ ...about, attempt, error: problem }, again ? 'commit status not taken; trying again' : 'commit status not taken; skipped');
        if (!again) {
          if (retryable(error)) down.add(forge);
          return;
        }
        await sleep(delays[attempt - 1]!, undefined, { signal }).catch(() => {});
      }
    }
  }

  async function report(batch: Parameters<typeof buildSnapshots>[1]): Promise<void> {
    // Most servers have few forge repos, and a batch without their builds costs one small query.
    const forgeRepos = await database.db.select().from(repos).where(and(ne(repos.forge, 'git'), ne(repos.forgeToken, '')));
    if (forgeRepos.length === 0) return;
    const byId = new Map(forgeRepos.map((repo) => [repo.id, repo]));
    const changes = statusChanges(await buildSnapshots(store, batch)).filter((change) => byId.has(change.repoId) && change.sha !== '');
    // Builds of one repo in log order, one after another; repos side by side (a slow forge holds only its own).
    const perRepo = new Map<string, StatusChange[]>();
    for (const change of changes) perRepo.set(change.repoId, [...(perRepo.get(change.repoId) ?? []), change]);
    await Promise.all(
      [...perRepo].map(async ([repoId, list]) => {
        const repo = byId.get(repoId)!;
        let access;
        try {
          access = forgeAccessOf(options.secretKey, repo);
        } catch (error) {
          warn({ repo: repo.slug, error: (error as Error).message }, 'commit statuses skipped: the forge token does not open');
          return;
        }
        for (const change of list) {
          if (signal.aborted) return;
          await send({ access, sha: change.sha, status: change.status, event: change.event, number: change.number, link: buildLink(options.system(), repo.slug, change.number) }, change);
        }
      }),
    );
  }

  while (!signal.aborted) {
    try {
      await store.follow({
        after: await readFollowerCheckpoint(database, CHECKPOINT_NAME),
        signal,
        ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
        onBatch: async (batch, checkpoint) => {
          await report(batch);
          if (signal.aborted) return; // unsent: the checkpoint stays, the batch is sent again next time
          await writeFollowerCheckpoint(database, CHECKPOINT_NAME, checkpoint);
        },
      });
    } catch (error) {
      if (signal.aborted) break;
      warn({ error: error instanceof Error ? error.message : String(error) }, 'commit statuses: following again in 1 s');
      await sleep(1000, undefined, { signal }).catch(() => {});
    }
  }
}
