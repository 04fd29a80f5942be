import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entryJson, formatEntry, summarize, timeline, TIMELINE_HEADER } from '../../src/audit/timeline.ts';
import { auditHistories, storedHistory } from './audit-histories.ts';

const [failing, cancelled, lost, , timedOut, , inactive, resumed] = auditHistories().map((history) => storedHistory(history));

describe('timeline', () => {
  test('given a build, then each entry has its time, position, type, stage and step names from the plan, and who caused it', () => {
    const entries = timeline(failing!);
    assert.equal(entries.length, failing!.length);
    const created = entries[0]!;
    assert.equal(created.type, 'BuildCreated');
    assert.equal(created.at, '2026-01-01T00:00:00.000Z');
    assert.equal(created.position, '1');
    assert.equal(created.actor, 'user:alice');
    assert.match(created.summary, /^octo\/one#1 push refs\/heads\/main c0ffee by alice; 3 stages/);

    const testFailed = entries.find((e) => e.type === 'StepFinished' && e.step === 2)!;
    assert.equal(testFailed.stageName, 'build');
    assert.equal(testFailed.stepName, 'test');
    assert.equal(testFailed.runner, 'runner-1');
    assert.match(testFailed.summary, /^failure, exit code 2, log 12 B sha256 bbbbbbbbbbbb/);

    const skipped = entries.find((e) => e.type === 'StageSkipped')!;
    assert.equal(skipped.stageName, 'deploy');
    assert.match(skipped.summary, /skipped \(dependency: /);
  });

  test('given cancel, timeout, inactivity, lease expiry and resume, then their essential fields are in words', () => {
    const summaryOf = (events: typeof failing, type: string) => timeline(events!).find((e) => e.type === type)!;
    assert.equal(summaryOf(cancelled, 'CancelRequested').summary, 'cancel requested by carol');
    assert.equal(summaryOf(cancelled, 'CancelRequested').actor, 'user:carol');
    assert.equal(summaryOf(timedOut, 'StageTimedOut').summary, 'timed out: past its deadline 2026-01-01T01:00:11.000Z, attempt 1');
    assert.equal(summaryOf(timedOut, 'StageTimedOut').actor, 'system:reaper');
    assert.match(summaryOf(inactive, 'StageInactive').summary, /nothing for 900s since 2026-01-01T00:00:32.000Z/);
    const expired = summaryOf(lost, 'StageLeaseExpired');
    assert.equal(expired.summary, 'lease lease-1-1 of r1 (runner-1) expired (no heartbeat), attempt 1');
    assert.equal(expired.runner, 'runner-1', 'the runner the event names');
    assert.equal(expired.actor, 'system:reaper');
    assert.equal(expired.by, 'system:reaper', 'the reaper expired the lease, the runner did not');
    assert.equal(summaryOf(lost, 'StageClaimed').by, 'runner runner-1');
    assert.equal(summaryOf(lost, 'StageRequeued').summary, 'requeued as attempt 2');
    assert.equal(summaryOf(resumed, 'StageResumed').summary, 'resumed from step 2 (b), workspace kept, step 1 kept (not run again), attempt 2');
    assert.equal(summaryOf(resumed, 'StepRetried').summary, 'retry 1 after exit code 1');
  });

  test('given an event type the timeline does not know, then its data shows as JSON without the time', () => {
    assert.equal(summarize('RunnerRegistered', { id: 'r9', labels: { gpu: 'yes' }, at: '2026-01-01T00:00:00Z' }), '{"id":"r9","labels":{"gpu":"yes"}}');
  });

  test('given entries, then text lines keep the header columns, and --json carries the stored event and what the timeline worked out', () => {
    const events = failing!;
    const entries = timeline(events);
    const line = formatEntry(entries[4]!);
    assert.equal(line.indexOf(entries[4]!.type), TIMELINE_HEADER.indexOf('EVENT'));
    assert.ok(line.startsWith('2026-01-01 00:00:'));
    const json = entryJson(events[4]!, entries[4]!);
    assert.equal(json.hash, events[4]!.hash);
    assert.equal(json.prev_hash, events[4]!.prevHash);
    assert.equal(json.stream, events[4]!.streamId);
    assert.equal(json.summary, entries[4]!.summary);
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json, 'plain JSON');
  });
});
