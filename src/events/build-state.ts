import type { Plan, PlanStep, Skip } from '../pipeline/plan.ts';
import type { Trigger } from '../pipeline/trigger.ts';
import type { BlockReason, BuildEvent, EventOf, RestartFrom, RunnerRef } from './build-events.ts';
import { deriveBuildStatus, isStageEnded, type BuildStatus, type StageStatus, type StepStatus } from './build-status.ts';

/**
 * A build folded from its events: `initialState()` then `evolve` for each event in stream
 * order. Pure; `evolve` never throws on a valid event and ignores one that does not fit
 * (an event for an unknown stage, anything before `BuildCreated`), so a stream written by
 * an older version still folds. The build's `status` is always `deriveBuildStatus` of
 * the rest, except after `BuildFinished`, which fixes it.
 *
 * Changes that are implied rather than spelled out by an event (projections must apply
 * them too):
 * - `StageStarted` puts every step of the stage back to `pending` (a later attempt
 *   starts over); the first start sets `startedAt` and the deadline, later ones keep them.
 * - `StageResumed` puts steps numbered `fromStep` and above back to `pending` (all of
 *   them when `workspace` is `fresh`).
 * - `BuildBlocked` blocks every stage not ended; `BuildApproved` turns them back to
 *   `waiting`; `BuildDeclined` declines them.
 * - `StageCancelled` makes a stage that ever started `killed`, one that never started
 *   `skipped` (Drone's canceler).
 */

export interface StepState {
  number: number;
  name: string;
  status: StepStatus;
  /** Tries so far beyond the first (`StepRetried.retry`). */
  retries: number;
  exitCode?: number;
  error?: string;
  skip?: Skip;
  startedAt?: string;
  finishedAt?: string;
  logSize?: number;
  logSha256?: string;
  durationMs?: number;
}

export interface Claim {
  runner: RunnerRef;
  leaseToken: string;
  at: string;
}

export interface StageState {
  number: number;
  name: string;
  status: StageStatus;
  /** 0 until first queued; then the attempt queued, claimed or running. */
  attempt: number;
  /** The live claim; absent when no runner holds the stage. */
  claim?: Claim;
  /** The last runner that claimed it. */
  runner?: RunnerRef;
  queuedAt?: string;
  /** The first start; kept across attempts. */
  startedAt?: string;
  /** `startedAt` + `timeoutMinutes`; kept across attempts (DESIGN: a resumed stage keeps its deadline). */
  deadline?: string;
  timeoutMinutes?: number;
  /** The last recorded transition of the stage or its steps (log output is not recorded here). */
  lastActivityAt?: string;
  finishedAt?: string;
  workspace?: 'fresh' | 'kept';
  /**
   * The workspace the latest start ran on: its attempt's run id (`stageRunId`) after a
   * fresh start, the earlier one's after a kept resume (the parent build's for a restart).
   * A later attempt after a lost runner looks for it to resume there.
   */
  workspaceKey?: string;
  error?: string;
  skip?: Skip;
  steps: StepState[];
}

export interface InitialState {
  status: 'initial';
}

export interface Build {
  status: BuildStatus;
  buildId: string;
  repoId: string;
  repo: string;
  number: number;
  trigger: Trigger;
  config: { path: string; sha256: string };
  plan?: Plan;
  error?: string;
  parent?: number;
  /** This build restarts `parent` from a step (BuildCreated's `restart`). */
  restart?: RestartFrom;
  createdBy: string;
  createdAt: string;
  block?: { reason: BlockReason; message?: string; at: string };
  approved?: { by: string; at: string };
  declined?: { by: string; at: string };
  cancel?: { by: string; reason?: string; at: string };
  /** `BuildFinished` was recorded: nothing may happen to the build any more. */
  finished: boolean;
  finishedAt?: string;
  stages: StageState[];
}

/** Emmett's shape: a union keyed by `status`; `initial` is a stream with no events. */
export type BuildState = InitialState | Build;

export const initialState = (): BuildState => ({ status: 'initial' });

export const isBuild = (state: BuildState): state is Build => state.status !== 'initial';

/** A stage attempt's run id: what the engine names its network and fresh workspace after (`StageRun.runId`). */
export const stageRunId = (buildId: string, stage: number, attempt: number): string => `${buildId.slice(0, 8)}-${stage}-${attempt}`;

/** Services then steps, in plan number order (their numbers are shared within a stage). */
export const planStepsOf = (stage: Plan['stages'][number]): PlanStep[] =>
  [...stage.services, ...stage.steps].sort((a, b) => a.number - b.number);

const addMinutes = (at: string, minutes: number): string => new Date(Date.parse(at) + minutes * 60_000).toISOString();

