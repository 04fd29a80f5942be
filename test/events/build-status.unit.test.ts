import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deriveBuildStatus, deriveStageOutcome, stepStatusFromExitCode, type BuildFacts, type StageStatus } from '../../src/events/build-status.ts';

const facts = (stages: StageStatus[], extra: Partial<BuildFacts> = {}): BuildFacts => ({
  hasPlan: true,
  blocked: false,
  declined: false,
  cancelRequested: false,
  stages: stages.map((status) => ({ status })),
  ...extra,
});

describe('deriveBuildStatus', () => {
  it('given a build, derives Drone\'s status word', () => {
    const cases: Array<[BuildFacts, string]> = [
      [facts([], { hasPlan: false }), 'error'],
      [facts([]), 'success'],
      [facts(['waiting', 'pending']), 'pending'],
      [facts(['blocked', 'skipped'], { blocked: true }), 'blocked'],
      [facts(['declined', 'declined'], { declined: true }), 'declined'],
      [facts(['running', 'waiting']), 'running'],
      [facts(['success', 'pending']), 'running'],
      [facts(['skipped', 'pending']), 'pending'],
      [facts(['success', 'skipped']), 'success'],
      [facts(['skipped', 'skipped']), 'success'],
      [facts(['success', 'failure']), 'failure'],
      [facts(['failure', 'error']), 'error'],
      [facts(['error', 'killed', 'failure']), 'killed'],
      [facts(['success', 'success'], { cancelRequested: true }), 'killed'],
      [facts(['running', 'skipped'], { cancelRequested: true }), 'running'],
    ];
    for (const [input, expected] of cases) {
      assert.equal(deriveBuildStatus(input), expected, JSON.stringify(input));
    }
  });

  it('a claimed stage that has not started leaves the build pending; a started one makes it running', () => {
    assert.equal(deriveBuildStatus({ ...facts([]), stages: [{ status: 'pending' }] }), 'pending');
    assert.equal(deriveBuildStatus({ ...facts([]), stages: [{ status: 'pending', startedAt: '2026-01-01T00:00:00.000Z' }] }), 'running');
  });
});

describe('deriveStageOutcome', () => {
  it('follows runner-go: error wins, ignored failures do not count', () => {
    assert.equal(deriveStageOutcome([]), 'success');
    assert.equal(deriveStageOutcome([{ status: 'success', ignoreFailure: false }, { status: 'skipped', ignoreFailure: false }]), 'success');
    assert.equal(deriveStageOutcome([{ status: 'failure', ignoreFailure: true }]), 'success');
    assert.equal(deriveStageOutcome([{ status: 'failure', ignoreFailure: false }]), 'failure');
    assert.equal(deriveStageOutcome([{ status: 'killed', ignoreFailure: false }]), 'failure');
    assert.equal(deriveStageOutcome([{ status: 'error', ignoreFailure: true }, { status: 'failure', ignoreFailure: false }]), 'error');
  });
});

describe('stepStatusFromExitCode', () => {
  it('passes 0 and 78 (Drone), fails the rest', () => {
    assert.equal(stepStatusFromExitCode(0), 'success');
    assert.equal(stepStatusFromExitCode(78), 'success');
    assert.equal(stepStatusFromExitCode(1), 'failure');
    assert.equal(stepStatusFromExitCode(137), 'failure');
  });
});
