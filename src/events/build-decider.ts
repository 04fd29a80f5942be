import type { Plan, PlanStep, Skip } from '../pipeline/plan.ts';
import type { BuildCommand, CommandOf } from './build-commands.ts';
import type { BuildEvent, BuildStatusFinished } from './build-events.ts';
import {
  buildFacts,
  evolve,
  fold,
  initialState,
  planStepsOf,
  type Build,
  type BuildState,
  type StageState,
  type StepState,
} from './build-state.ts';
import {
  deriveBuildStatus,
  deriveStageOutcome,
  isStageEnded,
  isStageFailed,
  isStepEnded,
  stepStatusFromExitCode,
} from './build-status.ts';
import { IllegalCommand } from './decider-errors.ts';

/**
 * The build's decider: `decide(command, state)` returns the events that record what the
 * command did, consequences included, or throws `IllegalCommand`. Pure and deterministic:
 * time and ids come in with the command. Nothing else decides what may happen to a build.
 *
 * Consequences every decision gets (`settle`), following Drone's manager
 * (`operator/manager/teardown.go`, `cancelDownstream` + `scheduleDownstream`):
 * - a `waiting` stage whose dependencies have all ended is queued when its `runsOn`
 *   includes their outcome, else skipped with condition 'dependency';
 * - once every stage has ended, `BuildFinished` with the derived status.
 * Dependencies on stages the trigger skipped are rewired to *their* dependencies, as
 * Drone's trigger does (`dag.Dependencies`), so skipping a pipeline never orphans a
 * dependent. A stage with no (rewired) dependencies is queued at once, whatever its
 * `runsOn` — Drone schedules such stages at creation.
 *
 * Where Drone is racy we are deterministic: Drone judges a dependent against every stage
 * of the build that failed *so far* (so a failure in an unrelated parallel pipeline skips
 * it, or not, depending on timing); we judge it against its own ancestors, which have all
 * ended by then. The common shapes — a chain, fan-in, an on-failure notifier — behave the
 * same.
 */

export const decide = (command: BuildCommand, state: BuildState): BuildEvent[] => {
  switch (command.type) {
    case 'CreateBuild':
      return decideCreateBuild(command, state);
    case 'ApproveBuild':
      return decideApproveBuild(command, state);
    case 'DeclineBuild':
      return decideDeclineBuild(command, state);
    case 'ClaimStage':
      return decideClaimStage(command, state);
    case 'StartStage':
      return decideStartStage(command, state);
    case 'StartStep':
      return decideStartStep(command, state);
    case 'FinishStep':
      return decideFinishStep(command, state);
    case 'SkipStep':
      return decideSkipStep(command, state);
    case 'RetryStep':
      return decideRetryStep(command, state);
    case 'FinishStage':
      return decideFinishStage(command, state);
    case 'RequestCancel':
      return decideRequestCancel(command, state);
    case 'CancelStage':
      return decideCancelStage(command, state);
    case 'TimeOutStage':
      return decideTimeOutStage(command, state);
    case 'MarkStageInactive':
      return decideMarkStageInactive(command, state);
    case 'ExpireLease':
      return decideExpireLease(command, state);
    case 'ResumeStage':
      return decideResumeStage(command, state);
    case 'PurgeStepLog':
      return decidePurgeStepLog(command, state);
    case 'PublishImage':
      return decidePublishImage(command, state);
    case 'RecordDeployment':
      return decideRecordDeployment(command, state);
    case 'RequeueStage':
      return decideRequeueStage(command, state);
    default: {
      const unknown: never = command;
      throw new IllegalCommand('unknown_command', `unknown command ${JSON.stringify((unknown as { type?: unknown }).type)}`);
    }
  }
};

/** Emmett's decider triple. */
export const buildDecider = { decide, evolve, initialState };

// ---------------------------------------------------------------------------------------
// Commands

