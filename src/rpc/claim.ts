import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { isBuild, stageRunId } from '../events/build-state.ts';
import type { BuildEvent } from '../events/build-events.ts';
import type { Database } from '../events/database.ts';
import { IllegalCommand } from '../events/decider-errors.ts';
import type { EventStore } from '../events/event-store.ts';
import { repos } from '../projections/tables.ts';
import type { StageRun } from '../runner/engine.ts';
import { handleBuildCommand } from '../server/command-handler.ts';
import { recordLease } from '../server/leases.ts';
import { resumeRunFields } from '../server/restart-from-step.ts';
import type { ClaimBody } from './protocol.ts';
import { loadBuildSecrets } from '../secrets/build-secrets.ts';
import type { SecretKey } from '../secrets/sealed-value.ts';

/** What a claim answers: everything `ClaimedStage` holds but the reporter, which the runner builds around it. */
export type ClaimAnswer = {
  leaseToken: string;
  attempt: number;
  /** Heartbeat at least every third of this. */
  leaseTtlSeconds: number;
  secrets: Record<string, string>;
  limits: { timeoutMinutes: number };
  run: StageRun;
  /**
   * The build's events up to and including this claim: what the runner's first
   * `reporter.history()` answers, so it needs no read of its own before starting. Absent
   * from older servers (the runner then reads it over RPC).
   */
  history?: BuildEvent[];
};

/**
 * Records `ClaimStage` (the decider refuses a second claim while one is live, and a stale
 * attempt) and then the lease. Between the two a crash leaves a claim with no lease row;
 * the claim then holds until an admin acts — rare, and never two runners on one stage.
 * Answers the same data `runlog serve`'s in-process claim gives its runner.
 */
export async function claimStage(deps: { database: Database; store: EventStore; leaseTtlSeconds: number; now?: () => Date; secretKey?: SecretKey; log?: (message: string) => void }, body: ClaimBody): Promise<ClaimAnswer> {
  const { database, store } = deps;
  const leaseToken = randomUUID();
  const at = (deps.now?.() ?? new Date()).toISOString();
  const { state, stream } = await handleBuildCommand(
    store,
    body.buildId,
    { type: 'ClaimStage', data: { stage: body.stage, attempt: body.attempt, runner: body.runner, leaseToken, at } },
    { runnerId: body.runner.id },
  );
  const stage = isBuild(state) ? state.plan?.stages.find((s) => s.number === body.stage) : undefined;
  if (!isBuild(state) || !stage) throw new IllegalCommand('unknown_stage', `stage ${body.stage} of build ${body.buildId} is not in its plan`);
  // Independent reads and the lease write, at once: each is a round trip the runner waits for.
  const [, [repo], secrets] = await Promise.all([
    recordLease(database, { buildId: body.buildId, stage: body.stage, attempt: body.attempt, leaseToken, runnerId: body.runner.id }, deps.leaseTtlSeconds),
    database.db.select().from(repos).where(eq(repos.id, state.repoId)).limit(1),
    // Only what this build may see (no pull_request-withheld secret reaches a fork's code).
    loadBuildSecrets(database, deps.secretKey, state.repoId, state.trigger, deps.log),
  ]);
  return {
    leaseToken,
    attempt: body.attempt,
    leaseTtlSeconds: deps.leaseTtlSeconds,
    secrets,
    limits: { timeoutMinutes: repo?.timeout ?? 60 },
    run: {
      buildId: state.buildId,
      repo: state.repo,
      buildNumber: state.number,
      stage,
      runId: stageRunId(state.buildId, stage.number, body.attempt),
      trusted: repo?.trusted ?? false,
      clone: { url: repo?.cloneUrl ?? '', commit: state.trigger.commit, ref: state.trigger.ref, depth: stage.clone.depth },
      ...resumeRunFields(state, stage.number),
    },
    history: stream,
  };
}
