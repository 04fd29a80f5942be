import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BuildCommandInput } from '../events/build-commands.ts';
import type { BuildEvent } from '../events/build-events.ts';
import { findStage, fold, isBuild } from '../events/build-state.ts';
import { isStageFailed, isStepEnded, type StageStatus } from '../events/build-status.ts';
import { isIllegalCommand, type IllegalCommandCode } from '../events/decider-errors.ts';
import { runtimeEnvironment } from '../pipeline/environment.ts';
import type { PlanStep, Skip } from '../pipeline/plan.ts';
import { isRefusalAfterRetry } from '../rpc/client.ts';
import type { Engine, StageRun, StepExit } from './engine.ts';
import { runDeployStep } from './deploy/kubernetes-deploy.ts';
import { createStepLog, type LogLimits, type StepLog } from './log-step.ts';
import type { Reporter } from './reporter.ts';
import { DEFAULT_INACTIVITY_LIMIT_MS, DEFAULT_TIMEOUT_MINUTES, firedRule, nextRule, noteActivity, replayStage, type StageClock } from './stage-rules.ts';
import { failedSteps, schedule, stageFailed, statusOfExit, type EndedStatus } from './step-graph.ts';

/**
 * Runs one claimed stage on an engine and reports every transition through the reporter.
 *
 * 1. Replay: fold the build's events (stage-rules) — a stage already cancelled is ended
 *    with `StageCancelled` and not run, one past its deadline with `StageTimedOut`, one
 *    that ended is left alone. A stage that started before is resumed (`ResumeStage`):
 *    with its kept workspace (`run.workspaceKey`) the steps that succeeded stay done,
 *    otherwise everything runs again from a fresh workspace.
 * 2. Run: setup → services and steps in the plan's DAG order, independent ones in
 *    parallel (step-graph decides; a service is a detached step that runs until the other
 *    steps are done), each `StepStarted` … `StepFinished` with its log's size and sha256;
 *    a step's `retry` policy re-runs it after `StepRetried`.
 * 3. Stop: one `AbortController` owns the stage. The outer `signal` (runner shutdown),
 *    the deadline, the inactivity limit and a requested cancel each abort it; the first
 *    one wins and is recorded once the running steps were stopped and their ends
 *    recorded: `StageCancelled`, `StageTimedOut`, `StageInactive`, or — for a shutdown —
 *    the stage is handed back (`ExpireLease`: requeued, workspace kept for a resume).
 *    A refused command that means this runner lost the stage (`stale_lease`, the stage or
 *    build ended elsewhere) stops it too, recording nothing more.
 * 4. `destroy` always runs, in `finally`, and is awaited before `runStage` resolves.
 *
 * A failing step is a result (`StepFinished` failure), not an exception; `runStage`
 * itself rejects only when the reporter fails for reasons other than the decider's.
 */

export type StageLimits = {
  /** The repo's stage timeout in minutes (default 60). */
  timeoutMinutes?: number;
  /** No output and no transition for this long stops the stage (default 15 minutes). Whole seconds: `StageInactive` records it so. */
  inactivitySeconds?: number;
  log?: LogLimits;
  /** How often `reporter.cancelled()` is polled (default 1 s). */
  cancelPollMs?: number;
  /** The rules are re-checked at least this often (default 1 s): `now` may be a test's fast clock. */
  tickMs?: number;
};

export type RunStageOptions = {
  engine: Engine;
  reporter: Reporter;
  run: StageRun;
  /** The lease token of this runner's claim on the stage (every runner command carries it). */
  leaseToken: string;
  /** Secret values by name: resolve `{ secret }` environment values, and are masked in logs. */
  secrets: Record<string, string>;
  now: () => Date;
  limits?: StageLimits;
  /** Aborted when the runner shuts down: the stage is stopped and handed back. */
  signal?: AbortSignal;
  /**
   * Cancel hints (NATS): registers `wake`, called when a cancel of this build may have been
   * requested, and answers its unregister. A hint only makes the cancel poll ask now; the
   * reporter's answer decides.
   */
  cancelHint?: (wake: () => void) => () => void;
  /** Keep the workspace of a stage that ends failed (failure, error, killed), for a restart from a step; `StageResult.keptWorkspace` names it. */
  keepFailedWorkspace?: boolean;
};

