import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BuildCommand, type BuildCommandInput } from '../../src/events/build-commands.ts';
import { decide } from '../../src/events/build-decider.ts';
import { BuildEvent } from '../../src/events/build-events.ts';
import { buildFacts, fold, initialState, type Build, type BuildState, type StageState } from '../../src/events/build-state.ts';
import { deriveBuildStatus, isStageEnded } from '../../src/events/build-status.ts';
import { IllegalCommand } from '../../src/events/decider-errors.ts';
import { cmd, planOf, runner, t, type StageSpec } from './fixtures.ts';

/**
 * Random plans and random command sequences: decide/evolve never throw anything but
 * IllegalCommand, every decided event passes its schema, the build's status is always
 * what `deriveBuildStatus` says, and replaying the stored JSON gives the same state.
 */

const planArb = fc
  .array(
    fc.record({
      deps: fc.array(fc.nat(5), { maxLength: 2 }),
      runsOn: fc.constantFrom<Array<'success' | 'failure'>>(['success'], ['failure'], ['success', 'failure']),
      skip: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
      steps: fc.array(
        fc.record({ ignore: fc.boolean(), retry: fc.boolean(), skip: fc.integer({ min: 0, max: 9 }).map((n) => n === 0) }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((stages) =>
    planOf(
      ...stages.map(
        (s, i): StageSpec => ({
          name: `p${i + 1}`,
          // Only earlier stages: the compiler's plans are acyclic (cycles are tested on their own).
          dependsOn: [...new Set(s.deps.filter((d) => d < i).map((d) => `p${d + 1}`))],
          runsOn: s.runsOn,
          ...(s.skip ? { skip: { condition: 'branch', reason: 'no match' } } : {}),
          steps: s.steps.map((st, j) => ({
            name: `s${j + 1}`,
            ...(st.ignore ? { failure: 'ignore' as const } : {}),
            ...(st.retry ? { retry: { limit: 2 } } : {}),
            ...(st.skip ? { skip: { condition: 'event', reason: 'no match' } } : {}),
          })),
        }),
      ),
    ),
  );

/** Weighted: the runner's happy path is common, the disruptive commands rarer. */
const kinds = [
  ...Array(2).fill('approve'),
  'decline',
  ...Array(6).fill('claim'),
  ...Array(5).fill('start'),
  ...Array(8).fill('startStep'),
  ...Array(8).fill('finishStep'),
  'skipStep',
  ...Array(2).fill('retryStep'),
  ...Array(5).fill('finishStage'),
  'cancel',
  'cancelStage',
  'timeOut',
  'inactive',
  ...Array(2).fill('expire'),
  ...Array(2).fill('resume'),
] as const;
type Kind =
  | 'approve' | 'decline' | 'claim' | 'start' | 'startStep' | 'finishStep' | 'skipStep' | 'retryStep'
  | 'finishStage' | 'cancel' | 'cancelStage' | 'timeOut' | 'inactive' | 'expire' | 'resume';

const actionArb = fc.record({
  kind: fc.constantFrom(...(kinds as readonly Kind[])),
  /** Which stage, by index into the build's stages; 7 names one that does not exist. */
  stage: fc.integer({ min: 0, max: 7 }),
  /** Which step, by index; or, when `aim` is set, the step the command fits best. */
  step: fc.integer({ min: 0, max: 4 }),
  aim: fc.constantFrom(true, true, true, false),
  /** 0: the live token; 1: a stale one; 2: null (server) where allowed. */
  token: fc.constantFrom(0, 0, 0, 0, 1, 2),
  exit: fc.constantFrom(0, 0, 0, 1, 2, 78, 137),
  dt: fc.constantFrom(1, 1, 1, 5, 60, 1000, 4000),
  attemptDelta: fc.constantFrom(0, 0, 0, 0, 1, -1),
  flag: fc.boolean(),
});
type Action = typeof actionArb extends fc.Arbitrary<infer A> ? A : never;

/** Turns an abstract action into a command against the current state, mostly a plausible one. */
function toCommand(action: Action, state: BuildState, now: number): BuildCommandInput {
  const at = t(now);
  const stages = state.status === 'initial' ? [] : state.stages;
  const fits: Partial<Record<Kind, (s: StageState) => boolean>> = {
    claim: (s) => s.status === 'pending' && !s.claim,
    start: (s) => s.status === 'pending' && !!s.claim,
    resume: (s) => s.status === 'pending' && !!s.claim,
    expire: (s) => !!s.claim,
    startStep: (s) => s.status === 'running',
    finishStep: (s) => s.status === 'running',
    skipStep: (s) => s.status === 'running',
    retryStep: (s) => s.status === 'running',
    finishStage: (s) => s.status === 'running',
    inactive: (s) => s.status === 'running',
    cancelStage: (s) => !!s.claim,
    timeOut: (s) => s.status === 'running',
  };
  const fit = fits[action.kind];
  const aimedStage = action.aim && fit ? stages.find(fit) : undefined;
  const stage = action.stage === 7 || stages.length === 0 ? undefined : (aimedStage ?? stages[action.stage % stages.length]);
  const stageNo = stage?.number ?? 9;
  const steps = stage?.steps ?? [];
  const wanted = action.kind === 'startStep' || action.kind === 'skipStep' ? 'pending' : 'running';
  const aimed = action.aim ? steps.find((s) => s.status === wanted) : undefined;
  const step = aimed ?? steps[action.step % Math.max(1, steps.length)];
  const stepNo = action.step === 4 ? 9 : (step?.number ?? 1);
  const live = stage?.claim?.leaseToken ?? `lease-${stageNo}-none`;
  const token = action.token === 1 ? 'stale-token' : live;
  const tokenOrServer = action.token === 2 ? null : token;
  switch (action.kind) {
    case 'approve':
      return cmd.approve(at);
    case 'decline':
      return cmd.decline(at);
    case 'claim':
      return cmd.claim(stageNo, at, Math.max(1, (stage?.attempt ?? 1) + action.attemptDelta), runner(now % 3), `lease-${stageNo}-${now}`);
    case 'start':
      return cmd.start(stageNo, at, token, action.flag ? { workspace: 'kept' } : {});
    case 'startStep':
      return cmd.startStep(stageNo, stepNo, at, token);
    case 'finishStep':
      return cmd.finishStep(stageNo, stepNo, at, action.exit, token, action.flag || action.exit !== 137 ? {} : { status: 'killed' });
    case 'skipStep':
      return cmd.skipStep(stageNo, stepNo, at, token);
    case 'retryStep':
      return cmd.retryStep(stageNo, stepNo, Math.max(1, (step?.retries ?? 0) + 1 + (action.flag ? 0 : action.attemptDelta)), action.exit, at, token);
    case 'finishStage':
      return cmd.finishStage(stageNo, at, token, action.flag || action.exit === 0 ? {} : { status: 'error', error: 'engine failed' });
    case 'cancel':
      return cmd.cancel(at);
    case 'cancelStage':
      return cmd.cancelStage(stageNo, at, tokenOrServer);
    case 'timeOut':
      return cmd.timeOut(stageNo, at, tokenOrServer);
    case 'inactive':
      return cmd.inactive(stageNo, at, t(Math.max(0, now - 1000)), 900, tokenOrServer);
    case 'expire':
      return cmd.expire(stageNo, at, token, action.flag ? 2 : undefined);
    case 'resume':
      return cmd.resume(stageNo, at, stepNo, action.flag ? 'kept' : 'fresh', token);
  }
}

function checkConsistent(state: BuildState, events?: BuildEvent[]): void {
  if (state.status === 'initial') return;
  const build = state as Build;
  assert.equal(build.status, deriveBuildStatus(buildFacts(build)), 'the status is the derived one');
  const allEnded = build.stages.every((s) => isStageEnded(s.status));
  assert.equal(build.finished, allEnded, 'BuildFinished is recorded exactly when every stage has ended');
  if (events) assert.equal(events.filter((e) => e.type === 'BuildFinished').length, build.finished ? 1 : 0);
  for (const stage of build.stages) {
    if (isStageEnded(stage.status)) assert.equal(stage.claim, undefined, `ended stage ${stage.number} holds no claim`);
    if (stage.status === 'running') assert.ok(stage.claim, `running stage ${stage.number} has a claim`);
    if (build.finished) assert.ok(stage.steps.every((s) => s.status !== 'running'), 'no step runs in a finished build');
  }
}

describe('build decider properties', () => {
  it('random commands: only IllegalCommand is thrown, events are valid, status stays derived, replay is exact', () => {
    fc.assert(
      fc.property(planArb, fc.integer({ min: 0, max: 3 }).map((n) => n === 0), fc.array(actionArb, { minLength: 10, maxLength: 80, size: 'max' }), (plan, block, actions) => {
        const events: BuildEvent[] = [];
        let state: BuildState = initialState();
        let now = 0;
        const apply = (input: BuildCommandInput) => {
          const command = BuildCommand.parse(input);
          let decided: BuildEvent[];
          try {
            decided = decide(command, state);
          } catch (error) {
            if (error instanceof IllegalCommand) return;
            throw error;
          }
          assert.deepEqual(decide(command, state), decided, 'deterministic');
          for (const event of decided) {
            assert.deepEqual(BuildEvent.parse(event), event);
            state = fold([event], state);
          }
          events.push(...decided);
          checkConsistent(state, events);
        };
        apply(cmd.create(plan, block ? { block: 'protected' } : {}));
        for (const action of actions) {
          now += action.dt;
          apply(toCommand(action, state, now));
        }
        const replayed = fold(JSON.parse(JSON.stringify(events)) as BuildEvent[]);
        assert.equal(JSON.stringify(replayed), JSON.stringify(state), 'a replay of the stored JSON folds to the same state');
      }),
      { numRuns: 200 },
    );
  });

  it('a build whose stages are all run to an end always finishes, with the status its stages give', () => {
    fc.assert(
      fc.property(planArb, fc.array(fc.constantFrom(0, 0, 1), { minLength: 20, maxLength: 20 }), (plan, exits) => {
        let state: BuildState = initialState();
        let now = 0;
        const run = (input: BuildCommandInput) => {
          state = fold(decide(BuildCommand.parse(input), state), state);
        };
        run(cmd.create(plan));
        let guard = 0;
        while (state.status !== 'initial' && !state.finished) {
          assert.ok(guard++ < 50, 'the build makes progress');
          const build: Build = state;
          const stage = build.stages.find((s) => s.status === 'pending');
          assert.ok(stage, `a build that has not finished has a queued stage: ${JSON.stringify(build.stages.map((s) => s.status))}`);
          const token = `lease-${stage.number}-x`;
          run(cmd.claim(stage.number, t(++now), stage.attempt, runner(), token));
          run(cmd.start(stage.number, t(++now), token));
          const current = (state as Build).stages.find((s) => s.number === stage.number)!;
          for (const step of current.steps.filter((s) => s.status === 'pending')) {
            run(cmd.startStep(stage.number, step.number, t(++now), token));
            run(cmd.finishStep(stage.number, step.number, t(++now), exits[(step.number + stage.number) % exits.length]!, token));
          }
          run(cmd.finishStage(stage.number, t(++now), token));
        }
        checkConsistent(state);
      }),
      { numRuns: 200 },
    );
  });
});
