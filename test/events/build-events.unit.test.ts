import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BuildEvent, buildEventTypes } from '../../src/events/build-events.ts';
import { BuildCommand } from '../../src/events/build-commands.ts';
import { EventMetadata } from '../../src/events/event-metadata.ts';
import { evolve, initialState } from '../../src/events/build-state.ts';
import { t } from './fixtures.ts';

describe('build event schemas', () => {
  it('lists every event type once', () => {
    assert.equal(new Set(buildEventTypes).size, buildEventTypes.length);
    assert.ok(buildEventTypes.includes('BuildCreated') && buildEventTypes.includes('BuildFinished'));
    assert.equal(buildEventTypes.length, 25);
  });

  it('refuses an event without its time, with a time without zone, or with an unknown type', () => {
    assert.equal(BuildEvent.safeParse({ type: 'StageQueued', data: { stage: 1, attempt: 1 } }).success, false);
    assert.equal(BuildEvent.safeParse({ type: 'StageQueued', data: { stage: 1, attempt: 1, at: '2026-01-01 00:00' } }).success, false);
    assert.equal(BuildEvent.safeParse({ type: 'StageExploded', data: { at: t(0) } }).success, false);
    assert.equal(BuildEvent.safeParse({ type: 'StageQueued', data: { stage: 0, attempt: 1, at: t(0) } }).success, false);
    assert.equal(BuildEvent.safeParse({ type: 'StageQueued', data: { stage: 1, attempt: 1, at: '2026-01-01T01:00:00+01:00' } }).success, true);
  });

  it('metadata is all optional', () => {
    assert.deepEqual(EventMetadata.parse({}), {});
    assert.deepEqual(EventMetadata.parse({ actor: 'user:alice', runnerId: 'r1' }), { actor: 'user:alice', runnerId: 'r1' });
  });

  it('a runner-side command without its lease token is invalid; the reaper says null explicitly', () => {
    assert.equal(BuildCommand.safeParse({ type: 'CancelStage', data: { stage: 1, at: t(0) } }).success, false);
    assert.equal(BuildCommand.safeParse({ type: 'CancelStage', data: { stage: 1, leaseToken: null, at: t(0) } }).success, true);
    assert.equal(BuildCommand.safeParse({ type: 'FinishStage', data: { stage: 1, leaseToken: null, at: t(0) } }).success, false);
  });

  it('ExpireLease defaults maxAttempts to 3', () => {
    const parsed = BuildCommand.parse({ type: 'ExpireLease', data: { stage: 1, leaseToken: 'x', at: t(0) } });
    assert.equal(parsed.type === 'ExpireLease' && parsed.data.maxAttempts, 3);
  });

  it('evolve ignores events that do not fit instead of throwing', () => {
    const s0 = initialState();
    assert.equal(evolve(s0, { type: 'StageQueued', data: { stage: 1, attempt: 1, at: t(0) } }), s0);
  });
});