export type StopKind = 'cancel' | 'timeout' | 'inactivity' | 'shutdown' | 'lost';

export type StageResult = {
  /** The stage's status after this run, as the build's events say; `lost` when another runner or the server took it over. */
  status: StageStatus | 'lost';
  /** What stopped the stage before its steps were done, if anything. */
  stoppedBy?: StopKind;
  /** Why, in words (also a setup error or a teardown problem). */
  error?: string;
  /** The events this run appended, in order. */
  events: BuildEvent[];
  /** The key of the workspace kept because the stage failed (`keepFailedWorkspace`). */
  keptWorkspace?: string;
};

type Stop =
  | { kind: 'cancel' | 'timeout' | 'shutdown' | 'lost'; message: string }
  | { kind: 'inactivity'; message: string; lastActivityAt: Date };

/** Exit code recorded for a step the runner could not run (missing secret, engine error), as runner-go does. */
const ERROR_EXIT = 255;

/** The refusal each runner command gets when it was already recorded: what a lost answer's retry hears. */
const ALREADY_RECORDED: Partial<Record<BuildCommandInput['type'], IllegalCommandCode>> = {
  StartStage: 'stage_already_started',
  StartStep: 'step_not_pending',
  SkipStep: 'step_not_pending',
  FinishStep: 'step_not_running',
  FinishStage: 'stage_ended',
};
/** Drone: a step exiting 78 ends the stage early, as a success; the steps after it are skipped. */
const EXIT_SKIP_REST = 78;

