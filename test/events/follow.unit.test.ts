// follow's ordering rules against an in-memory log, including the per-stream inversion that
// appendToStream's first-write rule prevents and a real database cannot easily be made to show.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Checkpoint } from '../../src/events/checkpoint.ts';
import { compareCheckpoints } from '../../src/events/checkpoint.ts';
import { StreamGapError } from '../../src/events/event-store.ts';
import type { StoredEvent } from '../../src/events/event-store.ts';
import type { FollowSource } from '../../src/events/follow.ts';
import { follow } from '../../src/events/follow.ts';

const stored = (transactionId: number, globalPosition: number, streamId: string, streamVersion: number): StoredEvent => ({
  globalPosition: String(globalPosition),
  transactionId: String(transactionId),
  streamId,
  streamVersion,
  type: 'T',
  data: {},
  metadata: {},
  recordedAt: new Date(0),
  prevHash: '',
  hash: '',
});

/** A log in (transaction_id, global_position) order that can grow, and counts its reads. */
function memoryLog(initial: StoredEvent[]) {
  const log = [...initial];
  let wake: (() => void) | undefined;
  const source: FollowSource & { reads: number } = {
    reads: 0,
    async readAll(after: Checkpoint | null, limit: number) {
      source.reads += 1;
      return log.filter((e) => compareCheckpoints(e, after) > 0).slice(0, limit);
    },
    async versionsUpTo(streamIds: readonly string[], at: Checkpoint | null) {
      const found = new Map<string, number>();
      for (const e of log) {
        if (streamIds.includes(e.streamId) && compareCheckpoints(e, at) <= 0) found.set(e.streamId, Math.max(found.get(e.streamId) ?? 0, e.streamVersion));
      }
      return found;
    },
    async listen(onWake: () => void) {
      wake = onWake;
      return async () => {
        wake = undefined;
      };
    },
  };
  return {
    source,
    append(...events: StoredEvent[]) {
      log.push(...events);
      wake?.();
    },
    listening: () => wake !== undefined,
  };
}

const names = (events: readonly StoredEvent[]) => events.map((e) => `${e.streamId}@${e.streamVersion}`);

describe('follow', () => {
  it('delivers in batches, wakes on a notification without waiting for the poll, and unlistens on abort', async () => {
    const log = memoryLog([stored(1, 1, 'a', 1), stored(1, 2, 'a', 2), stored(2, 3, 'b', 1)]);
    const seen: StoredEvent[] = [];
    const sizes: number[] = [];
    const controller = new AbortController();
    const following = follow(log.source, {
      after: null,
      signal: controller.signal,
      batchSize: 2,
      pollIntervalMs: 60_000,
      onBatch: (batch) => {
        sizes.push(batch.length);
        seen.push(...batch);
      },
    });
    while (seen.length < 3) await new Promise((r) => setTimeout(r, 1));
    log.append(stored(3, 4, 'a', 3));
    while (seen.length < 4) await new Promise((r) => setTimeout(r, 1));
    controller.abort();
    await following;
    assert.deepEqual(names(seen), ['a@1', 'a@2', 'b@1', 'a@3']);
    assert.deepEqual(sizes, [2, 1, 1]);
    assert.equal(log.listening(), false);
  });

  it('never delivers a stream out of order: the first-write trap (v2 with an older xid than v1)', async () => {
    // A transaction wrote something else first (xid 10), then v1 of s was appended and
    // committed (xid 11), then the first transaction appended v2: log order is v2, v1.
    const log = memoryLog([stored(9, 1, 'other', 1), stored(10, 3, 's', 2), stored(11, 2, 's', 1)]);
    const seen: StoredEvent[] = [];
    await assert.rejects(
      follow(log.source, {
        after: null,
        signal: new AbortController().signal,
        pollIntervalMs: 5,
        gapTimeoutMs: 50,
        onBatch: (batch) => void seen.push(...batch),
      }),
      (error: unknown) => error instanceof StreamGapError && error.streamId === 's' && error.expectedVersion === 1 && error.actualVersion === 2,
    );
    assert.deepEqual(names(seen), ['other@1'], 'what came before the gap, nothing after it');
    assert.ok(log.source.reads > 2, 'it re-read before giving up');
  });

  it('waits out a gap that closes, then delivers in order', async () => {
    // Not possible below a real commit horizon, but follow must not depend on that.
    const log = memoryLog([stored(1, 1, 's', 1), stored(3, 3, 's', 3)]);
    const seen: StoredEvent[] = [];
    const controller = new AbortController();
    const following = follow(log.source, {
      after: null,
      signal: controller.signal,
      pollIntervalMs: 5,
      onBatch: (batch) => void seen.push(...batch),
    });
    while (log.source.reads < 3) await new Promise((r) => setTimeout(r, 1));
    assert.deepEqual(names(seen), ['s@1']);
    // the missing event turns up, ahead of v3 in log order
    log.source.readAll = async (after, limit) =>
      [stored(1, 1, 's', 1), stored(2, 2, 's', 2), stored(3, 3, 's', 3)].filter((e) => compareCheckpoints(e, after) > 0).slice(0, limit);
    while (seen.length < 3) await new Promise((r) => setTimeout(r, 1));
    controller.abort();
    await following;
    assert.deepEqual(names(seen), ['s@1', 's@2', 's@3']);
  });

  it('starting from a checkpoint, takes each stream’s version at that point as the baseline', async () => {
    const log = memoryLog([stored(1, 1, 's', 1), stored(2, 2, 's', 2), stored(3, 3, 's', 3)]);
    const seen: StoredEvent[] = [];
    const controller = new AbortController();
    const following = follow(log.source, {
      after: { transactionId: '2', globalPosition: '2' },
      signal: controller.signal,
      pollIntervalMs: 5,
      gapTimeoutMs: 20,
      onBatch: (batch) => {
        seen.push(...batch);
        controller.abort();
      },
    });
    await following;
    assert.deepEqual(names(seen), ['s@3']);
  });

  it('stops without delivering when aborted during a read, and refuses bad options', async () => {
    const log = memoryLog([stored(1, 1, 's', 1)]);
    const controller = new AbortController();
    const read = log.source.readAll;
    log.source.readAll = async (after, limit) => {
      controller.abort();
      return read(after, limit);
    };
    let calls = 0;
    await follow(log.source, { after: null, signal: controller.signal, onBatch: () => void (calls += 1) });
    assert.equal(calls, 0);
    await assert.rejects(follow(log.source, { after: null, signal: controller.signal, batchSize: 0, onBatch: () => {} }), TypeError);
  });
});
