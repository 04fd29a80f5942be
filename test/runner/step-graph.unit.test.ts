import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlanStep, type PlanStep as Step } from '../../src/pipeline/plan.ts';
import { failedSteps, schedule, stageFailed, statusOfExit, type EndedStatus, type GraphState } from '../../src/runner/step-graph.ts';

const step = (number: number, name: string, extra: Partial<Step> = {}) =>
  PlanStep.parse({ number, name, kind: 'step', image: 'busybox', ...extra });

const state = (ended: Record<number, EndedStatus> = {}, running: number[] = [], extra: Partial<GraphState> = {}): GraphState => ({
  ended: new Map(Object.entries(ended).map(([k, v]) => [Number(k), v])),
  running: new Set(running),
  detached: new Set(),
  ...extra,
});
const names = (steps: Step[]) => steps.map((s) => s.name);

// a, b parallel; c after both; notify on failure only; always runs on either.
const steps = [
  step(1, 'a'),
  step(2, 'b'),
  step(3, 'c', { dependsOn: ['a', 'b'] }),
  step(4, 'notify', { dependsOn: ['c'], runsOn: ['failure'] }),
  step(5, 'always', { dependsOn: ['c'], runsOn: ['success', 'failure'] }),
];

describe('step graph', () => {
  it('starts independent steps together, and a dependent only when all its dependencies ended', () => {
    assert.deepEqual(names(schedule(steps, state()).start), ['a', 'b']);
    assert.deepEqual(names(schedule(steps, state({ 1: 'success' }, [2])).start), []);
    assert.deepEqual(names(schedule(steps, state({ 1: 'success', 2: 'success' })).start), ['c']);
  });

  it('after success, runs success steps and skips failure-only ones with the reason', () => {
    const next = schedule(steps, state({ 1: 'success', 2: 'success', 3: 'success' }));
    assert.deepEqual(names(next.start), ['always']);
    assert.deepEqual(next.skip.map((s) => [s.step.name, s.reason.condition]), [['notify', 'status']]);
  });

  it('after a failure, skips success-only steps and runs the failure ones', () => {
    const afterB = schedule(steps, state({ 1: 'success', 2: 'failure' }));
    assert.deepEqual(names(afterB.start), []);
    assert.deepEqual(afterB.skip.map((s) => s.step.name), ['c']);
    assert.match(afterB.skip[0].reason.reason, /earlier step failed/);
    const afterC = schedule(steps, state({ 1: 'success', 2: 'failure', 3: 'skipped' }));
    assert.deepEqual(names(afterC.start), ['notify', 'always']);
  });

  it('a failure under failure: ignore does not fail the stage', () => {
    const ignoring = [step(1, 'lint', { failure: 'ignore' }), step(2, 'test', { dependsOn: ['lint'] })];
    assert.deepEqual(names(schedule(ignoring, state({ 1: 'failure' })).start), ['test']);
    assert.equal(stageFailed(ignoring, new Map([[1, 'failure']])), false);
    assert.deepEqual(failedSteps(ignoring, new Map([[1, 'failure']])), ['lint']);
  });

  it('killed and error count as failed', () => {
    assert.equal(stageFailed(steps, new Map([[1, 'killed']])), true);
    assert.equal(stageFailed(steps, new Map([[1, 'error']])), true);
    assert.equal(stageFailed(steps, new Map([[1, 'skipped']])), false);
  });

  it('a started detached step lets its dependents start', () => {
    const withDetached = [step(1, 'server', { detach: true }), step(2, 'client', { dependsOn: ['server'] })];
    assert.deepEqual(names(schedule(withDetached, state({}, [], { detached: new Set([1]) })).start), ['client']);
  });

  it('halt skips everything not started', () => {
    const halted = schedule(steps, state({ 1: 'success' }, [2], { halt: { condition: 'exit-code', reason: 'step a exited 78' } }));
    assert.deepEqual(halted.start, []);
    assert.deepEqual(halted.skip.map((s) => s.step.name), ['c', 'notify', 'always']);
  });

  it('skips steps stuck on a cycle instead of waiting forever', () => {
    const cyclic = [step(1, 'x', { dependsOn: ['y'] }), step(2, 'y', { dependsOn: ['x'] })];
    const next = schedule(cyclic, state());
    assert.deepEqual(next.skip.map((s) => [s.step.name, s.reason.condition]), [['x', 'dependency'], ['y', 'dependency']]);
  });

  it('exit codes map to Drone statuses', () => {
    assert.equal(statusOfExit({ exitCode: 0, killed: false }), 'success');
    assert.equal(statusOfExit({ exitCode: 78, killed: false }), 'success');
    assert.equal(statusOfExit({ exitCode: 2, killed: false }), 'failure');
    assert.equal(statusOfExit({ exitCode: 137, killed: true }), 'killed');
  });
});
