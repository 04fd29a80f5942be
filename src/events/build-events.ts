import { z } from 'zod';
import { Plan, Skip } from '../pipeline/plan.ts';
import { Trigger } from '../pipeline/trigger.ts';

/**
 * The events of a build's stream (`build-<uuid>`): one zod schema per type, the TypeScript
 * types inferred from them. Contract for every reader (projections, runner, reaper, API):
 * - `data.at` is the moment the fact happened, as the command said (ISO 8601); deciders
 *   never read the clock, so replaying a stream yields the same state on any machine.
 * - A stage is named by its plan `number` (1-based) as `stage`; a step by its plan
 *   `number` within the stage as `step`. `attempt` starts at 1 and grows by one per
 *   `StageRequeued`.
 * - Status words are Drone's (`core/status.go`).
 * Only `build-decider.ts` creates these events; the schemas exist to validate what is read
 * back from the store and what runners send over RPC.
 */

/** ISO 8601 with a zone (`Z` or an offset): the time the command carried. */
export const At = z.iso.datetime({ offset: true });

/** 1-based plan numbers. */
export const StageNumber = z.number().int().positive();
export const StepNumber = z.number().int().positive();
export const Attempt = z.number().int().positive();

export const RunnerRef = z.object({ id: z.string().min(1), name: z.string() });
export type RunnerRef = z.infer<typeof RunnerRef>;

/** Why a build waits for a human: Drone blocks protected repos (and unsigned configs in them); Woodpecker's approval modes add forks and pull requests. */
export const BlockReason = z.enum(['protected', 'signature', 'fork', 'pull_request', 'manual']);
export type BlockReason = z.infer<typeof BlockReason>;

export const StepStatusFinished = z.enum(['success', 'failure', 'killed', 'error']);
export const StageStatusFinished = z.enum(['success', 'failure', 'error']);
export const BuildStatusFinished = z.enum(['success', 'failure', 'killed', 'error', 'declined']);
export type BuildStatusFinished = z.infer<typeof BuildStatusFinished>;

/**
 * A restart from a step (`POST .../builds/{n}/restart?stage=&step=`): the new build's stage
 * `stage` runs from step `step` on the workspace the parent's run of that stage left on
 * `workspace.runner` (absent when no runner kept it: the stage then runs whole). Stages in
 * `carried` succeeded in the parent and are not downstream of `stage`: they are not run
 * again (recorded skipped, condition 'restart').
 */
export const RestartFrom = z.object({
  stage: StageNumber,
  step: StepNumber,
  workspace: z.object({ runner: RunnerRef, key: z.string().min(1) }).optional(),
  carried: z.array(StageNumber),
});
export type RestartFrom = z.infer<typeof RestartFrom>;

const event = <T extends string, D extends z.ZodRawShape>(type: T, data: D) =>
  z.object({ type: z.literal(type), data: z.object({ ...data, at: At }) });

export const BuildCreated = event('BuildCreated', {
  buildId: z.uuid(),
  repoId: z.string().min(1),
  /** owner/name */
  repo: z.string().regex(/^[^/]+\/[^/]+$/),
  /** Per-repo build number, gap-free. */
  number: z.number().int().positive(),
  trigger: Trigger,
  config: z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), text: z.string() }),
  /** Absent when the config did not compile; the build then ends at once with `error`. */
  plan: Plan.optional(),
  /** The compile error(s) in words, with file:line:col. */
  error: z.string().optional(),
  /** Number of the build this one restarts (Drone's `parent`). */
  parent: z.number().int().positive().optional(),
  /** Set when this build restarts `parent` from one step of one stage (see `RestartFrom`). */
  restart: RestartFrom.optional(),
  createdBy: z.string(),
});

export const BuildBlocked = event('BuildBlocked', { reason: BlockReason, message: z.string().optional() });
export const BuildApproved = event('BuildApproved', { by: z.string() });
export const BuildDeclined = event('BuildDeclined', { by: z.string() });

/** The stage is ready to run: its dependencies ended as its `runsOn` requires, and the build is not blocked. The dispatcher publishes it. */
export const StageQueued = event('StageQueued', { stage: StageNumber, attempt: Attempt });

/** Never runs: excluded by a trigger condition (the plan's `skip`), or condition 'dependency' when a dependency ended in a way its `runsOn` excludes. */
export const StageSkipped = event('StageSkipped', { stage: StageNumber, reason: Skip });

/** A runner holds the stage; every later runner-side command must carry `leaseToken` (fencing). */
export const StageClaimed = event('StageClaimed', {
  stage: StageNumber,
  attempt: Attempt,
  runner: RunnerRef,
  leaseToken: z.string().min(1),
});

/**
 * The runner began the stage. The stage's deadline is the first `StageStarted.at` +
 * `timeoutMinutes`; a later start of the same stage (after a requeue) keeps it.
 */
export const StageStarted = event('StageStarted', {
  stage: StageNumber,
  attempt: Attempt,
  runner: RunnerRef,
  timeoutMinutes: z.number().int().positive(),
  workspace: z.enum(['fresh', 'kept']).optional(),
});

export const StepStarted = event('StepStarted', { stage: StageNumber, step: StepNumber, attempt: Attempt });

/**
 * A step ended. `logSize`/`logSha256` describe the stored log (after masking and the
 * size cap). They are absent only when the server, not the runner, recorded the end — a
 * step still running when its stage was ended without it (lost runner, cancel of a stage
 * whose runner did not report the step): the stored log chunks are then all there is.
 */
export const StepFinished = event('StepFinished', {
  stage: StageNumber,
  step: StepNumber,
  exitCode: z.number().int(),
  status: StepStatusFinished,
  error: z.string().optional(),
  logSize: z.number().int().nonnegative().optional(),
  logSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  durationMs: z.number().int().nonnegative().optional(),
});

