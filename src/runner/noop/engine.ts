import type { Engine, StageRun, StepExit, StepOutput, StepRun } from '../engine.ts';

/**
 * The noop engine: for benchmarks only. Every step "runs" at once: it writes one fixed log
 * line and exits 0; nothing is pulled, started or cloned, and detached steps end at once.
 * What is left to measure is runlog itself — dispatch, claims, events, projections, logs —
 * which is what `npm run bench -- dispatch` reports. `runlog runner --engine noop` uses it.
 *
 * It stands in for the engine named by `kind` (docker by default), so it takes the stages
 * of pipelines of that type; it never runs anything a user asked for.
 */
export function createNoopEngine(options: { kind?: 'docker' | 'exec' } = {}): Engine {
  const line = new TextEncoder().encode('runlog noop engine: step not run (benchmark engine)\n');
  const exit: StepExit = { exitCode: 0, killed: false };
  return {
    kind: options.kind ?? 'docker',
    async setup(_stage: StageRun, signal: AbortSignal) {
      signal.throwIfAborted();
    },
    async runStep(_stage: StageRun, step: StepRun, output: StepOutput, signal: AbortSignal): Promise<StepExit> {
      if (signal.aborted) return { exitCode: 137, killed: true };
      output(line);
      const detached = step.step.kind === 'service' || step.step.detach;
      return detached ? { ...exit, ended: Promise.resolve(exit) } : exit;
    },
    async destroy() {},
    async sweep() {
      return [];
    },
  };
}
