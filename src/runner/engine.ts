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
  /**
   * Runs one step. The clone step (`kind: 'clone'`) fetches `StageRun.clone` into the workspace.
   * A detached step (`kind: 'service'` or `detach: true`) resolves as soon as it has started,
   * with `exitCode: 0` and `ended`: it keeps running, and writing to `output`, until it ends
   * by itself, `signal` aborts, or `destroy` stops it (then `ended` resolves `killed: true`).
   * Steps of one stage may run concurrently.
   */
  runStep(stage: StageRun, step: StepRun, output: StepOutput, signal: AbortSignal): Promise<StepExit>;
  /**
   * Stops whatever still runs and removes everything `setup` and `runStep` made for this
   * stage (the workspace too, unless `keepWorkspace`). Idempotent; works from any engine
   * instance with the same runner name, since it finds resources by the stage's `runId`.
   * It tries every removal, then rejects once, naming what it could not remove.
   */
  destroy(stage: StageRun, options?: { keepWorkspace?: boolean }): Promise<void>;
  /**
   * Removes everything a runner of this name left behind (a crash, a kill -9): containers,
   * networks, volumes, temp folders. Call once at start-up, before taking work: it does
   * not spare stages this instance is running. Resolves with what it removed.
   */
  sweep(options?: { runner?: string }): Promise<string[]>;
  /** Workspaces kept by `destroy({ keepWorkspace })`, by key (`workspaceKey ?? runId`). Engines without it keep none for restarts. */
  readonly workspaces?: EngineWorkspaces;
};

/** The kept workspaces of an engine: a restart from a step runs on one (see workspace-keeper.ts). */
export type EngineWorkspaces = {
  has(key: string): Promise<boolean>;
  /** Removes it; already gone is fine. */
  remove(key: string): Promise<void>;
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
  /** Set by `resume`: the workspace of an earlier attempt to reuse (that attempt's `runId`). */
  workspaceKey?: string;
  /**
   * A restart from a step (BuildCreated's `restart`): the step to start from. With
   * `workspaceKey` (the parent's kept workspace, present on this runner) the stage resumes
   * there; without, the workspace is gone and the stage runs whole.
   */
  resumeFrom?: number;
  /** What the clone step fetches; filled by the stage runner from the build and repo. Required when the stage has a clone step. */
  clone?: CloneSource;
};

/**
 * The source of a stage's clone step. `stage.clone` (the plan) adds retries, skip_verify and
 * tags; `depth` here is normally `stage.clone.depth` (0 = full history).
 */
export type CloneSource = {
  /** The repo's clone URL (https, ssh, or file:// for local repos). */
  url: string;
  /** The build's commit (full sha) to check out; '' = the tip of `ref`. */
  commit: string;
  /** The ref the build is for: refs/heads/main, refs/tags/v1, refs/pull/7/head; '' = fetch the commit alone. */
  ref: string;
  depth: number;
  /** Credentials for the clone host, written to a netrc only the clone sees. */
  netrc?: { machine: string; login: string; password: string };
};

/** A step ready to run: secrets already resolved into `env`. */
export type StepRun = {
  step: PlanStep;
  /** Laid over the plan's plain `environment` values (engines merge the two): resolved secrets, and anything the runner adds. */
  env: Record<string, string>;
};

/** Output of a step, in the order it was produced (stdout and stderr interleaved). */
export type StepOutput = (chunk: Uint8Array) => void;

export type StepExit = {
  exitCode: number;
  /** Stopped by the signal (cancel, timeout, inactivity) rather than ending by itself. */
  killed: boolean;
  oomKilled?: boolean;
  /** Detached steps only: resolves when the step really ends (see `Engine.runStep`). */
  ended?: Promise<StepExit>;
  /** What the step did outside the build, for the stage runner to record before the step's end. */
  records?: StepRecord[];
};

/** An image pushed (`ImagePublished`) or a deployment updated or not (`DeploymentUpdated` / `DeploymentFailed`). */
export type StepRecord =
  | { type: 'PublishImage'; data: { repo: string; tags: string[]; digest: string } }
  | {
      type: 'RecordDeployment';
      data: { cluster: string; namespace: string; deployment: string; containers: string[]; image: string; generation?: number; error?: string };
    };
