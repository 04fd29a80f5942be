import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeMoment, eventsUpTo, MomentError, parseMoment } from '../../src/audit/moment.ts';
import { diffSnapshots, formatDiff, formatSnapshot, ReplayError, snapshotAt } from '../../src/audit/replay.ts';
import { fold } from '../../src/events/build-state.ts';
import { BuildEvent } from '../../src/events/build-events.ts';
import { nextRule, replayStage } from '../../src/runner/stage-rules.ts';
import { t } from '../events/fixtures.ts';
import { auditHistories, storedHistory } from './audit-histories.ts';

const all = auditHistories().map((history) => storedHistory(history, { firstPosition: 100, positionStep: 3 }));
const [failing, cancelled, lost, , timedOut, , inactive, , exhausted] = all;
const at = (position: number) => ({ kind: 'position' as const, position: String(position) });
const positionOf = (events: typeof failing, type: string, nth = 0) => Number(events!.filter((e) => e.type === type)[nth]!.position);

describe('moments', () => {
  test('given a position or a time with its zone, then it parses; anything else says what is accepted', () => {
    assert.deepEqual(parseMoment('1042'), { kind: 'position', position: '1042' });
    assert.deepEqual(parseMoment('2026-01-01T12:00:00Z'), { kind: 'time', time: '2026-01-01T12:00:00.000Z' });
    assert.deepEqual(parseMoment('2026-01-01T14:00:00+02:00'), { kind: 'time', time: '2026-01-01T12:00:00.000Z' });
    for (const bad of ['', 'yesterday', '2026-01-01', '2026-01-01T12:00:00', '-5', '12.5', '99999999999999999999']) {
      assert.throws(() => parseMoment(bad), (error: unknown) => error instanceof MomentError && /global position .* or a time with its zone/.test(error.message), bad);
    }
    assert.equal(describeMoment(parseMoment('7')), 'position 7');
  });

  test('given a position between two events, then the events up to it are a prefix; by time, those that had happened', () => {
    const events = failing!;
    assert.equal(eventsUpTo(events, at(Number(events[3]!.position) + 1)).length, 4);
    assert.equal(eventsUpTo(events, at(1)).length, 0);
    assert.equal(eventsUpTo(events, { kind: 'time', time: t(11) }).length, events.filter((e) => Date.parse((e.data as { at: string }).at) <= Date.parse(t(11))).length);
  });
});