export function decideCreateBuild(command: CommandOf<'CreateBuild'>, state: BuildState): BuildEvent[] {
  if (state.status !== 'initial') {
    throw new IllegalCommand('build_exists', `build ${state.repo}#${state.number} already exists`);
  }
  const { block, at, plan, error, ...rest } = command.data;
  const problem = plan === undefined ? undefined : planProblem(plan);
  const createdData = compact({
    ...rest,
    ...(plan !== undefined && problem === undefined ? { plan } : {}),
    error: problem ?? (plan === undefined ? (error ?? 'the configuration did not compile') : error),
    at,
  });
  const events: BuildEvent[] = [{ type: 'BuildCreated', data: createdData }];
  if (plan !== undefined && problem === undefined) {
    if (rest.restart) refuseBadRestart(plan, rest.restart, rest.parent);
    const carried = new Set(rest.restart?.carried ?? []);
    for (const stage of plan.stages) {
      if (stage.skip) events.push({ type: 'StageSkipped', data: { stage: stage.number, reason: stage.skip, at } });
      else if (carried.has(stage.number)) {
        const reason = { condition: 'restart', reason: `it succeeded in build #${rest.parent}, which this build restarts` };
        events.push({ type: 'StageSkipped', data: { stage: stage.number, reason, at } });
      }
    }
    if (block !== undefined && plan.stages.some((s) => !s.skip)) {
      events.push({ type: 'BuildBlocked', data: { reason: block, at } });
    }
  }
  return withConsequences(state, events, at);
}

export function decideApproveBuild(command: CommandOf<'ApproveBuild'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  if (build.status !== 'blocked') {
    throw new IllegalCommand('build_not_blocked', `build is ${build.status}, not blocked: there is nothing to approve`);
  }
  const { by, at } = command.data;
  return withConsequences(build, [{ type: 'BuildApproved', data: { by, at } }], at);
}

export function decideDeclineBuild(command: CommandOf<'DeclineBuild'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  if (build.status !== 'blocked') {
    throw new IllegalCommand('build_not_blocked', `build is ${build.status}, not blocked: there is nothing to decline`);
  }
  const { by, at } = command.data;
  return withConsequences(build, [{ type: 'BuildDeclined', data: { by, at } }], at);
}

export function decideClaimStage(command: CommandOf<'ClaimStage'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  refuseAfterCancel(build, 'claim a stage');
  const { stage: number, attempt, runner, leaseToken, at } = command.data;
  const stage = liveStage(build, number);
  if (stage.status !== 'pending') {
    throw new IllegalCommand('stage_not_pending', `stage ${number} is ${stage.status}, not queued: it cannot be claimed`);
  }
  if (stage.claim) {
    throw new IllegalCommand(
      'stage_already_claimed',
      `stage ${number} is already claimed by runner ${stage.claim.runner.name || stage.claim.runner.id}`,
    );
  }
  if (attempt !== stage.attempt) {
    throw new IllegalCommand('stale_attempt', `stage ${number} is queued as attempt ${stage.attempt}, not ${attempt}`);
  }
  return [{ type: 'StageClaimed', data: { stage: number, attempt, runner, leaseToken, at } }];
}

export function decideStartStage(command: CommandOf<'StartStage'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  const { stage: number, leaseToken, timeoutMinutes, workspace, at } = command.data;
  const stage = fencedStage(build, number, leaseToken);
  if (stage.status === 'running') {
    throw new IllegalCommand('stage_already_started', `stage ${number} is already running`);
  }
  refuseAfterCancel(build, 'start a stage');
  const claim = stage.claim!;
  const events: BuildEvent[] = [
    {
      type: 'StageStarted',
      data: compact({ stage: number, attempt: stage.attempt, runner: claim.runner, timeoutMinutes, workspace, at }),
    },
  ];
  // The plan's `when` conditions were evaluated at compile time: record those skips now.
  for (const step of planStepsOfStage(build, number)) {
    if (step.skip) events.push({ type: 'StepSkipped', data: { stage: number, step: step.number, reason: step.skip, at } });
  }
  return withConsequences(build, events, at);
}

export function decideStartStep(command: CommandOf<'StartStep'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  const { stage: number, step: stepNumber, leaseToken, at } = command.data;
  const stage = runningStage(build, number, leaseToken);
  const step = findStep(stage, stepNumber);
  refuseAfterCancel(build, 'start a step');
  if (step.status !== 'pending') {
    throw new IllegalCommand('step_not_pending', `step ${stepNumber} of stage ${number} is ${step.status}, not pending`);
  }
  return [{ type: 'StepStarted', data: { stage: number, step: stepNumber, attempt: stage.attempt, at } }];
}

