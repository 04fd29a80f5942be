/**
 * Status words and how a build's status follows from its stages — pure, shared by
 * `evolve` and the projections, so the `builds` view and a replay always agree.
 * The words are Drone's (`core/status.go`); `waiting` is Drone's `waiting_on_dependencies`.
 */

export type BuildStatus = 'pending' | 'blocked' | 'declined' | 'running' | 'success' | 'failure' | 'killed' | 'error';
export type StageStatus =
  | 'waiting'
  | 'pending'
  | 'running'
  | 'success'
  | 'failure'
  | 'killed'
  | 'error'
  | 'skipped'
  | 'blocked'
  | 'declined';
export type StepStatus = 'pending' | 'running' | 'success' | 'failure' | 'killed' | 'error' | 'skipped';

const stageEnded: ReadonlySet<StageStatus> = new Set(['success', 'failure', 'killed', 'error', 'skipped', 'declined']);
const stepEnded: ReadonlySet<StepStatus> = new Set(['success', 'failure', 'killed', 'error', 'skipped']);

/** The stage will not change any more (Drone's `IsDone`, with `declined` counted as done). */
export const isStageEnded = (status: StageStatus): boolean => stageEnded.has(status);
export const isStepEnded = (status: StepStatus): boolean => stepEnded.has(status);

/** Drone's `Stage.IsFailed`: the outcome its dependents see as `failure`. */
export const isStageFailed = (status: StageStatus): boolean =>
  status === 'failure' || status === 'killed' || status === 'error';

/** What `deriveBuildStatus` needs to know about a build. */
export interface BuildFacts {
  /** False when the config did not compile (`BuildCreated` without a plan). */
  hasPlan: boolean;
  /** Blocked and neither approved nor declined yet. */
  blocked: boolean;
  declined: boolean;
  cancelRequested: boolean;
  stages: ReadonlyArray<{ status: StageStatus; startedAt?: string | undefined }>;
}

/**
 * The build's status from its stages.
 * - no plan → `error` (Drone's `createBuildError`);
 * - declined → `declined`;
 * - every stage ended (or there are none) → `killed` when a cancel was requested, else the
 *   worst stage outcome: killed > error > failure > success (skipped stages count as
 *   nothing; all skipped is success). Drone's teardown takes the *first* stage in plan
 *   order that is killed/failure/error; we rank instead so the answer does not depend on
 *   stage order;
 * - blocked → `blocked`;
 * - some stage started, or ended other than skipped → `running` (Drone sets the build
 *   running when its first stage starts; a claim alone is still `pending`);
 * - otherwise `pending`.
 */
export function deriveBuildStatus(build: BuildFacts): BuildStatus {
  if (!build.hasPlan) return 'error';
  if (build.declined) return 'declined';
  if (build.stages.every((s) => isStageEnded(s.status))) {
    if (build.cancelRequested) return 'killed';
    const has = (status: StageStatus) => build.stages.some((s) => s.status === status);
    if (has('killed')) return 'killed';
    if (has('error')) return 'error';
    if (has('failure')) return 'failure';
    return 'success';
  }
  if (build.blocked) return 'blocked';
  const started = build.stages.some(
    (s) => s.startedAt !== undefined || s.status === 'running' || (isStageEnded(s.status) && s.status !== 'skipped'),
  );
  return started ? 'running' : 'pending';
}

/**
 * A stage's status from its steps, when the runner leaves it to the server (runner-go's
 * `State.update`/`failed`): any step in `error` → `error` (Drone does so even under
 * `failure: ignore`: an error is the system's, not the step's); any step failed or killed
 * whose plan does not say `failure: ignore` → `failure`; otherwise `success`.
 */
export function deriveStageOutcome(
  steps: ReadonlyArray<{ status: StepStatus; ignoreFailure: boolean }>,
): 'success' | 'failure' | 'error' {
  if (steps.some((s) => s.status === 'error')) return 'error';
  if (steps.some((s) => (s.status === 'failure' || s.status === 'killed') && !s.ignoreFailure)) return 'failure';
  return 'success';
}

/** A step's status from its exit code when the runner does not say: 0 and 78 (Drone's "skip the rest") pass. */
export const stepStatusFromExitCode = (exitCode: number): 'success' | 'failure' =>
  exitCode === 0 || exitCode === 78 ? 'success' : 'failure';