export async function runStage(options: RunStageOptions): Promise<StageResult> {
  const { engine, reporter, run, leaseToken, secrets, now } = options;
  const stage = run.stage.number;
  const limits = options.limits ?? {};
  const timeoutMinutes = limits.timeoutMinutes ?? DEFAULT_TIMEOUT_MINUTES;
  const inactivitySeconds = limits.inactivitySeconds ?? DEFAULT_INACTIVITY_LIMIT_MS / 1000;
  const tickMs = limits.tickMs ?? 1000;
  const at = () => now().toISOString();

  const history = await reporter.history();
  const appended: BuildEvent[] = [];
  const result = (extra: Partial<StageResult> = {}): StageResult => {
    const build = fold([...history, ...appended]);
    const status = isBuild(build) ? (findStage(build, stage)?.status ?? 'skipped') : 'skipped';
    return { status, events: appended, ...extra };
  };

  const replay = replayStage(history, stage, { inactivityLimitMs: inactivitySeconds * 1000 });
  let clock: StageClock = replay.clock;

  // The stage's one AbortController: the first reason to stop wins and aborts it.
  const controller = new AbortController();
  let stop: Stop | undefined;
  const halt = (why: Stop) => {
    if (stop) return;
    stop = why;
    controller.abort(why);
  };
  /** Set when a refusal showed the stage is no longer this runner's, whatever stopped it first. */
  let lost: string | undefined;
  const lose = (message: string) => {
    lost ??= message;
    halt({ kind: 'lost', message });
  };
  /** A bug or an infrastructure failure mid-stage: stop what runs; the stage then ends in error. */
  let failure: string | undefined;
  const fail = (error: unknown) => {
    failure ??= `the runner failed: ${messageOf(error)}`;
    controller.abort(error);
  };

  /** Records a command; undefined when the decider refused it because the stage is no longer this runner's to run. */
  async function record(command: BuildCommandInput): Promise<BuildEvent[] | undefined> {
    try {
      const events = await reporter.command(command);
      appended.push(...events);
      clock = noteActivity(clock, new Date(command.data.at));
      return events;
    } catch (error) {
      if (!isIllegalCommand(error)) throw error;
      // Our own earlier try landed and only its answer was lost (a server killed mid-answer):
      // under our lease nobody else moves this step or stage, so the refusal means "done".
      if (isRefusalAfterRetry(error) && ALREADY_RECORDED[command.type] === error.code) return [];
      switch (error.code) {
        case 'stale_lease':
        case 'stage_not_claimed':
        case 'stage_ended':
        case 'build_finished':
          lose(error.message);
          return undefined;
        case 'cancel_requested':
          halt({ kind: 'cancel', message: error.message });
          return undefined;
        default:
          throw error;
      }
    }
  }

  // 1. Replay.
  if (replay.refuse) {
    if (replay.refuse.reason !== 'cancelled') return result({ error: replay.refuse.message });
    await record({ type: 'CancelStage', data: { stage, leaseToken, at: at() } });
    return result({ stoppedBy: 'cancel', error: replay.refuse.message });
  }
  if (firedRule(clock, now()) === 'timeout') {
    await record({ type: 'TimeOutStage', data: { stage, leaseToken, at: at() } });
    return result({ stoppedBy: 'timeout', error: `the stage was past its deadline (${clock.deadline?.toISOString()}) when it was claimed` });
  }

  const everyStep = [...run.stage.services, ...run.stage.steps].sort((a, b) => a.number - b.number);
  // A restart from a step (never started in this build): on the parent's workspace when
  // the caller found it here (`workspaceKey`), else the whole stage on a fresh one.
  const restart = !replay.startedBefore && run.resumeFrom !== undefined;
  const kept = restart
    ? run.workspaceKey !== undefined
      ? { fromStep: run.resumeFrom! }
      : undefined
    : keptResume(run, replay.startedBefore, replay.steps, everyStep);
  const started = await record(
    replay.startedBefore || restart
      ? {
          type: 'ResumeStage',
          data: kept
            ? { stage, leaseToken, fromStep: kept.fromStep, workspace: 'kept', timeoutMinutes, at: at() }
            : { stage, leaseToken, fromStep: Math.min(...everyStep.map((s) => s.number)), workspace: 'fresh', timeoutMinutes, at: at() },
        }
      : { type: 'StartStage', data: { stage, leaseToken, timeoutMinutes, workspace: 'fresh', at: at() } },
  );
  if (!started) return result({ stoppedBy: stop?.kind, error: stop?.message });
  const afterStart = replayStage([...history, ...appended], stage, { inactivityLimitMs: inactivitySeconds * 1000 });
  clock = { ...afterStart.clock, lastActivityAt: afterStart.clock.lastActivityAt ?? now() };

  const stageRun: StageRun = kept ? run : { ...run, workspaceKey: undefined };
  const secretValues = Object.values(secrets);
  const runtime = runtimeFacts([...history, ...appended], stage, run);

  // Ended steps: plan skips recorded by the start, and what a kept resume keeps.
  const ended = new Map<number, EndedStatus>();
  for (const [number, status] of afterStart.steps) if (isStepEnded(status)) ended.set(number, status as EndedStatus);

  // 3. The loops that can stop the stage, on the stage's signal; `loops` ends them when the stage is done.
  const loops = new AbortController();
  const watching = AbortSignal.any([controller.signal, loops.signal]);
  const onShutdown = () => halt({ kind: 'shutdown', message: 'the runner is shutting down' });
  options.signal?.addEventListener('abort', onShutdown, { once: true });
  if (options.signal?.aborted) onShutdown();
  const watchers = [
    (async () => {
      while (!watching.aborted) {
        const current = now();
        const next = nextRule(clock, current);
        if (next && next.inMs === 0) {
          if (next.rule === 'timeout') halt({ kind: 'timeout', message: `the stage ran past its deadline (${next.at.toISOString()})` });
          else {
            const last = clock.lastActivityAt!;
            halt({ kind: 'inactivity', message: `no output for ${inactivitySeconds}s since ${last.toISOString()}`, lastActivityAt: last });
          }
          return;
        }
        await pause(Math.min(next?.inMs ?? tickMs, tickMs), watching);
      }
    })(),
    (async () => {
      let hinted = new AbortController();
      const unhint = options.cancelHint?.(() => hinted.abort());
      try {
        while (!watching.aborted) {
          await pause(limits.cancelPollMs ?? 1000, AbortSignal.any([watching, hinted.signal]));
          if (watching.aborted) break;
          if (hinted.signal.aborted) hinted = new AbortController();
          try {
            if (await reporter.cancelled()) halt({ kind: 'cancel', message: 'the build was cancelled' });
          } catch (error) {
            // A refusal here is the lease check a remote reporter folds into this poll; anything else is transient.
            if (isIllegalCommand(error) && error.code === 'stale_lease') lose(error.message);
          }
        }
      } finally {
        unhint?.();
      }
    })(),
  ];

  // Detached steps (services, `detach: true`) keep running until the stage's steps are done.
  const detachedControl = new AbortController();
  const detachedSignal = AbortSignal.any([controller.signal, detachedControl.signal]);
  let tearingDown = false;
  const detachedEnds: Array<Promise<void>> = [];
  const detached = new Set<number>();
  const skips: Array<Promise<unknown>> = [];
  let setupError: string | undefined;
  let teardownError: string | undefined;
  let keptWorkspace: string | undefined;
  /** Exit codes of ended steps, for the 78 rule (a status alone cannot say it). */
  const lastExit = new Map<number, number>();

  const startStep = async (step: PlanStep): Promise<EndedStatus | 'detached' | undefined> => {
    if (controller.signal.aborted || !(await record({ type: 'StartStep', data: { stage, step: step.number, leaseToken, at: at() } }))) {
      return undefined;
    }
    const begun = now();
    const log = createStepLog({
      secrets: secretValues,
      send: (chunk) => reporter.log(stage, step.number, chunk),
      limits: limits.log,
      onActivity: () => (clock = noteActivity(clock, now())),
    });
    const isDetached = step.kind === 'service' || step.detach;
    let exit: StepExit | undefined;
    let error: string | undefined;
    try {
      const env = stepEnvironment(step, secrets, {
        ...runtime,
        failed: stageFailed(everyStep, ended),
        failedSteps: failedSteps(everyStep, ended),
        now: at(),
      });
      const signal = isDetached ? detachedSignal : controller.signal;
      for (let retry = 0; ; ) {
        exit = step.deploy ? await runDeployStep(step.deploy, env, log.output, signal) : await engine.runStep(stageRun, { step, env }, log.output, signal);
        for (const { type, data } of exit.records ?? []) {
          await record({ type, data: { ...data, stage, step: step.number, leaseToken, at: at() } } as BuildCommandInput);
        }
        const policy = step.retry;
        const retryable =
          policy !== undefined &&
          !exit.killed &&
          !exit.ended &&
          statusOfExit(exit) === 'failure' &&
          retry < policy.limit &&
          (policy.exitCodes.length === 0 || policy.exitCodes.includes(exit.exitCode));
        if (!retryable || controller.signal.aborted) break;
        retry++;
        if (!(await record({ type: 'RetryStep', data: { stage, step: step.number, leaseToken, retry, exitCode: exit.exitCode, at: at() } }))) break;
        log.note(`--- runlog: exit code ${exit.exitCode}; try ${retry + 1} of ${policy.limit + 1} ---`);
      }
    } catch (caught) {
      error = messageOf(caught);
    }
    if (exit?.ended) {
      const finished = exit.ended.then(
        // Stopped by the stage's normal end is how a detached step ends: a success (Drone's FinishAll).
        (end) => finishStep(step, log, end.killed && tearingDown && !stop ? { exitCode: 0, killed: false } : end, undefined, begun),
        (caught: unknown) => finishStep(step, log, undefined, messageOf(caught), begun),
      );
      detachedEnds.push(finished.then((status) => void (status && ended.set(step.number, status))).catch(fail));
      return 'detached';
    }
    return finishStep(step, log, exit, error, begun);
  };

  async function finishStep(step: PlanStep, log: StepLog, exit: StepExit | undefined, error: string | undefined, begun: Date) {
    let summary;
    try {
      summary = await log.finish();
    } catch (caught) {
      if (isIllegalCommand(caught)) {
        lose(caught.message);
        return undefined;
      }
      throw caught;
    }
    const status: EndedStatus = error !== undefined || !exit ? 'error' : exit.oomKilled ? 'failure' : statusOfExit(exit);
    const exitCode = error !== undefined || !exit ? ERROR_EXIT : exit.exitCode;
    lastExit.set(step.number, exitCode);
    const finished = await record({
      type: 'FinishStep',
      data: {
        stage,
        step: step.number,
        leaseToken,
        exitCode,
        status,
        ...(error !== undefined ? { error } : exit?.oomKilled ? { error: 'the step ran out of memory (OOM killed)' } : {}),
        logSize: summary.size,
        logSha256: summary.sha256,
        durationMs: Math.max(0, now().getTime() - begun.getTime()),
        at: at(),
      },
    });
    return finished ? status : undefined;
  }

  const skip = (step: PlanStep, reason: Skip) => {
    skips.push(record({ type: 'SkipStep', data: { stage, step: step.number, leaseToken, reason, at: at() } }).catch(fail));
  };

  /** Runs `steps` in DAG order until all ended or the stage stops; waits for every started step either way. */
  const runGraph = (steps: PlanStep[]) =>
    new Promise<void>((resolve) => {
      const running = new Set<number>();
      let halted: Skip | undefined;
      const pump = () => {
        for (;;) {
          if (controller.signal.aborted) break;
          const next = schedule(steps, { ended, running, detached, halt: halted });
          if (next.start.length === 0 && next.skip.length === 0) break;
          for (const { step, reason } of next.skip) {
            ended.set(step.number, 'skipped');
            skip(step, reason);
          }
          for (const step of next.start) {
            running.add(step.number);
            startStep(step).then((status) => {
              running.delete(step.number);
              if (status === 'detached') detached.add(step.number);
              else if (status) ended.set(step.number, status);
              if (status === 'success' && lastExit.get(step.number) === EXIT_SKIP_REST) {
                halted = { condition: 'exit-code', reason: `step '${step.name}' exited ${EXIT_SKIP_REST}: the rest of the stage is skipped` };
              }
              pump();
            }, (caught: unknown) => {
              running.delete(step.number);
              fail(caught);
              pump();
            });
          }
        }
        const waiting = steps.some((s) => !ended.has(s.number) && !detached.has(s.number));
        if (running.size === 0 && (!waiting || controller.signal.aborted)) resolve();
      };
      pump();
    });

  // 2. Run.
  try {
    try {
      await engine.setup(stageRun, controller.signal);
    } catch (caught) {
      if (!stop) setupError = `the stage could not be set up: ${messageOf(caught)}`;
    }
    // Services are detached steps of the same graph: they start when their dependencies
    // (the clone) have ended, and count as ended for their dependents once started.
    if (!setupError && !controller.signal.aborted) await runGraph(everyStep);
  } catch (caught) {
    fail(caught);
  } finally {
    // Detached steps end with the stage: stop them, then record how they ended.
    tearingDown = true;
    detachedControl.abort();
    await Promise.all(detachedEnds);
    await Promise.all(skips);
    loops.abort();
    await Promise.allSettled(watchers);
    options.signal?.removeEventListener('abort', onShutdown);
    try {
      await recordEnd();
    } finally {
      const ending = result().status;
      keptWorkspace =
        options.keepFailedWorkspace && lost === undefined && ending !== 'lost' && isStageFailed(ending as StageStatus)
          ? (stageRun.workspaceKey ?? run.runId)
          : undefined;
      try {
        await engine.destroy(stageRun, { keepWorkspace: stop?.kind === 'shutdown' || keptWorkspace !== undefined });
      } catch (caught) {
        teardownError = `teardown: ${messageOf(caught)}`;
      }
    }
  }

  async function recordEnd(): Promise<void> {
    const base = { stage, leaseToken, at: at() };
    switch (stop?.kind) {
      case undefined: {
        const error = setupError ?? failure;
        await record({ type: 'FinishStage', data: { ...base, ...(error ? { status: 'error' as const, error } : {}) } });
        return;
      }
      case 'cancel':
        await record({ type: 'CancelStage', data: base });
        return;
      case 'timeout':
        await record({ type: 'TimeOutStage', data: base });
        return;
      case 'inactivity':
        await record({
          type: 'MarkStageInactive',
          data: { ...base, lastActivityAt: stop.lastActivityAt.toISOString(), limitSeconds: inactivitySeconds },
        });
        return;
      case 'shutdown':
        await record({ type: 'ExpireLease', data: { stage, leaseToken, at: base.at } });
        return;
      case 'lost':
        return;
    }
  }

  const final = stop as Stop | undefined;
  const error = [setupError, failure, final?.message, teardownError].filter(Boolean).join('; ') || undefined;
  if (lost !== undefined) return { status: 'lost', stoppedBy: final?.kind ?? 'lost', events: appended, error: [error, lost].filter(Boolean).join('; ') };
  return result({ ...(final ? { stoppedBy: final.kind } : {}), ...(error ? { error } : {}), ...(keptWorkspace ? { keptWorkspace } : {}) });
}