export function decideFinishStep(command: CommandOf<'FinishStep'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  const { stage: number, step: stepNumber, leaseToken, exitCode, status, error, logSize, logSha256, durationMs, at } =
    command.data;
  const stage = runningStage(build, number, leaseToken);
  const step = findStep(stage, stepNumber);
  if (step.status !== 'running') {
    throw new IllegalCommand('step_not_running', `step ${stepNumber} of stage ${number} is ${step.status}, not running`);
  }
  return [
    {
      type: 'StepFinished',
      data: compact({
        stage: number,
        step: stepNumber,
        exitCode,
        status: status ?? stepStatusFromExitCode(exitCode),
        error,
        logSize,
        logSha256,
        durationMs,
        at,
      }),
    },
  ];
}

export function decideSkipStep(command: CommandOf<'SkipStep'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  const { stage: number, step: stepNumber, leaseToken, reason, at } = command.data;
  const stage = runningStage(build, number, leaseToken);
  const step = findStep(stage, stepNumber);
  if (step.status !== 'pending') {
    throw new IllegalCommand('step_not_pending', `step ${stepNumber} of stage ${number} is ${step.status}: only a pending step can be skipped`);
  }
  return [{ type: 'StepSkipped', data: { stage: number, step: stepNumber, reason, at } }];
}

export function decideRetryStep(command: CommandOf<'RetryStep'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  const { stage: number, step: stepNumber, leaseToken, retry, exitCode, at } = command.data;
  const stage = runningStage(build, number, leaseToken);
  const step = findStep(stage, stepNumber);
  refuseAfterCancel(build, 'retry a step');
  if (step.status !== 'running') {
    throw new IllegalCommand('step_not_running', `step ${stepNumber} of stage ${number} is ${step.status}, not running`);
  }
  const policy = planStepsOfStage(build, number).find((s) => s.number === stepNumber)?.retry;
  const refuse = (why: string) => {
    throw new IllegalCommand('retry_not_allowed', `step ${stepNumber} of stage ${number} cannot be retried: ${why}`);
  };
  if (!policy) refuse('its plan has no retry policy');
  else if (exitCode === 0) refuse('it succeeded (exit code 0)');
  else if (policy.exitCodes.length > 0 && !policy.exitCodes.includes(exitCode)) {
    refuse(`exit code ${exitCode} is not one of [${policy.exitCodes.join(', ')}]`);
  } else if (retry !== step.retries + 1) refuse(`the next retry is ${step.retries + 1}, not ${retry}`);
  else if (retry > policy.limit) refuse(`the limit of ${policy.limit} retries is reached`);
  return [{ type: 'StepRetried', data: { stage: number, step: stepNumber, retry, exitCode, at } }];
}

/** Only the step that did it, while it runs, records what it published. */
export function decidePublishImage(command: CommandOf<'PublishImage'>, state: BuildState): BuildEvent[] {
  const { leaseToken, ...data } = command.data;
  runningStep(openBuild(state), data.stage, data.step, leaseToken);
  return [{ type: 'ImagePublished', data }];
}

export function decideRecordDeployment(command: CommandOf<'RecordDeployment'>, state: BuildState): BuildEvent[] {
  const { leaseToken, error, generation, ...data } = command.data;
  runningStep(openBuild(state), data.stage, data.step, leaseToken);
  if (error !== undefined) return [{ type: 'DeploymentFailed', data: { ...data, error } }];
  return [{ type: 'DeploymentUpdated', data: compact({ ...data, generation }) }];
}

function runningStep(build: Build, stageNumber: number, stepNumber: number, leaseToken: string): StepState {
  const step = findStep(runningStage(build, stageNumber, leaseToken), stepNumber);
  if (step.status !== 'running') {
    throw new IllegalCommand('step_not_running', `step ${stepNumber} of stage ${stageNumber} is ${step.status}, not running`);
  }
  return step;
}

