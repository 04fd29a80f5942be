import type { PlanStage, PlanStep } from '../pipeline/plan.ts';

/**
 * Where a stage's steps run: containers (docker) or host processes (exec).
 *
 * Lifecycle, per stage: `setup` once, then `runStep` for each step (several at once for
 * independent steps, services first and detached), then `destroy` once. `destroy` is
 * safe after a failed or partial `setup` and must always be called (in a `finally`, on a
 * signal of its own that outlives the stage's cancellation). A step that fails is a
 * result (`exitCode` ≠ 0), not an exception; exceptions mean the engine itself could not
 * do what was asked (image missing, daemon gone) and carry a message a user can act on.
 *
 * Aborting `signal` stops the step (containers killed, processes signalled) and `runStep`
 * then resolves with the exit it got (`killed: true`).
 */
export type Engine = {
  readonly kind: 'docker' | 'exec';
  setup(stage: StageRun, signal: AbortSignal): Promise<void>;
  runStep(stage: StageRun, step: StepRun, output: StepOutput, signal: AbortSignal): Promise<StepExit>;
  destroy(stage: StageRun, options?: { keepWorkspace?: boolean }): Promise<void>;
};

/** A stage as an engine sees it: the plan's stage plus the identities its resources are labelled with. */
export type StageRun = {
  buildId: string;
  /** owner/name */
  repo: string;
  buildNumber: number;
  stage: PlanStage;
  /** Unique per stage and attempt; names the network, the workspace volume and labels. */
  runId: string;
  /** Trusted repos may use privileged steps and host volumes. */
  trusted: boolean;
  /** Resolved registry credentials for image_pull_secrets (docker config.json `auths` shape). */
  registryAuth?: Record<string, { username: string; password: string }>;
  /** Set by `resume`: the workspace of an earlier attempt to reuse. */
  workspaceKey?: string;
};

/** A step ready to run: secrets already resolved into `env`. */
export type StepRun = {
  step: PlanStep;
  env: Record<string, string>;
};

/** Output of a step, in the order it was produced (stdout and stderr interleaved). */
export type StepOutput = (chunk: Uint8Array) => void;

export type StepExit = {
  exitCode: number;
  /** Stopped by the signal (cancel, timeout, inactivity) rather than ending by itself. */
  killed: boolean;
  oomKilled?: boolean;
};