/** A sleep that ends early (without throwing) when `signal` aborts. */
const pause = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => {});

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * A resume that keeps the earlier attempt's workspace: only when the caller has it
 * (`workspaceKey`), the stage has no services (they died with the old runner and the
 * decider would keep their error), and some step succeeded. Runs again from the first
 * step that did not succeed; everything numbered after it runs again too.
 */
function keptResume(run: StageRun, startedBefore: boolean, statuses: ReadonlyMap<number, string>, steps: PlanStep[]) {
  if (!startedBefore || run.workspaceKey === undefined || run.stage.services.length > 0) return undefined;
  const redo = steps.filter((s) => !s.skip && statuses.get(s.number) !== 'success').map((s) => s.number);
  if (redo.length === 0 || redo.length === steps.filter((s) => !s.skip).length) return undefined;
  return { fromStep: Math.min(...redo) };
}

type RuntimeBase = {
  buildFailed: boolean;
  failedStages: string[];
  buildStartedAt: string;
  stageStartedAt: string;
  runnerName: string;
  platform: string;
};

/** What the build's events say as the stage starts, for `runtimeEnvironment`. */
function runtimeFacts(events: BuildEvent[], stage: number, run: StageRun): RuntimeBase {
  const build = fold(events);
  if (!isBuild(build)) throw new Error('the build has no BuildCreated event');
  const self = findStage(build, stage)!;
  const failed = build.stages.filter((s) => isStageFailed(s.status)).map((s) => s.name);
  const starts = build.stages.map((s) => s.startedAt).filter((s): s is string => s !== undefined).sort();
  return {
    buildFailed: failed.length > 0,
    failedStages: failed,
    buildStartedAt: starts[0] ?? self.startedAt!,
    stageStartedAt: self.startedAt!,
    runnerName: self.runner?.name || self.runner?.id || hostname(),
    platform: `${run.stage.platform.os}/${run.stage.platform.arch}`,
  };
}

