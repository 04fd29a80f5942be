import type { PlanStep, Skip } from '../pipeline/plan.ts';
import { stepStatusFromExitCode } from '../events/build-status.ts';

/**
 * Which steps of a stage may start now, and which will never run — pure, so the
 * scheduling rules (runner-go's DAG walk and its `when.status` policy) are tested without
 * an engine.
 *
 * Rules:
 * - a step waits until every step it `dependsOn` has ended (a detached step counts as
 *   ended once it has started: Drone does not wait for a background step). A dependency
 *   that was skipped has ended too: dependents still judge for themselves, as in Drone;
 * - then it runs when its `runsOn` includes the stage's outcome so far: `failure` once a
 *   step ended failed, killed or in error without `failure: ignore`, else `success`.
 *   Otherwise it is skipped (condition 'status');
 * - `halt` (a step exited 78, or the stage is ending) skips every step not started yet;
 * - when nothing runs and nothing can start, what is left waits on a step that will never
 *   end (a dependency cycle the compiler let through): it is skipped (condition
 *   'dependency') rather than left hanging.
 */

export type EndedStatus = 'success' | 'failure' | 'killed' | 'error' | 'skipped';

export type GraphState = {
  /** Steps that ended, and how (services and plan-skipped steps included). */
  ended: ReadonlyMap<number, EndedStatus>;
  /** Steps started and not ended (detached ones that started count as ended for their dependents). */
  running: ReadonlySet<number>;
  /** Detached steps that have started. */
  detached: ReadonlySet<number>;
  halt?: Skip;
};

export type Schedule = {
  start: PlanStep[];
  skip: Array<{ step: PlanStep; reason: Skip }>;
};

/** The stage has failed so far: a step ended badly and its plan does not say `failure: ignore`. */
export function stageFailed(steps: readonly PlanStep[], ended: ReadonlyMap<number, EndedStatus>): boolean {
  return steps.some((step) => {
    const status = ended.get(step.number);
    return (status === 'failure' || status === 'killed' || status === 'error') && step.failure !== 'ignore';
  });
}

/** Names of the steps that failed so far (Drone's `DRONE_FAILED_STEPS`). */
export function failedSteps(steps: readonly PlanStep[], ended: ReadonlyMap<number, EndedStatus>): string[] {
  return steps
    .filter((step) => ['failure', 'killed', 'error'].includes(ended.get(step.number) ?? ''))
    .map((step) => step.name);
}

/** What to do now with the `pending` steps (those neither ended, running, nor started detached). */
export function schedule(steps: readonly PlanStep[], state: GraphState): Schedule {
  const byName = new Map(steps.map((step) => [step.name, step]));
  const pending = steps.filter(
    (step) => !state.ended.has(step.number) && !state.running.has(step.number) && !state.detached.has(step.number),
  );
  if (state.halt) return { start: [], skip: pending.map((step) => ({ step, reason: state.halt! })) };

  const done = (name: string) => {
    const dep = byName.get(name);
    // A name not in the stage cannot hold anything up (the compiler reports it).
    return !dep || state.ended.has(dep.number) || state.detached.has(dep.number);
  };
  const outcome = stageFailed(steps, state.ended) ? 'failure' : 'success';
  const out: Schedule = { start: [], skip: [] };
  for (const step of pending) {
    if (!step.dependsOn.every(done)) continue;
    if (step.runsOn.includes(outcome)) out.start.push(step);
    else {
      out.skip.push({
        step,
        reason: {
          condition: 'status',
          reason:
            outcome === 'failure'
              ? `an earlier step failed and this step runs only on ${step.runsOn.join(', ')}`
              : `the steps before it succeeded and this step runs only on ${step.runsOn.join(', ')}`,
        },
      });
    }
  }
  const stuck = out.start.length === 0 && out.skip.length === 0 && state.running.size === 0;
  if (stuck) {
    for (const step of pending) {
      out.skip.push({
        step,
        reason: { condition: 'dependency', reason: `it waits on ${step.dependsOn.filter((d) => !done(d)).join(', ')}, which can never end (a dependency cycle)` },
      });
    }
  }
  return out;
}

/** The status a step ends with after exiting `exitCode` by itself (0 and Drone's 78 pass). */
export const statusOfExit = (exit: { exitCode: number; killed: boolean }): 'success' | 'failure' | 'killed' =>
  exit.killed ? 'killed' : stepStatusFromExitCode(exit.exitCode);
