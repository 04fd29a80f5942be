import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { eq } from 'drizzle-orm';
import type { StageOffer, StageQueue } from '../dispatch/stage-queue.ts';
import { isBuild, stageRunId } from '../events/build-state.ts';
import type { Database } from '../events/database.ts';
import { IllegalCommand } from '../events/decider-errors.ts';
import type { EventStore } from '../events/event-store.ts';
import { repos } from '../projections/tables.ts';
import type { Engine } from '../runner/engine.ts';
import { hostPlatform } from '../runner/platform.ts';
import { runRunnerLoop, type ClaimedStage } from '../runner/runner-loop.ts';
import { handleBuildCommand } from './command-handler.ts';
import { resumeRunFields } from './restart-from-step.ts';
import { RunnerReport, type RunnerReportInput } from '../rpc/protocol.ts';
import { startPresence } from '../runner/presence.ts';
import { createWorkspaceKeeper } from '../runner/workspace-keeper.ts';
import { recordRunnerReport } from './runners.ts';
import { createStoreReporter } from './store-reporter.ts';
import { loadBuildSecrets } from '../secrets/build-secrets.ts';
import type { SecretKey } from '../secrets/sealed-value.ts';

export type EmbeddedRunnerOptions = {
  database: Database;
  store: EventStore;
  queue: StageQueue;
  engine: Engine;
  capacity: number;
  signal: AbortSignal;
  name?: string;
  /** Opens the secrets a claimed stage is given (RUNLOG_SECRET_KEY). */
  secretKey?: SecretKey;
  log?: (message: string) => void;
  /** How long a failed stage's workspace is kept for a restart from a step (0: not at all). */
  workspaceRetentionMs?: number;
  /** The engine's label for this runner's containers and folders (see ServerOptions.embeddedRunner.scope); default `name`. */
  scope?: string;
};

/**
 * The runner inside `runlog serve`: the same loop and stage runner as `runlog runner`, but
 * its claims and reports go straight through the server's command handling instead of
 * RPC. It serves this host's platform with no labels, on the engine `serve` picked.
 */
export async function runEmbeddedRunner(options: EmbeddedRunnerOptions): Promise<void> {
  const { database, store } = options;
  const name = options.name ?? `${hostname()}-embedded`;
  const runner = { id: `embedded:${name}`, name };
  await options.engine.sweep({ runner: options.scope ?? name }).catch((error: unknown) => options.log?.(`runlog: sweep failed: ${String(error)}`));

  async function claim(offer: StageOffer): Promise<ClaimedStage> {
    const leaseToken = randomUUID();
    const { state } = await handleBuildCommand(
      store,
      offer.buildId,
      { type: 'ClaimStage', data: { stage: offer.stage, attempt: offer.attempt, runner, leaseToken, at: new Date().toISOString() } },
      { runnerId: runner.id },
    );
    const stage = isBuild(state) ? state.plan?.stages.find((s) => s.number === offer.stage) : undefined;
    if (!isBuild(state) || !stage) throw new IllegalCommand('unknown_stage', `stage ${offer.stage} of build ${offer.buildId} is not in its plan`);
    const [repo] = await database.db.select().from(repos).where(eq(repos.id, state.repoId)).limit(1);
    const timeoutMinutes = repo?.timeout ?? 60;
    return {
      reporter: createStoreReporter({ database, store, buildId: offer.buildId, runnerId: runner.id }),
      leaseToken,
      secrets: await loadBuildSecrets(database, options.secretKey, state.repoId, state.trigger, options.log),
      limits: { timeoutMinutes },
      run: {
        buildId: state.buildId,
        repo: state.repo,
        buildNumber: state.number,
        stage,
        runId: stageRunId(state.buildId, stage.number, offer.attempt),
        trusted: repo?.trusted ?? false,
        clone: { url: repo?.cloneUrl ?? '', commit: state.trigger.commit, ref: state.trigger.ref, depth: stage.clone.depth },
        ...resumeRunFields(state, stage.number),
      },
    };
  }

  const { engine } = options;
  const keeper =
    engine.workspaces && (options.workspaceRetentionMs ?? 0) > 0
      ? createWorkspaceKeeper({ workspaces: engine.workspaces, retentionMs: options.workspaceRetentionMs! })
      : undefined;
  const platform = hostPlatform();
  const startedAt = new Date().toISOString();
  let holding: RunnerReportInput['stages'] = [];
  // The embedded runner writes its row of the `runners` table itself, as a remote one reports over the RPC.
  const presence = startPresence({
    describe: () => ({
      runner,
      platform: { os: platform.os, arch: platform.arch, variant: platform.variant ?? '', kernel: platform.kernel ?? '' },
      engine: engine.kind,
      labels: {},
      capacity: options.capacity,
      stages: holding,
      workspaces: keeper?.list() ?? [],
      startedAt,
    }),
    send: (report) => recordRunnerReport(database, RunnerReport.parse(report), new Date()),
    signal: options.signal,
    log: options.log,
  });

  await runRunnerLoop({
    queue: options.queue,
    profile: { id: runner.id, platform, labels: {}, type: options.engine.kind },
    keeper,
    onStagesChanged: (stages) => {
      holding = stages;
      presence.poke();
    },
    engine: options.engine,
    capacity: options.capacity,
    claim,
    signal: options.signal,
    log: options.log,
  });
  await presence.done;
}