/**
 * A step's environment: the plan's values with secrets resolved, plus what only the runner
 * knows as the step starts (Drone's runtime `DRONE_BUILD_STATUS`, `DRONE_STAGE_STATUS`, ...).
 * Throws, naming the variable, when a secret is not there.
 */
function stepEnvironment(
  step: PlanStep,
  secrets: Record<string, string>,
  runtime: RuntimeBase & { failed: boolean; failedSteps: string[]; now: string },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(step.environment)) {
    if ('value' in value) env[name] = value.value;
    else if (Object.hasOwn(secrets, value.secret)) env[name] = secrets[value.secret];
    else throw new Error(`secret '${value.secret}' (for ${name}) is not defined for this build`);
  }
  const stageStatus = runtime.failed ? 'failure' : 'success';
  return {
    ...env,
    ...runtimeEnvironment({
      buildStatus: runtime.buildFailed || runtime.failed ? 'failure' : 'success',
      stageStatus,
      buildStartedAt: runtime.buildStartedAt,
      startedAt: runtime.stageStartedAt,
      now: runtime.now,
      runnerHost: hostname(),
      runnerName: runtime.runnerName,
      runnerPlatform: runtime.platform,
      failedStages: runtime.failedStages,
      failedSteps: runtime.failedSteps,
    }),
  };
}