export function decideFinishStage(command: CommandOf<'FinishStage'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  const { stage: number, leaseToken, status, error, at } = command.data;
  const stage = runningStage(build, number, leaseToken);
  // Drone's `FinishAll`: steps still pending are skipped, steps still running (detached
  // ones, services) end as they are — a success.
  const closing = closeSteps(stage, at, {
    running: { status: 'success', exitCode: 0 },
    skip: { condition: 'stage', reason: 'the stage finished before the step ran' },
  });
  const after = fold(closing, build) as Build;
  const outcome = status ?? deriveStageOutcome(withIgnore(after, number));
  return withConsequences(
    build,
    [...closing, { type: 'StageFinished', data: compact({ stage: number, attempt: stage.attempt, status: outcome, error, at }) }],
    at,
  );
}

export function decideRequestCancel(command: CommandOf<'RequestCancel'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  if (build.cancel) {
    throw new IllegalCommand('cancel_already_requested', `a cancel was already requested by ${build.cancel.by} at ${build.cancel.at}`);
  }
  const { by, reason, at } = command.data;
  const events: BuildEvent[] = [{ type: 'CancelRequested', data: compact({ by, reason, at }) }];
  // Stages no runner holds end now; claimed and running ones are stopped by their runner
  // (CancelStage), or by the reaper if it vanished.
  for (const stage of build.stages) {
    if (isStageEnded(stage.status) || stage.claim) continue;
    events.push(...closeSteps(stage, at, cancelledSteps));
    events.push({ type: 'StageCancelled', data: compact({ stage: stage.number, attempt: stage.attempt || undefined, at }) });
  }
  return withConsequences(build, events, at);
}

export function decideCancelStage(command: CommandOf<'CancelStage'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  const { stage: number, leaseToken, at } = command.data;
  const stage = leaseToken === null ? liveStage(build, number) : fencedStage(build, number, leaseToken);
  return withConsequences(
    build,
    [...closeSteps(stage, at, cancelledSteps), { type: 'StageCancelled', data: compact({ stage: number, attempt: stage.attempt || undefined, at }) }],
    at,
  );
}

export function decideTimeOutStage(command: CommandOf<'TimeOutStage'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  const { stage: number, leaseToken, at } = command.data;
  const stage = leaseToken === null ? liveStage(build, number) : fencedStage(build, number, leaseToken);
  if (stage.deadline === undefined) {
    throw new IllegalCommand('deadline_not_reached', `stage ${number} never started: it has no deadline yet`);
  }
  if (Date.parse(at) < Date.parse(stage.deadline)) {
    throw new IllegalCommand('deadline_not_reached', `stage ${number}'s deadline is ${stage.deadline}, after ${at}`);
  }
  // Drone: a stage past its deadline is cancelled by its context — killed, not failed.
  return withConsequences(
    build,
    [
      ...closeSteps(stage, at, killedSteps('the stage timed out')),
      { type: 'StageTimedOut', data: { stage: number, attempt: stage.attempt, deadline: stage.deadline, at } },
    ],
    at,
  );
}

export function decideMarkStageInactive(command: CommandOf<'MarkStageInactive'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  const { stage: number, leaseToken, lastActivityAt, limitSeconds, at } = command.data;
  const stage = leaseToken === null ? liveStage(build, number) : fencedStage(build, number, leaseToken);
  if (stage.status !== 'running') {
    throw new IllegalCommand('stage_not_running', `stage ${number} is ${stage.status}: only a running stage can be inactive`);
  }
  if (Date.parse(at) < Date.parse(lastActivityAt) + limitSeconds * 1000) {
    throw new IllegalCommand('not_inactive', `stage ${number} was active at ${lastActivityAt}, less than ${limitSeconds}s before ${at}`);
  }
  return withConsequences(
    build,
    [
      ...closeSteps(stage, at, killedSteps(`no activity for ${limitSeconds}s`)),
      { type: 'StageInactive', data: { stage: number, attempt: stage.attempt, lastActivityAt, limitSeconds, at } },
    ],
    at,
  );
}

