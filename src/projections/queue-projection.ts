// The `queue` view: the stages waiting for a runner. A row exists exactly while its stage is
// queued (`StageQueued`, or `StageRequeued` for a later attempt) and not yet claimed,
// started, skipped, cancelled, ended or fenced off by a lost lease; the dispatcher
// publishes from it. By the decider's rules a stage is queued only once its dependencies
// ended and the build is not blocked, so every row is ready to run.
import type { BuildEventType } from '../events/build-events.ts';
import type { Build } from '../events/build-state.ts';
import type { Projection, ProjectedEvent } from './projection.ts';
import { remove, upsert, type RowOp } from './row-ops.ts';
import { labelsKey } from './labels-key.ts';
import type { queue } from './tables.ts';

export type QueueRow = typeof queue.$inferSelect;

/** Stage events after which the stage is no longer waiting for a runner. */
const leaves = new Set<BuildEventType>([
  'StageClaimed',
  'StageStarted',
  'StageResumed',
  'StageSkipped',
  'StageFinished',
  'StageCancelled',
  'StageTimedOut',
  'StageInactive',
  'StageLeaseExpired',
]);

function reduce(event: ProjectedEvent): RowOp[] {
  if (!('build' in event)) return [];
  const { build } = event;
  switch (event.type) {
    case 'StageQueued':
    case 'StageRequeued':
      return queued(build, event.data.stage, event.data.attempt, event.data.at);
    // Blocking, declining or ending the build takes its waiting stages off the queue
    // (the decider never leaves one queued then, but the view must not depend on it).
    case 'BuildBlocked':
    case 'BuildDeclined':
    case 'BuildFinished':
      return build.stages
        .filter((stage) => stage.status === 'pending' || stage.status === 'blocked' || stage.status === 'declined')
        .map((stage) => remove('queue', { buildId: build.buildId, stage: stage.number }));
    default:
      return leaves.has(event.type) && 'stage' in event.data ? [remove('queue', { buildId: build.buildId, stage: event.data.stage })] : [];
  }
}

function queued(build: Build, number: number, attempt: number, at: string): RowOp[] {
  const row = queueRowOf(build, number, attempt, at);
  if (!row) return [];
  const { buildId, stage, ...set } = row;
  return [upsert('queue', { buildId, stage }, { set })];
}

/**
 * The `queue` row of stage `number` queued as `attempt` at `at`, from the build alone: what
 * the projection writes, and what the dispatcher publishes when it reads a stage queued
 * moments ago straight from the log (early-offers.ts). Undefined for a stage not in the plan.
 */
export function queueRowOf(build: Build, number: number, attempt: number, at: string): QueueRow | undefined {
  const plan = build.plan?.stages.find((s) => s.number === number);
  if (!plan) return undefined;
  const { os, arch, variant, kernel } = plan.platform;
  return {
    buildId: build.buildId,
    stage: number,
    attempt,
    repoId: build.repoId,
    name: plan.name,
    type: plan.type,
    os,
    arch,
    variant,
    kernel,
    labels: plan.labels,
    labelsKey: labelsKey(plan.labels),
    concurrencyLimit: plan.concurrency?.limit ?? null,
    queuedAt: new Date(at),
    routeRunner: routeOf(build, number, attempt),
  };
}

/**
 * A restart's stage, on its first attempt, waits for the runner that keeps its workspace;
 * any later attempt (that runner did not take it, or lost it) is for the whole pool.
 */
const routeOf = (build: Build, number: number, attempt: number): string | null =>
  attempt === 1 && build.restart?.stage === number ? (build.restart.workspace?.runner.id ?? null) : null;

export const queueProjection: Projection = {
  name: 'queue',
  tables: ['queue'],
  handles: new Set<BuildEventType>(['StageQueued', 'StageRequeued', 'BuildBlocked', 'BuildDeclined', 'BuildFinished', ...leaves]),
  reduce,
};
