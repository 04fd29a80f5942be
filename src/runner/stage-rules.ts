import type { BuildEvent } from '../events/build-events.ts';
import { findStage, fold, isBuild } from '../events/build-state.ts';
import { isStageEnded, type StepStatus } from '../events/build-status.ts';

/**
 * The replayed rules of a stage (DESIGN "Timeouts, cancel and inactivity are replayed
 * rules"): pure functions of the build's events and `now`, so a runner that claims a
 * stage — the first or a later attempt — and the server's reaper reach the same verdict.
 *
 * The events are folded with the build's own `evolve` (build-state.ts), the one place that
 * says what an event means: the deadline is the first `StageStarted.at` + its timeout and
 * is kept by later starts and resumes; the last activity is the stage's last recorded
 * transition (start, resume, a step started, finished, retried or skipped). Log output is
 * not an event: a running runner adds it with `noteActivity`.
 */

export const DEFAULT_TIMEOUT_MINUTES = 60;
export const DEFAULT_INACTIVITY_LIMIT_MS = 15 * 60_000;

export type StageClock = {
  /** When the stage must be stopped; unknown until it first started. */
  deadline?: Date;
  /** The last activity: recorded transitions, and output seen while running. */
  lastActivityAt?: Date;
  /** No activity for this long stops the stage. */
  inactivityLimitMs: number;
};

export type StageReplay = {
  /** Why the stage must not run at all; absent when it may. */
  refuse?: { reason: 'cancelled' | 'ended' | 'unknown'; message: string };
  clock: StageClock;
  /** The attempt the log knows (0 when never queued). */
  attempt: number;
  /** The stage started before (an earlier attempt): this run is a resume. */
  startedBefore: boolean;
  /** Each step's last recorded status (a resume with a kept workspace skips those that succeeded). */
  steps: ReadonlyMap<number, StepStatus>;
};

export type Rule = 'timeout' | 'inactivity';

/** Folds the build's events for stage `stage`. */
export function replayStage(
  events: readonly BuildEvent[],
  stage: number,
  options: { inactivityLimitMs?: number } = {},
): StageReplay {
  const inactivityLimitMs = options.inactivityLimitMs ?? DEFAULT_INACTIVITY_LIMIT_MS;
  const build = fold(events);
  const state = isBuild(build) ? findStage(build, stage) : undefined;
  if (!isBuild(build) || !state) {
    return {
      refuse: { reason: 'unknown', message: `stage ${stage} is not in the build's plan` },
      clock: { inactivityLimitMs },
      attempt: 0,
      startedBefore: false,
      steps: new Map(),
    };
  }
  const clock: StageClock = {
    inactivityLimitMs,
    ...(state.deadline === undefined ? {} : { deadline: new Date(state.deadline) }),
    ...(state.lastActivityAt === undefined ? {} : { lastActivityAt: new Date(state.lastActivityAt) }),
  };
  const refuse = build.cancel
    ? { reason: 'cancelled' as const, message: `the build was cancelled by ${build.cancel.by} at ${build.cancel.at}` }
    : build.finished || isStageEnded(state.status)
      ? { reason: 'ended' as const, message: `stage ${stage} already ended (${state.status})` }
      : undefined;
  return {
    ...(refuse ? { refuse } : {}),
    clock,
    attempt: state.attempt,
    startedBefore: state.startedAt !== undefined,
    steps: new Map(state.steps.map((s) => [s.number, s.status])),
  };
}

/** The clock after activity at `at` (output, or a transition this runner just recorded). */
export function noteActivity(clock: StageClock, at: Date): StageClock {
  return clock.lastActivityAt && clock.lastActivityAt >= at ? clock : { ...clock, lastActivityAt: at };
}

/**
 * Which rule fires next and when: the earlier of the deadline and last activity + limit
 * (the timeout wins a tie: it is the stricter, repo-set limit). `inMs` is 0 when it is
 * already due. Undefined when neither clock has started.
 */
export function nextRule(clock: StageClock, now: Date): { rule: Rule; at: Date; inMs: number } | undefined {
  const candidates: Array<{ rule: Rule; at: Date }> = [];
  if (clock.deadline) candidates.push({ rule: 'timeout', at: clock.deadline });
  if (clock.lastActivityAt) {
    candidates.push({ rule: 'inactivity', at: new Date(clock.lastActivityAt.getTime() + clock.inactivityLimitMs) });
  }
  if (candidates.length === 0) return undefined;
  const first = candidates.reduce((a, b) => (b.at < a.at ? b : a));
  return { ...first, inMs: Math.max(0, first.at.getTime() - now.getTime()) };
}

/** The rule that has fired by `now`, if any. */
export function firedRule(clock: StageClock, now: Date): Rule | undefined {
  const next = nextRule(clock, now);
  return next && next.inMs === 0 ? next.rule : undefined;
}
