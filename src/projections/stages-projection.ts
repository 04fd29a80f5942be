// The `stages` view: one row per stage of a build's plan. Static columns come from the plan
// in `BuildCreated`; status, attempt, runner and times from the folded build, so they are
// exactly what the decider's `evolve` says.
import { buildEventTypes, type BuildEventType } from '../events/build-events.ts';
import type { Build, StageState } from '../events/build-state.ts';
import { isStageEnded } from '../events/build-status.ts';
import type { Projection, ProjectedEvent } from './projection.ts';
import { patch, upsert, type RowOp } from './row-ops.ts';

/** Events that change stages other than the one they name (build-state.ts: blocking and declining touch every stage not ended). */
const everyStage = new Set(['BuildBlocked', 'BuildApproved', 'BuildDeclined']);

function reduce(event: ProjectedEvent): RowOp[] {
  if (!('build' in event)) return [];
  const { build } = event;
  const at = new Date(event.data.at);
  if (event.type === 'BuildCreated') return created(build, at);
  if (everyStage.has(event.type)) return build.stages.map((stage) => changed(build, stage, at));
  if (!('stage' in event.data)) return [];
  const number = event.data.stage;
  const stage = build.stages.find((s) => s.number === number);
  return stage ? [changed(build, stage, at)] : [];
}

function created(build: Build, at: Date): RowOp[] {
  return (build.plan?.stages ?? []).map((plan) => {
    const state = build.stages.find((s) => s.number === plan.number)!;
    return upsert(
      'stages',
      { buildId: build.buildId, number: plan.number },
      {
        set: {
          repoId: build.repoId,
          name: plan.name,
          kind: 'pipeline',
          type: plan.type,
          ...dynamic(build, state),
          os: plan.platform.os,
          arch: plan.platform.arch,
          variant: plan.platform.variant,
          kernel: plan.platform.kernel,
          labels: plan.labels,
          dependsOn: plan.dependsOn,
          onSuccess: plan.runsOn.includes('success'),
          onFailure: plan.runsOn.includes('failure'),
          errignore: false,
          concurrencyLimit: plan.concurrency?.limit ?? null,
          created: at,
          updated: at,
        },
      },
    );
  });
}

const changed = (build: Build, stage: StageState, at: Date): RowOp =>
  patch('stages', { buildId: build.buildId, number: stage.number }, { set: { ...dynamic(build, stage), updated: at } });

/** The columns that follow the stage's state. */
function dynamic(build: Build, stage: StageState) {
  return {
    status: stage.status,
    attempt: stage.attempt,
    runnerId: stage.runner?.id ?? null,
    runnerName: stage.runner?.name ?? null,
    exitCode: exitCodeOf(build, stage),
    error: stage.error ?? null,
    started: stage.startedAt === undefined ? null : new Date(stage.startedAt),
    stopped: stage.finishedAt === undefined ? null : new Date(stage.finishedAt),
  };
}

/**
 * Drone's stage `exit_code`: null until the stage ends; then the exit code of its first
 * step (in plan order) that failed without `failure: ignore`, else 0.
 */
function exitCodeOf(build: Build, stage: StageState): number | null {
  if (!isStageEnded(stage.status)) return null;
  const plan = build.plan?.stages.find((s) => s.number === stage.number);
  const ignored = new Set([...(plan?.services ?? []), ...(plan?.steps ?? [])].filter((s) => s.failure === 'ignore').map((s) => s.number));
  const failed = stage.steps.find(
    (step) => (step.status === 'failure' || step.status === 'error' || step.status === 'killed') && !ignored.has(step.number),
  );
  return failed?.exitCode ?? 0;
}

/** Step events, a cancel request, a log purge and the build's end change no stage column the view shows. */
const ignored = new Set<BuildEventType>(['StepStarted', 'StepFinished', 'StepSkipped', 'StepRetried', 'CancelRequested', 'BuildFinished', 'StepLogPurged']);

export const stagesProjection: Projection = {
  name: 'stages',
  tables: ['stages'],
  handles: new Set(buildEventTypes.filter((type) => !ignored.has(type))),
  reduce,
};
