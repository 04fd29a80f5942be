import { z } from 'zod';
import { Skip } from '../pipeline/plan.ts';
import { At, Attempt, BlockReason, BuildCreated, DeploymentUpdated, ImagePublished, RunnerRef, StageNumber, StepNumber } from './build-events.ts';

/**
 * The commands of a build's decider: what someone asks to happen, in the imperative. Each
 * carries `at` (the caller's clock: the API, the runner's RPC handler, the reaper) and,
 * for a new build, its ids — the decider reads neither clock nor random source.
 *
 * Fencing: runner-side commands carry the `leaseToken` of their claim and are refused
 * (`stale_lease`, 403) unless it is the stage's live claim. `CancelStage`, `TimeOutStage`
 * and `MarkStageInactive` are sent by runners *and* by the server's reaper for stages
 * whose runner vanished; the reaper passes `leaseToken: null` explicitly (a runner that
 * forgets its token fails validation rather than slipping past the fence).
 */

const command = <T extends string, D extends z.ZodRawShape>(type: T, data: D) =>
  z.object({ type: z.literal(type), data: z.object({ ...data, at: At }) });

const LeaseToken = z.string().min(1);
/** A runner's token, or `null` when the server itself acts (reaper, admin). */
const LeaseTokenOrServer = LeaseToken.nullable();

/** Everything `BuildCreated` records, plus `block` when the build must wait for approval. */
export const CreateBuild = command('CreateBuild', {
  ...BuildCreated.shape.data.omit({ at: true }).shape,
  block: BlockReason.optional(),
});

export const ApproveBuild = command('ApproveBuild', { by: z.string() });
export const DeclineBuild = command('DeclineBuild', { by: z.string() });

/** A runner takes a queued stage; `attempt` is the one it was delivered (`<stage>:<attempt>`), so a stale redelivery is refused. */
export const ClaimStage = command('ClaimStage', {
  stage: StageNumber,
  attempt: Attempt,
  runner: RunnerRef,
  leaseToken: LeaseToken,
});

/** Begin a claimed stage from its first step. `timeoutMinutes` is the repo's timeout; it sets the deadline only on the stage's first start. */
export const StartStage = command('StartStage', {
  stage: StageNumber,
  leaseToken: LeaseToken,
  timeoutMinutes: z.number().int().positive(),
  workspace: z.enum(['fresh', 'kept']).optional(),
});

export const StartStep = command('StartStep', { stage: StageNumber, step: StepNumber, leaseToken: LeaseToken });

/** `status` defaults from the exit code (0 and 78 pass, as in Drone). */
export const FinishStep = command('FinishStep', {
  stage: StageNumber,
  step: StepNumber,
  leaseToken: LeaseToken,
  exitCode: z.number().int(),
  status: z.enum(['success', 'failure', 'killed', 'error']).optional(),
  error: z.string().optional(),
  logSize: z.number().int().nonnegative(),
  logSha256: z.string().regex(/^[0-9a-f]{64}$/),
  durationMs: z.number().int().nonnegative().optional(),
});

export const SkipStep = command('SkipStep', { stage: StageNumber, step: StepNumber, leaseToken: LeaseToken, reason: Skip });

/** The step ended with `exitCode` and its plan's `retry` policy allows try number `retry` (1-based). */
export const RetryStep = command('RetryStep', {
  stage: StageNumber,
  step: StepNumber,
  leaseToken: LeaseToken,
  retry: z.number().int().positive(),
  exitCode: z.number().int(),
});

/** `status` defaults from the steps (runner-go's rule, see `deriveStageOutcome`); give `error` for a failure of the runner itself. */
export const FinishStage = command('FinishStage', {
  stage: StageNumber,
  leaseToken: LeaseToken,
  status: z.enum(['success', 'failure', 'error']).optional(),
  error: z.string().optional(),
});

export const RequestCancel = command('RequestCancel', { by: z.string(), reason: z.string().optional() });

export const CancelStage = command('CancelStage', { stage: StageNumber, leaseToken: LeaseTokenOrServer });

/** Refused before the stage's deadline (`deadline_not_reached`). */
export const TimeOutStage = command('TimeOutStage', { stage: StageNumber, leaseToken: LeaseTokenOrServer });

/** Refused unless `at` ≥ `lastActivityAt` + `limitSeconds` (`not_inactive`). `lastActivityAt` counts log output, which only the runner sees. */
export const MarkStageInactive = command('MarkStageInactive', {
  stage: StageNumber,
  leaseToken: LeaseTokenOrServer,
  lastActivityAt: At,
  limitSeconds: z.number().int().positive(),
});

/**
 * The reaper found the claim `leaseToken` without a heartbeat past its TTL (or a runner
 * hands its stage back on shutdown). Requeued as attempt + 1 while `attempt < maxAttempts`,
 * else the stage ends in `error`.
 */
export const ExpireLease = command('ExpireLease', {
  stage: StageNumber,
  leaseToken: LeaseToken,
  maxAttempts: z.number().int().positive().default(3),
});

/**
 * A claimed stage continues from `fromStep`: with `kept`, steps numbered below it keep
 * their outcome (those never run are recorded skipped); with `fresh`, every step runs again.
 */
export const ResumeStage = command('ResumeStage', {
  stage: StageNumber,
  leaseToken: LeaseToken,
  fromStep: StepNumber,
  workspace: z.enum(['kept', 'fresh']),
  timeoutMinutes: z.number().int().positive(),
});

/** Delete a step's stored output; refused while the step is still writing it. Allowed on a finished build. */
export const PurgeStepLog = command('PurgeStepLog', { stage: StageNumber, step: StepNumber, by: z.string() });
/**
 * The server takes back an offer nobody took: a restart's stage routed to the runner that
 * keeps its workspace, not claimed within the wait. Queued again as `attempt` + 1, for any
 * runner of its pool. Refused once the stage was claimed or the attempt moved on.
 */
export const RequeueStage = command('RequeueStage', { stage: StageNumber, attempt: Attempt, reason: z.string().min(1) });

/** A running step pushed an image (see `ImagePublished`). */
export const PublishImage = command('PublishImage', {
  ...ImagePublished.shape.data.omit({ at: true }).shape,
  leaseToken: LeaseToken,
});

/** A running deploy step ended its work on a deployment: `error` absent = updated and rolled out. */
export const RecordDeployment = command('RecordDeployment', {
  ...DeploymentUpdated.shape.data.omit({ at: true }).shape,
  error: z.string().optional(),
  leaseToken: LeaseToken,
});

export const BuildCommand = z.discriminatedUnion('type', [
  CreateBuild,
  ApproveBuild,
  DeclineBuild,
  ClaimStage,
  StartStage,
  StartStep,
  FinishStep,
  SkipStep,
  RetryStep,
  FinishStage,
  RequestCancel,
  CancelStage,
  TimeOutStage,
  MarkStageInactive,
  ExpireLease,
  ResumeStage,
  PurgeStepLog,
  PublishImage,
  RecordDeployment,
  RequeueStage,
]);
export type BuildCommand = z.infer<typeof BuildCommand>;
/** What callers write: defaults (`maxAttempts`, the trigger's and plan's) may be left out. */
export type BuildCommandInput = z.input<typeof BuildCommand>;
export type BuildCommandType = BuildCommand['type'];
export type CommandOf<T extends BuildCommandType> = Extract<BuildCommand, { type: T }>;