export function decideExpireLease(command: CommandOf<'ExpireLease'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  const { stage: number, leaseToken, maxAttempts, at } = command.data;
  const stage = fencedStage(build, number, leaseToken);
  const claim = stage.claim!;
  const expired: BuildEvent = {
    type: 'StageLeaseExpired',
    data: { stage: number, attempt: stage.attempt, runner: claim.runner, leaseToken, at },
  };
  const lost = 'the runner was lost (its lease expired)';
  if (build.cancel) {
    // Nobody will run it again: the build is being cancelled.
    return withConsequences(
      build,
      [expired, ...closeSteps(stage, at, cancelledSteps), { type: 'StageCancelled', data: { stage: number, attempt: stage.attempt, at } }],
      at,
    );
  }
  const steps = closeSteps(stage, at, {
    running: { status: 'error', exitCode: 255, error: lost },
    skip: undefined, // pending steps may still run in the next attempt
  });
  if (stage.attempt >= maxAttempts) {
    const message = `the stage lost its runner ${stage.attempt} time${stage.attempt === 1 ? '' : 's'}`;
    return withConsequences(
      build,
      [
        expired,
        ...steps,
        ...closeSteps(stage, at, { running: undefined, skip: { condition: 'stage', reason: message } }),
        { type: 'StageFinished', data: { stage: number, attempt: stage.attempt, status: 'error', error: message, at } },
      ],
      at,
    );
  }
  return withConsequences(build, [expired, ...steps, { type: 'StageRequeued', data: { stage: number, attempt: stage.attempt + 1, at } }], at);
}

/**
 * The steps a kept resume from `fromStep` does not run again: the earlier attempt's
 * successes (a lost runner's, a handed-back stage's), or — a restart's first start — the
 * parent's steps before it, services aside (they hold no workspace state and start again).
 */
function stepsKept(stage: StageState, planSteps: readonly PlanStep[], fromStep: number): number[] {
  const before = stage.steps.filter((s) => s.number < fromStep);
  if (stage.startedAt !== undefined) return before.filter((s) => s.status === 'success').map((s) => s.number);
  return before
    .filter((s) => {
      const plan = planSteps.find((p) => p.number === s.number);
      return s.status === 'pending' && !plan?.skip && plan?.kind !== 'service';
    })
    .map((s) => s.number);
}

export function decideResumeStage(command: CommandOf<'ResumeStage'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  const { stage: number, leaseToken, fromStep, workspace, timeoutMinutes, at } = command.data;
  const stage = fencedStage(build, number, leaseToken);
  if (stage.status === 'running') {
    throw new IllegalCommand('stage_already_started', `stage ${number} is already running`);
  }
  refuseAfterCancel(build, 'resume a stage');
  findStep(stage, fromStep);
  const restart = build.restart?.stage === number ? build.restart : undefined;
  if (workspace === 'kept' && stage.startedAt === undefined && fromStep !== restart?.step) {
    // Steps before `fromStep` never ran in this build: only a restart may say their work is in the workspace.
    throw new IllegalCommand(
      'resume_not_restart',
      restart
        ? `stage ${number} restarts from step ${restart.step}, not ${fromStep}`
        : `stage ${number} never started: it can keep a workspace only when the build restarts it from a step`,
    );
  }
  if (workspace === 'kept') {
    const gap = stage.steps.find((s) => s.number < fromStep && s.status === 'running');
    if (gap) {
      throw new IllegalCommand('resume_gap', `step ${gap.number} of stage ${number} is still running: it cannot be kept as it is`);
    }
  }
  const planSteps = planStepsOfStage(build, number);
  const keptSteps = workspace === 'kept' ? stepsKept(stage, planSteps, fromStep) : undefined;
  const resumed: BuildEvent = {
    type: 'StageResumed',
    data: { stage: number, attempt: stage.attempt, fromStep, workspace, ...(keptSteps ? { keptSteps } : {}), timeoutMinutes, at },
  };
  const after = fold([resumed], build) as Build;
  const events: BuildEvent[] = [resumed];
  for (const step of after.stages.find((s) => s.number === number)!.steps) {
    if (step.status !== 'pending') continue;
    const planStep = planSteps.find((p) => p.number === step.number);
    if (planStep?.skip) events.push({ type: 'StepSkipped', data: { stage: number, step: step.number, reason: planStep.skip, at } });
    else if (workspace === 'kept' && step.number < fromStep && planStep?.kind !== 'service') {
      // Restart from a step in a new build: the steps before it ran in the parent build,
      // and their work is in the kept workspace. Services hold no workspace state: they
      // start again, as the steps after `fromStep` need them.
      events.push({
        type: 'StepSkipped',
        data: { stage: number, step: step.number, reason: { condition: 'resume', reason: `kept from an earlier run; resumed at step ${fromStep}` }, at },
      });
    }
  }
  return withConsequences(build, events, at);
}