const pendingStep = (step: StepState): StepState => ({ number: step.number, name: step.name, status: 'pending', retries: 0 });

function created(data: EventOf<'BuildCreated'>['data']): Build {
  const stages: StageState[] = (data.plan?.stages ?? []).map((stage) => ({
    number: stage.number,
    name: stage.name,
    status: 'waiting',
    attempt: 0,
    steps: planStepsOf(stage).map((step) => ({ number: step.number, name: step.name, status: 'pending', retries: 0 })),
  }));
  return {
    status: 'pending',
    buildId: data.buildId,
    repoId: data.repoId,
    repo: data.repo,
    number: data.number,
    trigger: data.trigger,
    config: { path: data.config.path, sha256: data.config.sha256 },
    plan: data.plan,
    error: data.error,
    parent: data.parent,
    ...(data.restart === undefined ? {} : { restart: data.restart }),
    createdBy: data.createdBy,
    createdAt: data.at,
    finished: false,
    stages,
  };
}

/** The facts `deriveBuildStatus` reads, from a folded build. */
export const buildFacts = (build: Build) => ({
  hasPlan: build.plan !== undefined,
  blocked: build.block !== undefined && !build.approved && !build.declined,
  declined: build.declined !== undefined,
  cancelRequested: build.cancel !== undefined,
  stages: build.stages,
});

const withStatus = (build: Build): Build => {
  if (build.finished) return build;
  const status = deriveBuildStatus(buildFacts(build));
  return status === build.status ? build : { ...build, status };
};

const mapStage = (build: Build, number: number, f: (stage: StageState) => StageState): Build => {
  if (!build.stages.some((s) => s.number === number)) return build;
  return { ...build, stages: build.stages.map((s) => (s.number === number ? f(s) : s)) };
};

const mapStep = (stage: StageState, number: number, at: string, f: (step: StepState) => StepState): StageState => {
  if (!stage.steps.some((s) => s.number === number)) return stage;
  return { ...stage, lastActivityAt: at, steps: stage.steps.map((s) => (s.number === number ? f(s) : s)) };
};

const ended = (stage: StageState, status: StageStatus, at: string, error?: string): StageState => ({
  ...stage,
  status,
  claim: undefined,
  finishedAt: at,
  ...(error === undefined ? {} : { error }),
});

