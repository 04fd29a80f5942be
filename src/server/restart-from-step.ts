// Restart from a step (`POST /api/repos/{owner}/{name}/builds/{n}/restart?stage=&step=`).
//
// Decision: a restart makes a NEW build (next number, `parent` = n), as Drone's restart
// does; it never reopens n. A finished build's history stays immutable (its hash chain,
// its status, what `replay --at` shows are never rewritten), the new build's BuildCreated
// says exactly what was carried over and from where, and a restart of a restart works the
// same way. What the new build runs:
// - stage X (the one named) starts at step N on the workspace n's run of X left behind,
//   when a runner still keeps it: `StageResumed { fromStep: N, workspace: 'kept' }`, the
//   steps before N recorded skipped (condition 'resume'), their files in the workspace;
//   when no runner keeps it (expired, runner gone or restarted, or the runner did not take
//   the offer within the route wait) X runs whole: `StageResumed { workspace: 'fresh' }`;
// - stages that succeeded in n and do not run after X (not X's descendants) are carried
//   over: recorded skipped (condition 'restart'), not run again, like GitHub's "re-run
//   failed jobs" — so the new build's status speaks for n's successes plus what ran again;
// - every other stage (X's descendants, stages that failed in n) runs again.
import { isBuild, planStepsOf, type Build } from '../events/build-state.ts';
import type { RestartFrom, RunnerRef } from '../events/build-events.ts';
import type { StageRun } from '../runner/engine.ts';
import { ApiError } from '../api/errors.ts';
import type { BuildState } from '../events/build-state.ts';

/** Stage and step named by plan number (`2`) or by name (`test`). */
export function resolveRestart(parent: Build, stageRef: string | undefined, stepRef: string | undefined): { stage: number; step: number } {
  const plan = parent.plan;
  if (!plan) throw new ApiError(409, `build #${parent.number} has no plan (its config did not compile): restart it whole instead`, 'no_plan');
  if (!stageRef) throw new ApiError(400, 'stage: required, the pipeline to restart from, by number or name (?stage=test)');
  if (!stepRef) throw new ApiError(400, 'step: required, the step to restart from, by number or name (?step=unit)');
  const stage = /^\d+$/.test(stageRef) ? plan.stages.find((s) => s.number === Number(stageRef)) : plan.stages.find((s) => s.name === stageRef);
  if (!stage) {
    throw new ApiError(404, `build #${parent.number} has no stage '${stageRef.slice(0, 80)}' (it has ${plan.stages.map((s) => `${s.number} ${s.name}`).join(', ')})`, 'unknown_stage');
  }
  const steps = planStepsOf(stage);
  const step = /^\d+$/.test(stepRef) ? steps.find((s) => s.number === Number(stepRef)) : steps.find((s) => s.name === stepRef);
  if (!step) {
    throw new ApiError(404, `pipeline '${stage.name}' has no step '${stepRef.slice(0, 80)}' (it has ${steps.map((s) => `${s.number} ${s.name}`).join(', ')})`, 'unknown_step');
  }
  if (step.kind === 'service') throw new ApiError(400, `step '${step.name}' is a service: restart from a step after it (services always start again)`);
  return { stage: stage.number, step: step.number };
}

/** The stages of `parent` the restart of `stage` carries over: succeeded, and not run after `stage`. */
export function carriedStages(parent: Build, stage: number): number[] {
  const plan = parent.plan!;
  const byName = new Map(plan.stages.map((s) => [s.name, s]));
  const after = (candidate: (typeof plan.stages)[number]): boolean => {
    const seen = new Set<string>();
    const visit = (names: readonly string[]): boolean =>
      names.some((name) => {
        if (seen.has(name)) return false;
        seen.add(name);
        const dep = byName.get(name);
        return dep !== undefined && (dep.number === stage || visit(dep.dependsOn));
      });
    return visit(candidate.dependsOn);
  };
  return parent.stages
    .filter((s) => s.number !== stage && s.status === 'success')
    .filter((s) => !after(plan.stages.find((p) => p.number === s.number)!))
    .map((s) => s.number);
}

export function restartOf(parent: Build, at: { stage: number; step: number }, workspace: { runner: RunnerRef; key: string } | undefined): RestartFrom {
  return { stage: at.stage, step: at.step, ...(workspace ? { workspace } : {}), carried: carriedStages(parent, at.stage) };
}

/**
 * What a claim of `stage` tells its runner about the workspace to continue on (DESIGN.md
 * "Timeouts, cancel and inactivity are replayed rules"):
 * - a stage that started before (its runner was lost, or handed it back): the workspace
 *   its latest start ran on — the runner resumes there, finished steps kept, when its
 *   engine can still reach it (docker: the volume on the same engine; exec: the folder on
 *   the same host), else it starts over fresh;
 * - a restart's stage before its first start: the step to start from and the parent's
 *   workspace key (the runner uses it only when it still keeps that workspace).
 */
export function resumeRunFields(state: BuildState, stage: number): Pick<StageRun, 'resumeFrom' | 'workspaceKey'> {
  if (!isBuild(state)) return {};
  const current = state.stages.find((s) => s.number === stage);
  if (current?.startedAt !== undefined) return current.workspaceKey === undefined ? {} : { workspaceKey: current.workspaceKey };
  if (state.restart?.stage !== stage) return {};
  const { step, workspace } = state.restart;
  return { resumeFrom: step, ...(workspace ? { workspaceKey: workspace.key } : {}) };
}