/** Never ran: a `when` condition (the plan's `skip`), its `runsOn` (condition 'status'), or its stage ended first (condition 'stage'). */
export const StepSkipped = event('StepSkipped', { stage: StageNumber, step: StepNumber, reason: Skip });

/** The step's try `retry` (1-based) begins after it ended with `exitCode`; the step stays running. */
export const StepRetried = event('StepRetried', {
  stage: StageNumber,
  step: StepNumber,
  retry: z.number().int().positive(),
  exitCode: z.number().int(),
});

export const StageFinished = event('StageFinished', {
  stage: StageNumber,
  attempt: Attempt,
  status: StageStatusFinished,
  error: z.string().optional(),
});

export const CancelRequested = event('CancelRequested', { by: z.string(), reason: z.string().optional() });

/** The stage is `killed`. `attempt` is absent when it was cancelled before any claim. */
export const StageCancelled = event('StageCancelled', { stage: StageNumber, attempt: Attempt.optional() });

/** The stage ran past its deadline and was stopped; it ends `killed` (Drone: a context deadline kills the stage). */
export const StageTimedOut = event('StageTimedOut', { stage: StageNumber, attempt: Attempt, deadline: At });

/** No output and no step transition for `limitSeconds` since `lastActivityAt`; the stage ends `killed`. */
export const StageInactive = event('StageInactive', {
  stage: StageNumber,
  attempt: Attempt,
  lastActivityAt: At,
  limitSeconds: z.number().int().positive(),
});

/** The claim's lease lapsed (no heartbeat): the runner is presumed lost and fenced off. Followed by `StageRequeued` or by `StageFinished` error. */
export const StageLeaseExpired = event('StageLeaseExpired', {
  stage: StageNumber,
  attempt: Attempt,
  runner: RunnerRef,
  leaseToken: z.string().min(1),
});

/** The stage is queued again as `attempt` (the new one). `reason` is set when it was not a lost lease (a routed offer nobody took). */
export const StageRequeued = event('StageRequeued', { stage: StageNumber, attempt: Attempt, reason: z.string().optional() });

/**
 * A claimed stage continues instead of starting over: from step `fromStep` on. `kept`:
 * steps before it that succeeded stay as they are (the workspace survived); `fresh`: the
 * workspace is gone, every step runs again.
 */
export const StageResumed = event('StageResumed', {
  stage: StageNumber,
  attempt: Attempt,
  fromStep: StepNumber,
  workspace: z.enum(['kept', 'fresh']),
  /**
   * `kept` only: the steps before `fromStep` whose work stays in the workspace and that do
   * not run again — the earlier attempt's successes (after a lost runner), or the parent
   * build's (a restart from a step). Absent in events written before it existed.
   */
  keptSteps: z.array(StepNumber).optional(),
  /** Sets the deadline (`at` + this) only when the stage never started before; otherwise the first start's deadline holds. */
  timeoutMinutes: z.number().int().positive().optional(),
});

export const BuildFinished = event('BuildFinished', { status: BuildStatusFinished });

/**
 * `by` deleted the step's stored output (Drone's `DELETE .../logs/{stage}/{step}`). Its
 * `StepFinished` keeps the size and sha256 the log had, so the history still proves what
 * ran; only the text is gone. May follow `BuildFinished`.
 */
export const StepLogPurged = event('StepLogPurged', { stage: StageNumber, step: StepNumber, by: z.string() });

/** An image build step pushed `repo` with these tags; `digest` is the registry's manifest digest (pull by `repo@digest`). */
export const ImagePublished = event('ImagePublished', {
  stage: StageNumber,
  step: StepNumber,
  repo: z.string().min(1),
  tags: z.array(z.string().min(1)).min(1),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
});

const DeploymentRef = {
  stage: StageNumber,
  step: StepNumber,
  cluster: z.string(),
  namespace: z.string().min(1),
  deployment: z.string().min(1),
  containers: z.array(z.string().min(1)),
  image: z.string().min(1),
};

/** A deploy step set the containers' image and the deployment rolled out (`generation` is the one that did). */
export const DeploymentUpdated = event('DeploymentUpdated', { ...DeploymentRef, generation: z.number().int().nonnegative().optional() });

/** A deploy step could not update the deployment, or its rollout did not finish: `error` says which, in words. */
export const DeploymentFailed = event('DeploymentFailed', { ...DeploymentRef, error: z.string() });

export const BuildEvent = z.discriminatedUnion('type', [
  BuildCreated,
  BuildBlocked,
  BuildApproved,
  BuildDeclined,
  StageQueued,
  StageSkipped,
  StageClaimed,
  StageStarted,
  StepStarted,
  StepFinished,
  StepSkipped,
  StepRetried,
  StageFinished,
  CancelRequested,
  StageCancelled,
  StageTimedOut,
  StageInactive,
  StageLeaseExpired,
  StageRequeued,
  StageResumed,
  BuildFinished,
  StepLogPurged,
  ImagePublished,
  DeploymentUpdated,
  DeploymentFailed,
]);
export type BuildEvent = z.infer<typeof BuildEvent>;
export type BuildEventType = BuildEvent['type'];
/** The event of one type: `EventOf<'StageQueued'>`. */
export type EventOf<T extends BuildEventType> = Extract<BuildEvent, { type: T }>;
export type BuildCreated = EventOf<'BuildCreated'>;

export const buildEventTypes = BuildEvent.options.map((o) => o.shape.type.value) as BuildEventType[];

export const buildStreamId = (buildId: string) => `build-${buildId}`;
