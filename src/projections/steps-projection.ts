// The `steps` view: one row per step (services included) of every stage of a build's plan.
// Static columns come from the plan; the rest from the folded build's step state.
import type { BuildEventType } from '../events/build-events.ts';
import { planStepsOf, type Build, type StepState } from '../events/build-state.ts';
import type { Projection, ProjectedEvent } from './projection.ts';
import { patch, upsert, type RowOp } from './row-ops.ts';

function reduce(event: ProjectedEvent): RowOp[] {
  if (!('build' in event)) return [];
  const { build } = event;
  switch (event.type) {
    case 'BuildCreated':
      return created(build);
    case 'StepStarted':
    case 'StepFinished':
    case 'StepSkipped':
    case 'StepRetried':
      return changed(build, event.data.stage, (step) => step.number === event.data.step);
    // A start puts every step of the stage back to pending, a resume those it runs again
    // (build-state.ts): rewrite the stage's steps from the state.
    case 'StageStarted':
    case 'StageResumed':
      return changed(build, event.data.stage, () => true);
    default:
      return [];
  }
}

function created(build: Build): RowOp[] {
  return (build.plan?.stages ?? []).flatMap((stage) =>
    planStepsOf(stage).map((plan) =>
      upsert(
        'steps',
        { buildId: build.buildId, stage: stage.number, number: plan.number },
        {
          set: {
            name: plan.name,
            ...dynamic(findStep(build, stage.number, plan.number)),
            image: plan.image,
            detached: plan.detach || plan.kind === 'service',
            errignore: plan.failure === 'ignore',
          },
        },
      ),
    ),
  );
}

function changed(build: Build, stage: number, which: (step: StepState) => boolean): RowOp[] {
  const steps = build.stages.find((s) => s.number === stage)?.steps ?? [];
  return steps.filter(which).map((step) => patch('steps', { buildId: build.buildId, stage, number: step.number }, { set: dynamic(step) }));
}

const findStep = (build: Build, stage: number, number: number): StepState | undefined =>
  build.stages.find((s) => s.number === stage)?.steps.find((s) => s.number === number);

/** The columns that follow the step's state. */
function dynamic(step: StepState | undefined) {
  return {
    status: step?.status ?? 'pending',
    exitCode: step?.exitCode ?? null,
    error: step?.error ?? null,
    logSize: step?.logSize ?? null,
    logSha256: step?.logSha256 ?? null,
    skipReason: step?.skip?.reason ?? null,
    retries: step?.retries ?? 0,
    started: step?.startedAt === undefined ? null : new Date(step.startedAt),
    stopped: step?.finishedAt === undefined ? null : new Date(step.finishedAt),
  };
}

const handled: BuildEventType[] = ['BuildCreated', 'StepStarted', 'StepFinished', 'StepSkipped', 'StepRetried', 'StageStarted', 'StageResumed'];

export const stepsProjection: Projection = {
  name: 'steps',
  tables: ['steps'],
  handles: new Set(handled),
  reduce,
};