function apply(build: Build, event: BuildEvent): Build {
  switch (event.type) {
    case 'BuildCreated':
      return build; // a second BuildCreated cannot be decided; ignore it
    case 'BuildBlocked': {
      const { reason, message, at } = event.data;
      return {
        ...build,
        block: { reason, ...(message === undefined ? {} : { message }), at },
        stages: build.stages.map((s) => (isStageEnded(s.status) ? s : { ...s, status: 'blocked' })),
      };
    }
    case 'BuildApproved':
      return {
        ...build,
        approved: { by: event.data.by, at: event.data.at },
        stages: build.stages.map((s) => (s.status === 'blocked' ? { ...s, status: 'waiting' } : s)),
      };
    case 'BuildDeclined':
      return {
        ...build,
        declined: { by: event.data.by, at: event.data.at },
        stages: build.stages.map((s) => (isStageEnded(s.status) ? s : ended(s, 'declined', event.data.at))),
      };
    case 'StageQueued':
      return mapStage(build, event.data.stage, (s) => ({
        ...s,
        status: 'pending',
        attempt: event.data.attempt,
        claim: undefined,
        queuedAt: event.data.at,
      }));
    case 'StageSkipped':
      return mapStage(build, event.data.stage, (s) => ({ ...ended(s, 'skipped', event.data.at), skip: event.data.reason }));
    case 'StageClaimed': {
      const { runner, leaseToken, attempt, at } = event.data;
      return mapStage(build, event.data.stage, (s) => ({ ...s, attempt, runner, claim: { runner, leaseToken, at } }));
    }
    case 'StageStarted': {
      const { at, timeoutMinutes, workspace, runner, attempt } = event.data;
      return mapStage(build, event.data.stage, (s) => ({
        ...s,
        status: 'running',
        attempt,
        runner,
        startedAt: s.startedAt ?? at,
        deadline: s.deadline ?? addMinutes(at, timeoutMinutes),
        timeoutMinutes: s.timeoutMinutes ?? timeoutMinutes,
        lastActivityAt: at,
        workspace,
        workspaceKey: stageRunId(build.buildId, s.number, attempt),
        steps: s.steps.map(pendingStep),
      }));
    }
    case 'StageResumed': {
      const { at, fromStep, workspace, timeoutMinutes, attempt } = event.data;
      return mapStage(build, event.data.stage, (s) => ({
        ...s,
        status: 'running',
        attempt,
        startedAt: s.startedAt ?? at,
        deadline: s.deadline ?? (timeoutMinutes === undefined ? undefined : addMinutes(at, timeoutMinutes)),
        timeoutMinutes: s.timeoutMinutes ?? timeoutMinutes,
        lastActivityAt: at,
        workspace,
        workspaceKey: workspace === 'fresh' ? stageRunId(build.buildId, s.number, attempt) : (s.workspaceKey ?? build.restart?.workspace?.key),
        steps: s.steps.map((step) => (workspace === 'fresh' || step.number >= fromStep ? pendingStep(step) : step)),
      }));
    }
    case 'StepStarted': {
      const { at } = event.data;
      return mapStage(build, event.data.stage, (s) =>
        mapStep(s, event.data.step, at, (step) => ({ ...pendingStep(step), status: 'running', startedAt: at })),
      );
    }
    case 'StepFinished': {
      const { at, status, exitCode, error, logSize, logSha256, durationMs } = event.data;
      return mapStage(build, event.data.stage, (s) =>
        mapStep(s, event.data.step, at, (step) => ({
          ...step,
          status,
          exitCode,
          error,
          logSize,
          logSha256,
          durationMs,
          startedAt: step.startedAt ?? at,
          finishedAt: at,
        })),
      );
    }
    case 'StepSkipped': {
      const { at, reason } = event.data;
      return mapStage(build, event.data.stage, (s) =>
        mapStep(s, event.data.step, at, (step) => ({ ...step, status: 'skipped', skip: reason, finishedAt: at })),
      );
    }
    case 'StepRetried': {
      const { at, retry, exitCode } = event.data;
      return mapStage(build, event.data.stage, (s) =>
        mapStep(s, event.data.step, at, (step) => ({ ...step, status: 'running', retries: retry, exitCode })),
      );
    }
    case 'StageFinished':
      return mapStage(build, event.data.stage, (s) => ended(s, event.data.status, event.data.at, event.data.error));
    case 'CancelRequested': {
      const { by, reason, at } = event.data;
      return { ...build, cancel: { by, ...(reason === undefined ? {} : { reason }), at } };
    }
    case 'StageCancelled':
      return mapStage(build, event.data.stage, (s) =>
        ended(s, s.startedAt === undefined ? 'skipped' : 'killed', event.data.at),
      );
    case 'StageTimedOut':
      return mapStage(build, event.data.stage, (s) =>
        ended(s, 'killed', event.data.at, `the stage ran past its deadline (${event.data.deadline})`),
      );
    case 'StageInactive':
      return mapStage(build, event.data.stage, (s) =>
        ended(s, 'killed', event.data.at, `no activity for ${event.data.limitSeconds}s since ${event.data.lastActivityAt}`),
      );
    case 'StageLeaseExpired':
      return mapStage(build, event.data.stage, (s) => ({ ...s, claim: undefined }));
    case 'StageRequeued':
      return mapStage(build, event.data.stage, (s) => ({
        ...s,
        status: 'pending',
        attempt: event.data.attempt,
        claim: undefined,
        queuedAt: event.data.at,
      }));
    case 'BuildFinished':
      return { ...build, status: event.data.status, finished: true, finishedAt: event.data.at };
    case 'StepLogPurged':
      return build; // the output is gone; every fact about the step stays
    // records of what a step did outside the build (a registry, a cluster): nothing here changes
    case 'ImagePublished':
    case 'DeploymentUpdated':
    case 'DeploymentFailed':
      return build;
    default: {
      const unknown: never = event;
      void unknown;
      return build;
    }
  }
}

export function evolve(state: BuildState, event: BuildEvent): BuildState {
  if (state.status === 'initial') {
    return event.type === 'BuildCreated' ? withStatus(created(event.data)) : state;
  }
  if (state.finished && event.type !== 'BuildFinished') {
    // Nothing is decided after BuildFinished; a stray event must not reopen the build.
    return applyQuiet(state, event);
  }
  const next = apply(state, event);
  return next === state ? state : withStatus(next);
}

/** After `BuildFinished` the stages may still be folded (a projection may show them) but the build's status stays. */
const applyQuiet = (build: Build, event: BuildEvent): Build => ({ ...apply(build, event), status: build.status });

/** Folds a stream; the same as `events.reduce(evolve, initialState())`. */
export const fold = (events: Iterable<BuildEvent>, state: BuildState = initialState()): BuildState => {
  let s = state;
  for (const e of events) s = evolve(s, e);
  return s;
};

export const findStage = (build: Build, number: number): StageState | undefined =>
  build.stages.find((s) => s.number === number);