export function decideRequeueStage(command: CommandOf<'RequeueStage'>, state: BuildState): BuildEvent[] {
  const build = openBuild(state);
  refuseAfterCancel(build, 'requeue a stage');
  const { stage: number, attempt, reason, at } = command.data;
  const stage = liveStage(build, number);
  if (stage.status !== 'pending' || stage.claim) {
    throw new IllegalCommand('stage_not_pending', `stage ${number} is ${stage.claim ? 'claimed' : stage.status}: only a queued, unclaimed stage can be requeued`);
  }
  if (attempt !== stage.attempt) {
    throw new IllegalCommand('stale_attempt', `stage ${number} is queued as attempt ${stage.attempt}, not ${attempt}`);
  }
  return [{ type: 'StageRequeued', data: { stage: number, attempt: attempt + 1, reason, at } }];
}

/** A restart must name a stage and step of the plan, and carry over only other stages, none downstream of it. */
function refuseBadRestart(plan: Plan, restart: NonNullable<Build['restart']>, parent: number | undefined): void {
  if (parent === undefined) throw new IllegalCommand('bad_restart', 'a restart needs the parent build it restarts');
  const stage = plan.stages.find((s) => s.number === restart.stage);
  if (!stage) throw new IllegalCommand('unknown_stage', `the plan has no stage ${restart.stage} to restart from`);
  if (!planStepsOf(stage).some((s) => s.number === restart.step)) {
    throw new IllegalCommand('unknown_step', `pipeline '${stage.name}' has no step ${restart.step} to restart from`);
  }
  const byName = new Map(plan.stages.map((s) => [s.name, s]));
  for (const carried of restart.carried) {
    const other = plan.stages.find((s) => s.number === carried);
    if (!other) throw new IllegalCommand('unknown_stage', `the plan has no stage ${carried} to carry over`);
    if (carried === restart.stage || ancestors(byName, other.dependsOn).includes(restart.stage)) {
      throw new IllegalCommand('bad_restart', `pipeline '${other.name}' runs again after '${stage.name}': it cannot be carried over`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Consequences

/** `events` then what they entail: dependents queued or skipped, the build finished. */
function withConsequences(state: BuildState, events: BuildEvent[], at: string): BuildEvent[] {
  const after = fold(events, state);
  return after.status === 'initial' ? events : [...events, ...settle(after, at)];
}

function settle(start: Build, at: string): BuildEvent[] {
  const out: BuildEvent[] = [];
  let build = start;
  const push = (event: BuildEvent) => {
    out.push(event);
    build = evolve(build, event) as Build;
  };
  const holding = () => build.finished || build.cancel !== undefined || buildFacts(build).blocked || build.declined !== undefined;
  if (!holding() && build.plan) {
    // A skip can make further stages ready; repeat until nothing changes.
    for (let changed = true; changed; ) {
      changed = false;
      for (const stage of build.stages) {
        if (stage.status !== 'waiting') continue;
        const verdict = readiness(build, build.plan, stage.number);
        if (verdict === undefined) continue;
        changed = true;
        push(
          verdict.run
            ? { type: 'StageQueued', data: { stage: stage.number, attempt: 1, at } }
            : { type: 'StageSkipped', data: { stage: stage.number, reason: verdict.skip, at } },
        );
      }
    }
  }
  if (!build.finished && build.stages.every((s) => isStageEnded(s.status))) {
    push({ type: 'BuildFinished', data: { status: finishedStatus(build), at } });
  }
  return out;
}

function finishedStatus(build: Build): BuildStatusFinished {
  const status = deriveBuildStatus(buildFacts(build));
  // Every stage has ended, so the derivation cannot say pending/running/blocked.
  return status === 'pending' || status === 'running' || status === 'blocked' ? 'error' : status;
}

type Verdict = { run: true } | { run: false; skip: Skip };

/** Whether a waiting stage may now run: `undefined` while a dependency has not ended. */
function readiness(build: Build, plan: Plan, number: number): Verdict | undefined {
  const byName = new Map(plan.stages.map((s) => [s.name, s]));
  const planStage = plan.stages.find((s) => s.number === number)!;
  const deps = effectiveDependencies(plan, planStage.dependsOn);
  const statusOf = (n: number) => build.stages.find((s) => s.number === n)!.status;
  if (deps.some((n) => !isStageEnded(statusOf(n)))) return undefined;
  if (deps.length === 0) return { run: true };
  const failed = ancestors(byName, planStage.dependsOn)
    .filter((n) => isStageFailed(statusOf(n)))
    .map((n) => plan.stages.find((s) => s.number === n)!.name);
  const outcome = failed.length > 0 ? 'failure' : 'success';
  if (planStage.runsOn.includes(outcome)) return { run: true };
  const reason =
    outcome === 'failure'
      ? `dependency ${failed.map((n) => `'${n}'`).join(', ')} did not succeed and this pipeline runs only on success`
      : `its dependencies succeeded and this pipeline runs only on failure`;
  return { run: false, skip: { condition: 'dependency', reason } };
}

/** Stage numbers a stage waits for: skipped-by-trigger stages replaced by their own dependencies (Drone's DAG rewiring). */
function effectiveDependencies(plan: Plan, dependsOn: readonly string[]): number[] {
  const byName = new Map(plan.stages.map((s) => [s.name, s]));
  const found = new Set<number>();
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const stage = byName.get(name);
    if (!stage) return;
    if (stage.skip) stage.dependsOn.forEach(visit);
    else found.add(stage.number);
  };
  dependsOn.forEach(visit);
  return [...found];
}

function ancestors(byName: Map<string, Plan['stages'][number]>, dependsOn: readonly string[]): number[] {
  const found = new Set<number>();
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const stage = byName.get(name);
    if (!stage) return;
    found.add(stage.number);
    stage.dependsOn.forEach(visit);
  };
  dependsOn.forEach(visit);
  return [...found];
}

/** Why a plan cannot be run, in words, or undefined. The compiler checks the same; a plan that slips through must not leave a build waiting forever. */
function planProblem(plan: Plan): string | undefined {
  const numbers = new Set<number>();
  const names = new Set<string>();
  for (const stage of plan.stages) {
    if (numbers.has(stage.number)) return `stage number ${stage.number} is used twice`;
    if (names.has(stage.name)) return `pipeline name '${stage.name}' is used twice`;
    numbers.add(stage.number);
    names.add(stage.name);
    const steps = new Set<number>();
    for (const step of planStepsOf(stage)) {
      if (steps.has(step.number)) return `step number ${step.number} is used twice in pipeline '${stage.name}'`;
      steps.add(step.number);
    }
  }
  for (const stage of plan.stages) {
    const missing = stage.dependsOn.find((d) => !names.has(d));
    if (missing !== undefined) return `pipeline '${stage.name}' depends on '${missing}', which does not exist`;
  }
  // Drone's trigger: "Dependency cycle detected in Pipeline".
  const byName = new Map(plan.stages.map((s) => [s.name, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const cyclic = (name: string): boolean => {
    if (state.get(name) === 'done') return false;
    if (state.get(name) === 'visiting') return true;
    state.set(name, 'visiting');
    const hit = byName.get(name)!.dependsOn.some(cyclic);
    state.set(name, 'done');
    return hit;
  };
  if (plan.stages.some((s) => cyclic(s.name))) return 'Error: Dependency cycle detected in Pipeline';
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Step closing

interface CloseRules {
  /** How a running step ends; undefined leaves it running. */
  running: { status: 'success' | 'killed' | 'error'; exitCode: number; error?: string } | undefined;
  /** Why a pending step is skipped; undefined leaves it pending. */
  skip: Skip | undefined;
}

/** Drone's canceler and runner-go's `Cancel`: running steps are killed (137), pending ones skipped. */
const killedSteps = (why: string): CloseRules => ({
  running: { status: 'killed', exitCode: 137, error: why },
  skip: { condition: 'stage', reason: `${why} before the step ran` },
});
const cancelledSteps: CloseRules = killedSteps('the build was cancelled');

/**
 * Events that end the steps a runner left open when the stage ends without it having
 * reported them. The log's size and hash are unknown here, so they are left out.
 */
function closeSteps(stage: StageState, at: string, rules: CloseRules): BuildEvent[] {
  const events: BuildEvent[] = [];
  for (const step of stage.steps) {
    if (step.status === 'running' && rules.running) {
      events.push({ type: 'StepFinished', data: compact({ stage: stage.number, step: step.number, ...rules.running, at }) });
    } else if (step.status === 'pending' && rules.skip) {
      events.push({ type: 'StepSkipped', data: { stage: stage.number, step: step.number, reason: rules.skip, at } });
    }
  }
  return events;
}

// ---------------------------------------------------------------------------------------
// Guards

/** Finished builds too: purging old output is what it is for. A step still writing its log keeps it. */
export function decidePurgeStepLog(command: CommandOf<'PurgeStepLog'>, state: BuildState): BuildEvent[] {
  if (state.status === 'initial') throw new IllegalCommand('build_not_found', 'the build does not exist');
  const { stage: stageNumber, step: stepNumber, by, at } = command.data;
  const stage = state.stages.find((s) => s.number === stageNumber);
  if (!stage) throw new IllegalCommand('unknown_stage', `build #${state.number} has no stage ${stageNumber}`);
  const step = stage.steps.find((s) => s.number === stepNumber);
  if (!step) throw new IllegalCommand('unknown_step', `stage ${stageNumber} of build #${state.number} has no step ${stepNumber}`);
  if (step.status === 'running') {
    throw new IllegalCommand('step_running', `step ${stageNumber}/${stepNumber} (${step.name}) is still running: cancel the build or wait for the step to end`);
  }
  return [{ type: 'StepLogPurged', data: { stage: stageNumber, step: stepNumber, by, at } }];
}

function openBuild(state: BuildState): Build {
  if (state.status === 'initial') throw new IllegalCommand('build_not_found', 'the build does not exist');
  if (state.finished) throw new IllegalCommand('build_finished', `build #${state.number} already finished: ${state.status}`);
  return state;
}

function refuseAfterCancel(build: Build, what: string): void {
  if (build.cancel) {
    throw new IllegalCommand('cancel_requested', `cannot ${what}: ${build.cancel.by} cancelled the build at ${build.cancel.at}`);
  }
}

/** The stage, which must exist and not have ended. */
function liveStage(build: Build, number: number): StageState {
  const stage = build.stages.find((s) => s.number === number);
  if (!stage) throw new IllegalCommand('unknown_stage', `build #${build.number} has no stage ${number}`);
  if (isStageEnded(stage.status)) throw new IllegalCommand('stage_ended', `stage ${number} already ended: ${stage.status}`);
  return stage;
}

/** The live stage held by the claim `leaseToken` (fencing: any other token is a runner that lost it). */
function fencedStage(build: Build, number: number, leaseToken: string): StageState {
  const stage = liveStage(build, number);
  if (!stage.claim) {
    throw new IllegalCommand('stale_lease', `stage ${number} is not claimed by anyone: the lease is no longer valid`);
  }
  if (stage.claim.leaseToken !== leaseToken) {
    throw new IllegalCommand('stale_lease', `stage ${number} is held by another lease: this runner lost its claim`);
  }
  return stage;
}

function runningStage(build: Build, number: number, leaseToken: string): StageState {
  const stage = fencedStage(build, number, leaseToken);
  if (stage.status !== 'running') {
    throw new IllegalCommand('stage_not_running', `stage ${number} is claimed but not started`);
  }
  return stage;
}

function findStep(stage: StageState, number: number): StepState {
  const step = stage.steps.find((s) => s.number === number);
  if (!step) throw new IllegalCommand('unknown_step', `stage ${stage.number} has no step ${number}`);
  return step;
}

const planStepsOfStage = (build: Build, number: number) => {
  const stage = build.plan?.stages.find((s) => s.number === number);
  return stage ? planStepsOf(stage) : [];
};

const withIgnore = (build: Build, number: number) => {
  const plan = planStepsOfStage(build, number);
  const stage = build.stages.find((s) => s.number === number)!;
  return stage.steps
    .filter((s) => isStepEnded(s.status))
    .map((s) => ({ status: s.status, ignoreFailure: plan.find((p) => p.number === s.number)?.failure === 'ignore' }));
};

/** Drops keys whose value is undefined: events are stored as JSON, and a replayed event must equal the decided one. */
function compact<T extends object>(data: T): T {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined)) as T;
}