describe('replay', () => {
  test('given every position of every history, then the snapshot folds exactly the events up to it with the decider', () => {
    for (const events of all) {
      for (let i = 0; i < events.length; i++) {
        const snapshot = snapshotAt(events, at(Number(events[i]!.position)));
        const state = fold(events.slice(0, i + 1).map((e) => BuildEvent.parse({ type: e.type, data: e.data })));
        assert.ok(state.status !== 'initial');
        assert.equal(snapshot.events, i + 1);
        assert.equal(snapshot.build!.status, state.status);
        assert.deepEqual(snapshot.stages.map((s) => [s.status, s.attempt, s.heldBy?.runnerId ?? null]), state.stages.map((s) => [s.status, s.attempt, s.claim?.runner.id ?? null]));
        assert.deepEqual(snapshot.stages.flatMap((s) => s.steps.map((step) => step.status)), state.stages.flatMap((s) => s.steps.map((step) => step.status)));
      }
    }
  });

  test('given a position before the build existed, then there is no build, and the text says so', () => {
    const snapshot = snapshotAt(failing!, at(5));
    assert.equal(snapshot.build, null);
    assert.match(formatSnapshot(snapshot), /did not exist yet/);
  });

  test('given a lost runner, then replay shows who held the stage before, none after the lease expired, and the new runner after the requeue', () => {
    const events = lost!;
    const claimed = snapshotAt(events, at(positionOf(events, 'StepStarted')));
    assert.deepEqual(claimed.stages[0]!.heldBy, { runnerId: 'runner-1', runnerName: 'r1', leaseToken: 'lease-1-1', since: t(1) });
    const expired = snapshotAt(events, at(positionOf(events, 'StageRequeued')));
    assert.equal(expired.stages[0]!.heldBy, null);
    assert.equal(expired.stages[0]!.status, 'pending');
    assert.equal(expired.stages[0]!.attempt, 2);
    assert.equal(expired.stages[0]!.lastRunner, 'runner-1');
    const again = snapshotAt(events, at(positionOf(events, 'StageStarted', 1)));
    assert.equal(again.stages[0]!.heldBy?.runnerId, 'runner-2');
    // A requeued stage keeps its first deadline (DESIGN: replayed rules).
    assert.equal(again.stages[0]!.clock.deadline, new Date(Date.parse(t(2)) + 3600_000).toISOString());
  });

  test('given a running stage, then its deadline and inactivity clock are the runner\'s own replayed rules read at the moment', () => {
    const events = timedOut!;
    const position = positionOf(events, 'StepStarted', 1);
    const snapshot = snapshotAt(events, at(position));
    const upTo = events.filter((e) => Number(e.position) <= position).map((e) => BuildEvent.parse({ type: e.type, data: e.data }));
    const { clock } = replayStage(upTo, 1);
    const expected = nextRule(clock, new Date(t(21)))!;
    const stage = snapshot.stages[0]!;
    assert.equal(stage.clock.deadline, clock.deadline!.toISOString());
    assert.equal(stage.clock.lastActivityAt, t(21));
    assert.deepEqual(stage.clock.next, { rule: expected.rule, at: expected.at.toISOString(), inSeconds: Math.round(expected.inMs / 1000) });
    assert.equal(stage.clock.next!.rule, 'inactivity', 'fifteen minutes of silence comes before the hour');
    // At a later time (no event since), the same clocks count down further; past the deadline the timeout is due.
    const late = snapshotAt(events, { kind: 'time', time: t(11 + 3599) });
    assert.equal(late.stages[0]!.clock.next!.rule, 'inactivity');
    assert.equal(late.stages[0]!.clock.next!.inSeconds, 0, 'overdue shows as due');
    assert.equal(snapshotAt(events, at(positionOf(events, 'StageTimedOut'))).stages[0]!.clock.next, null, 'an ended stage has no next rule');
    const inactiveAt = snapshotAt(inactive!, at(positionOf(inactive!, 'StepStarted')));
    assert.equal(inactiveAt.stages[0]!.clock.next!.at, new Date(Date.parse(t(32)) + 900_000).toISOString());
    assert.equal(snapshotAt(inactive!, at(positionOf(inactive!, 'StepStarted')), { inactivityLimitMs: 60_000 }).stages[0]!.clock.next!.at, new Date(Date.parse(t(32)) + 60_000).toISOString());
  });

  test('given two moments, then the diff names what changed for the build, each stage and step; and nothing for the same moment', () => {
    const events = cancelled!;
    const before = snapshotAt(events, at(positionOf(events, 'StepStarted')));
    const after = snapshotAt(events, at(Number(events[events.length - 1]!.position)));
    const changes = diffSnapshots(before, after);
    const find = (subject: string, field: string) => changes.find((c) => c.subject === subject && c.field === field);
    assert.deepEqual(find('build', 'status'), { subject: 'build', field: 'status', before: 'running', after: 'killed' });
    assert.deepEqual(find('build', 'cancel')?.after, { by: 'carol', at: t(8), reason: null });
    assert.deepEqual(find('stage 1 (build)', 'status'), { subject: 'stage 1 (build)', field: 'status', before: 'running', after: 'killed' });
    assert.equal(find('stage 1 (build)', 'heldBy')?.after, null);
    assert.equal(find('stage 1 (build) › step 1 (compile)', 'status')?.after, 'killed');
    assert.deepEqual(diffSnapshots(after, after), []);
    const text = formatDiff(before, after, changes, ['(events)']);
    assert.match(text, /^from position \d+ /);
    assert.match(text, /build:\n  status: running → killed/);
    assert.match(text, /1 event in between:/);
  });

  test('given a lease lost with no attempt left, then the stage ends in error and the build with it', () => {
    const snapshot = snapshotAt(exhausted!, at(Number(exhausted!.at(-1)!.position)));
    assert.equal(snapshot.stages[0]!.status, 'error');
    assert.equal(snapshot.build!.status, 'error');
    assert.equal(snapshot.build!.finished, true);
  });

  test('given an event edited so it no longer fits its schema, then replay says which one and what to run', () => {
    const events = failing!.map((e, i) => (i === 2 ? { ...e, data: { ...(e.data as object), stage: 'one' } } : e));
    assert.throws(() => snapshotAt(events, at(10_000)), (error: unknown) => error instanceof ReplayError && /version 3 .*runlog verify/.test(error.message));
  });

  test('given a snapshot, then the text shows the build, each stage with its holder and clocks, and its steps', () => {
    const text = formatSnapshot(snapshotAt(lost!, at(positionOf(lost!, 'StepStarted'))));
    assert.match(text, /^octo\/one#2 at position \d+ \(2026-01-01 00:00:03\.000 UTC\), after event \d+ of \d+ \(StepStarted\)\n/);
    assert.match(text, /build: running\n/);
    assert.match(text, /1 default +running +1 +r1 \(runner-1\) since 2026-01-01 00:00:01\.000 +2026-01-01 01:00:02\.000 +2026-01-01 00:00:03\.000 +inactivity at 2026-01-01 00:15:03\.000 \(in 15m\)/);
    assert.match(text, /\n {4}1 a +running/);
  });
});
