// The EventStore contract: one suite, run against every database the store supports
// (event-store.postgres.int.test.ts, event-store.pglite.int.test.ts). Each test opens a
// database of its own, so no test sees another's events.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { appendToStream } from '../../src/events/append-to-stream.ts';
import { checkpointOf, formatCheckpoint, parseCheckpoint } from '../../src/events/checkpoint.ts';
import type { Database } from '../../src/events/database.ts';
import { AppendNotFirstWrite, StreamGapError, StreamVersionConflict } from '../../src/events/event-store.ts';
import type { EventStore, NewEvent, StoredEvent } from '../../src/events/event-store.ts';
import { GENESIS_HASH, eventHash, verifyChain } from '../../src/events/hash-chain.ts';
import { EVENTS_CHANNEL, createEventStore } from '../../src/events/sql-event-store.ts';
import { StreamHeadEdited } from '../../src/events/stream-head.ts';

/** Opens a new, empty, migrated database; the test closes it. */
export type OpenDatabase = () => Promise<Database>;

export async function withStore(open: OpenDatabase, work: (store: EventStore, database: Database) => Promise<void>): Promise<void> {
  const database = await open();
  try {
    await work(createEventStore(database), database);
  } finally {
    await database.close();
  }
}

export const event = (type: string, data: unknown = {}, metadata?: Record<string, unknown>): NewEvent =>
  metadata === undefined ? { type, data } : { type, data, metadata };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits until every event in the database is below the commit horizon. The horizon is the
 * cluster's oldest running transaction, so on a shared Postgres another test's open
 * transaction holds readAll back for a moment even though this database is our own.
 */
export async function settled(database: Database, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await database.query<{ pending: boolean }>(
      sql`select exists (select 1 from events where transaction_id >= pg_snapshot_xmin(pg_current_snapshot())) as pending`,
    );
    if (!row?.pending) return;
    if (Date.now() > deadline) throw new Error(`events still above the commit horizon after ${timeoutMs} ms`);
    await sleep(20);
  }
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

const summary = (events: readonly StoredEvent[]) => events.map((e) => `${e.streamId}@${e.streamVersion}:${e.type}`);

export function eventStoreContract(open: OpenDatabase): void {
  it('appends events and reads them back in version order', () =>
    withStore(open, async (store) => {
      // Given an empty stream, when two events are appended with common metadata
      const first = await store.append('build-1', 0, [event('BuildCreated', { ref: 'main', n: 1 }), event('StageQueued', { stage: 1 }, { actor: 'bot' })], {
        actor: 'alice',
        correlationId: 'c-1',
      });
      const second = await store.append('build-1', 2, [event('StageStarted', { stage: 1 })]);

      // Then the versions and positions come back, and the stream reads as written
      assert.equal(first.streamVersion, 2);
      assert.equal(first.globalPositions.length, 2);
      assert.equal(second.streamVersion, 3);
      assert.ok(BigInt(second.globalPositions[0]!) > BigInt(first.globalPositions[1]!));
      assert.notEqual(first.transactionId, second.transactionId);

      const stream = await store.readStream('build-1');
      assert.deepEqual(summary(stream), ['build-1@1:BuildCreated', 'build-1@2:StageQueued', 'build-1@3:StageStarted']);
      assert.deepEqual(stream[0]!.data, { ref: 'main', n: 1 });
      assert.deepEqual(stream[0]!.metadata, { actor: 'alice', correlationId: 'c-1' });
      assert.deepEqual(stream[1]!.metadata, { actor: 'bot', correlationId: 'c-1' }, "an event's own metadata wins");
      assert.deepEqual(stream[2]!.metadata, {});
      assert.deepEqual(
        stream.map((e) => e.globalPosition),
        [...first.globalPositions, ...second.globalPositions],
      );
      assert.equal(stream[0]!.transactionId, first.transactionId);
      assert.ok(stream.every((e) => e.recordedAt instanceof Date && !Number.isNaN(e.recordedAt.getTime())));
      assert.ok(stream.every((e) => typeof e.globalPosition === 'string' && typeof e.transactionId === 'string'));

      assert.deepEqual(summary(await store.readStream('build-1', { fromVersion: 2 })), ['build-1@2:StageQueued', 'build-1@3:StageStarted']);
      assert.deepEqual(summary(await store.readStream('build-1', { fromVersion: 2, toVersion: 2 })), ['build-1@2:StageQueued']);
      assert.deepEqual(await store.readStream('build-unknown'), []);
      assert.deepEqual(await store.headOf('build-1'), { streamVersion: 3, hash: stream[2]!.hash });
      assert.deepEqual(await store.headOf('build-unknown'), { streamVersion: 0, hash: GENESIS_HASH });
    }));

  it('stores exactly the JSON it was given: nested values, null data, dates as strings', () =>
    withStore(open, async (store) => {
      const data = { list: [1, 'two', null, { deep: true }], at: new Date(Date.UTC(2026, 0, 1)), skipped: undefined, unicode: 'é ✓ \u2028' };
      await store.append('s', 0, [event('A', data), event('B', null), event('C', 'text')]);
      const [a, b, c] = await store.readStream('s');
      assert.deepEqual(a!.data, { list: [1, 'two', null, { deep: true }], at: '2026-01-01T00:00:00.000Z', unicode: 'é ✓ \u2028' });
      assert.equal(b!.data, null);
      assert.equal(c!.data, 'text');
    }));

  it('refuses a stale or wrong expected version with StreamVersionConflict, writing nothing', () =>
    withStore(open, async (store) => {
      await store.append('s', 0, [event('A'), event('B')]);

      // 0 means "must not exist"
      await assert.rejects(store.append('s', 0, [event('C')]), (error: unknown) => {
        assert.ok(error instanceof StreamVersionConflict);
        assert.equal(error.streamId, 's');
        assert.equal(error.expected, 0);
        assert.equal(error.actual, 2);
        return true;
      });
      // a stale version, and one from the future
      await assert.rejects(store.append('s', 1, [event('C')]), { name: 'StreamVersionConflict', expected: 1, actual: 2 });
      await assert.rejects(store.append('s', 3, [event('C')]), { name: 'StreamVersionConflict', expected: 3, actual: 2 });
      // a stream that does not exist yet is at 0
      await assert.rejects(store.append('other', 1, [event('C')]), { name: 'StreamVersionConflict', actual: 0 });

      assert.deepEqual(summary(await store.readStream('s')), ['s@1:A', 's@2:B']);
      assert.deepEqual(await store.readStream('other'), []);
      // the right version still works after the conflicts
      assert.equal((await store.append('s', 2, [event('C')])).streamVersion, 3);
    }));

  it("appends with 'any' to a new or an existing stream", () =>
    withStore(open, async (store) => {
      assert.equal((await store.append('s', 'any', [event('A')])).streamVersion, 1);
      assert.equal((await store.append('s', 'any', [event('B'), event('C')])).streamVersion, 3);
      assert.deepEqual(summary(await store.readStream('s')), ['s@1:A', 's@2:B', 's@3:C']);
      assert.equal(verifyChain(await store.readStream('s')).ok, true);
    }));

  it('checks the expected version of an empty append and writes nothing', () =>
    withStore(open, async (store) => {
      assert.deepEqual(await store.append('s', 0, []), { streamVersion: 0, globalPositions: [], transactionId: '' });
      await store.append('s', 0, [event('A')]);
      assert.equal((await store.append('s', 1, [])).streamVersion, 1);
      await assert.rejects(store.append('s', 0, []), StreamVersionConflict);
      assert.equal((await store.readStream('s')).length, 1);
    }));

  it('rejects bad input with a TypeError that says what is wrong, writing nothing', () =>
    withStore(open, async (store) => {
      await assert.rejects(store.append('', 0, [event('A')]), { name: 'TypeError', message: /non-empty stream id/ });
      await assert.rejects(store.append('s', -1, [event('A')]), { name: 'TypeError', message: /got -1/ });
      await assert.rejects(store.append('s', 1.5, [event('A')]), TypeError);
      await assert.rejects(store.append('s', 0, [event('')]), { name: 'TypeError', message: /non-empty type/ });
      await assert.rejects(store.append('s', 0, [{ type: 'A', data: undefined }]), { name: 'TypeError', message: /not JSON/ });
      await assert.rejects(store.append('s', 0, [event('A', { n: 1n })]), { name: 'TypeError', message: /not JSON/ });
      await assert.rejects(store.append('s', 0, [event('A', { text: 'nul \u0000 here' })]), { name: 'TypeError', message: /NUL/ });
      await assert.rejects(store.append('s', 0, [event('A', {}, ['not', 'an', 'object'] as never)]), { name: 'TypeError', message: /JSON object/ });
      await assert.rejects(store.readAll(null, 0), TypeError);
      assert.deepEqual(await store.readStream('s'), []);
      // a backslash followed by "u0000" is ordinary text, not a NUL
      await store.append('s', 0, [event('A', { text: '\\u0000' })]);
      assert.deepEqual((await store.readStream('s'))[0]!.data, { text: '\\u0000' });
    }));

  it('refuses an append that is not the first write of its transaction', () =>
    withStore(open, async (store, database) => {
      // Given a transaction that already wrote something
      await assert.rejects(
        database.transaction(async (tx) => {
          await tx.query(sql`insert into checkpoints (name) values ('written-first')`);
          await appendToStream(tx, 's', 0, [event('A')]);
        }),
        (error: unknown) => {
          assert.ok(error instanceof AppendNotFirstWrite);
          assert.equal(error.streamId, 's');
          assert.match(error.transactionId, /^\d+$/);
          return true;
        },
      );
      // Then nothing of it was committed
      assert.deepEqual(await store.readStream('s'), []);
      assert.deepEqual(await database.query(sql`select name from checkpoints`), []);

      // Reads before the append and writes after it are fine (an inline projection, say)
      await database.transaction(async (tx) => {
        await tx.query(sql`select count(*) from events`);
        await appendToStream(tx, 's', 0, [event('A')]);
        await tx.query(sql`insert into checkpoints (name) values ('after-the-append')`);
      });
      assert.deepEqual(summary(await store.readStream('s')), ['s@1:A']);
      assert.deepEqual(await database.query(sql`select name from checkpoints`), [{ name: 'after-the-append' }]);
    }));

  it('chains every stream: prevHash links, hashes recompute, verifyChain finds nothing', () =>
    withStore(open, async (store, database) => {
      await store.append('a', 0, [event('A1', { i: 1 }), event('A2', { i: 2 })], { actor: 'x' });
      await store.append('b', 0, [event('B1', { i: 1 })]);
      await store.append('a', 2, [event('A3', { i: 3 })]);
      await store.append('b', 'any', [event('B2', { z: 1, a: 2 })]);

      for (const streamId of ['a', 'b']) {
        const stream = await store.readStream(streamId);
        let prevHash = GENESIS_HASH;
        for (const stored of stream) {
          assert.equal(stored.prevHash, prevHash, `${streamId}@${stored.streamVersion} links to its predecessor`);
          assert.equal(stored.hash, eventHash(prevHash, stored));
          assert.match(stored.hash, /^[0-9a-f]{64}$/);
          prevHash = stored.hash;
        }
        assert.equal((await store.headOf(streamId)).hash, prevHash);
      }
      await settled(database);
      const all = await store.readAll(null, 100);
      assert.deepEqual(verifyChain(all), { ok: true, streams: 2, events: 5, problems: [] });
    }));

  it('lets verifyChain find an edited, a deleted and a reordered event', () =>
    withStore(open, async (store, database) => {
      // Given four streams of four events each
      for (const streamId of ['edited', 'deleted', 'moved', 'intact']) {
        await store.append(streamId, 0, [event('E1', { n: 1 }), event('E2', { n: 2 })]);
        await store.append(streamId, 2, [event('E3', { n: 3 }), event('E4', { n: 4 })]);
      }

      // When someone edits, deletes and swaps events behind the store's back
      await database.query(sql`update events set data = jsonb_set(data, '{n}', '99') where stream_id = 'edited' and stream_version = 2`);
      await database.query(sql`delete from events where stream_id = 'deleted' and stream_version = 2`);
      // (the unique key forbids a direct swap, so go through a spare version)
      await database.query(sql`update events set stream_version = 1000 where stream_id = 'moved' and stream_version = 2`);
      await database.query(sql`update events set stream_version = 2 where stream_id = 'moved' and stream_version = 3`);
      await database.query(sql`update events set stream_version = 3 where stream_id = 'moved' and stream_version = 1000`);

      // Then each is reported at its stream and version, and the intact stream is not
      await settled(database);
      const report = verifyChain(await store.readAll(null, 100));
      assert.equal(report.ok, false);
      assert.deepEqual(
        report.problems.map((p) => [p.kind, p.streamId, p.streamVersion]),
        [
          ['edited', 'edited', 2],
          ['deleted', 'deleted', 2],
          ['reordered', 'moved', 2],
          ['reordered', 'moved', 3],
        ],
      );
      assert.equal(verifyChain(await store.readStream('intact')).ok, true);
    }));

  it('lets verifyChain find events moved in log order', () =>
    withStore(open, async (store, database) => {
      await store.append('s', 0, [event('A'), event('B'), event('C')]);
      const [, b, c] = await store.readStream('s');
      // Swap the global positions of versions 2 and 3 (same transaction, so log order swaps).
      await database.query(sql`update events set global_position = -1 where global_position = ${b!.globalPosition}::bigint`);
      await database.query(sql`update events set global_position = ${b!.globalPosition}::bigint where global_position = ${c!.globalPosition}::bigint`);
      await database.query(sql`update events set global_position = ${c!.globalPosition}::bigint where global_position = -1`);

      await settled(database);
      const inLogOrder = await store.readAll(null, 10);
      assert.deepEqual(summary(inLogOrder), ['s@1:A', 's@3:C', 's@2:B']);
      assert.deepEqual(
        verifyChain(inLogOrder).problems.map((p) => [p.kind, p.streamVersion]),
        [['reordered', 2]],
      );
    }));

  it('reads all events in commit order, page by page from any checkpoint', () =>
    withStore(open, async (store, database) => {
      assert.deepEqual(await store.readAll(null, 10), []);
      assert.equal(await store.lastCheckpoint(), null);

      await store.append('a', 0, [event('A1'), event('A2')]);
      await store.append('b', 0, [event('B1')]);
      await store.append('a', 2, [event('A3')]);
      await store.append('c', 0, [event('C1'), event('C2')]);
      const expected = ['a@1:A1', 'a@2:A2', 'b@1:B1', 'a@3:A3', 'c@1:C1', 'c@2:C2'];

      await settled(database);
      const all = await store.readAll(null, 100);
      assert.deepEqual(summary(all), expected);
      assert.deepEqual(await store.lastCheckpoint(), checkpointOf(all[all.length - 1]!));

      // Paging by checkpoint, through its string form, gives the same sequence
      const paged: StoredEvent[] = [];
      let cursor: string | null = null;
      for (;;) {
        const page = await store.readAll(cursor === null ? null : parseCheckpoint(cursor), 2);
        if (page.length === 0) break;
        assert.ok(page.length <= 2);
        paged.push(...page);
        cursor = formatCheckpoint(checkpointOf(page[page.length - 1]!));
        assert.match(cursor, /^\d+:\d+$/);
      }
      assert.deepEqual(summary(paged), expected);

      // Strictly after: a checkpoint in the middle of a transaction's events resumes inside it
      assert.deepEqual(summary(await store.readAll(checkpointOf(all[0]!), 100)), expected.slice(1));
      assert.deepEqual(await store.readAll(checkpointOf(all[all.length - 1]!), 100), []);

      const batches: string[][] = [];
      for await (const batch of store.readAllBatches({ batchSize: 4 })) batches.push(summary(batch));
      assert.deepEqual(batches, [expected.slice(0, 4), expected.slice(4)]);
      const rest: string[][] = [];
      for await (const batch of store.readAllBatches({ after: checkpointOf(all[3]!) })) rest.push(summary(batch));
      assert.deepEqual(rest, [expected.slice(4)]);
    }));

  it('sends a NOTIFY on runlog_events after an append commits', () =>
    withStore(open, async (store, database) => {
      let notified = 0;
      const unlisten = await database.listen(EVENTS_CHANNEL, () => {
        notified += 1;
      });
      try {
        await store.append('s', 0, [event('A')]);
        await waitFor('a notification', () => notified > 0);
      } finally {
        await unlisten();
      }
    }));

  it('follows: delivers what was there, then what is appended later, and stops on abort', () =>
    withStore(open, async (store) => {
      await store.append('a', 0, [event('A1')]);
      const seen: StoredEvent[] = [];
      const checkpoints: string[] = [];
      const controller = new AbortController();
      const following = store.follow({
        after: null,
        signal: controller.signal,
        batchSize: 2,
        pollIntervalMs: 50,
        onBatch: async (batch, checkpoint) => {
          assert.ok(batch.length >= 1 && batch.length <= 2);
          seen.push(...batch);
          checkpoints.push(formatCheckpoint(checkpoint));
        },
      });
      await waitFor('the first event', () => seen.length === 1);

      // When more is appended after the follower started
      await store.append('b', 0, [event('B1'), event('B2'), event('B3')]);
      await store.append('a', 1, [event('A2')]);
      await waitFor('all five events', () => seen.length === 5);
      assert.deepEqual(summary(seen), ['a@1:A1', 'b@1:B1', 'b@2:B2', 'b@3:B3', 'a@2:A2']);
      assert.equal(checkpoints[checkpoints.length - 1], formatCheckpoint(checkpointOf(seen[4]!)));

      // Then aborting ends it, and nothing more is delivered
      controller.abort();
      await following;
      await store.append('a', 2, [event('A3')]);
      await sleep(200);
      assert.equal(seen.length, 5);

      // And a follower resuming from the last checkpoint gets only what is new
      const resumed: StoredEvent[] = [];
      const again = new AbortController();
      const resuming = store.follow({
        after: parseCheckpoint(checkpoints[checkpoints.length - 1]!),
        signal: again.signal,
        pollIntervalMs: 50,
        onBatch: (batch) => {
          resumed.push(...batch);
        },
      });
      await waitFor('the new event', () => resumed.length === 1);
      again.abort();
      await resuming;
      assert.deepEqual(summary(resumed), ['a@3:A3']);
    }));

  it('follow ends with the error onBatch throws', () =>
    withStore(open, async (store) => {
      await store.append('a', 0, [event('A1')]);
      const controller = new AbortController();
      await assert.rejects(
        store.follow({
          after: null,
          signal: controller.signal,
          onBatch: () => {
            throw new Error('projection failed');
          },
        }),
        /projection failed/,
      );
    }));

  it('follow refuses to deliver past a hole in a stream: StreamGapError after the events before it', () =>
    withStore(open, async (store, database) => {
      await store.append('a', 0, [event('A1'), event('A2'), event('A3')]);
      await store.append('b', 0, [event('B1')]);
      await database.query(sql`delete from events where stream_id = 'a' and stream_version = 2`);

      const seen: StoredEvent[] = [];
      const controller = new AbortController();
      const startedAt = Date.now();
      await assert.rejects(
        store.follow({
          after: null,
          signal: controller.signal,
          pollIntervalMs: 20,
          gapTimeoutMs: 200,
          onBatch: (batch) => {
            seen.push(...batch);
          },
        }),
        (error: unknown) => {
          assert.ok(error instanceof StreamGapError);
          assert.equal(error.streamId, 'a');
          assert.equal(error.expectedVersion, 2);
          assert.equal(error.actualVersion, 3);
          return true;
        },
      );
      assert.ok(Date.now() - startedAt >= 200, 'it re-read for gapTimeoutMs before giving up');
      assert.deepEqual(summary(seen), ['a@1:A1']);
    }));

  it('follow from a checkpoint in the middle of streams knows where each stream stood', () =>
    withStore(open, async (store, database) => {
      await store.append('a', 0, [event('A1'), event('A2')]);
      await store.append('b', 0, [event('B1')]);
      await settled(database);
      const middle = await store.lastCheckpoint();
      await store.append('a', 2, [event('A3')]);
      await store.append('b', 1, [event('B2')]);

      const seen: StoredEvent[] = [];
      const controller = new AbortController();
      const following = store.follow({
        after: middle,
        signal: controller.signal,
        pollIntervalMs: 20,
        gapTimeoutMs: 100,
        onBatch: (batch) => {
          seen.push(...batch);
        },
      });
      await waitFor('the two later events', () => seen.length === 2);
      controller.abort();
      await following;
      assert.deepEqual(summary(seen), ['a@3:A3', 'b@2:B2']);
    }));

  // EventStore.append chains onto the head it remembers (from readStream, headOf and its own
  // appends) and checks in its INSERT that the stream still ends there; the tests below are
  // the ways that memory can be wrong.

  it('a store whose remembered head is stale (another store appended) conflicts, then appends on the real head', () =>
    withStore(open, async (store, database) => {
      const other = createEventStore(database);
      await store.append('s', 0, [event('A'), event('B')]);
      await other.append('s', 2, [event('C')]);

      // Given a store that still takes version 2 for the head, when it appends after version 2
      await assert.rejects(store.append('s', 2, [event('X')]), (error: unknown) => {
        assert.ok(error instanceof StreamVersionConflict);
        assert.equal(error.expected, 2);
        assert.equal(error.actual, 3);
        return true;
      });
      // Then nothing was written, and re-reading and deciding again works
      const reread = await store.readStream('s');
      assert.deepEqual(summary(reread), ['s@1:A', 's@2:B', 's@3:C']);
      assert.equal((await store.append('s', 3, [event('D')])).streamVersion, 4);

      // And a version learned elsewhere, past what this store remembers, is read and used
      const elsewhere = await other.append('s', 4, [event('E')]);
      assert.equal((await store.append('s', elsewhere.streamVersion, [event('F')])).streamVersion, 6);
      await assert.rejects(other.append('s', 5, [event('Y')]), { name: 'StreamVersionConflict', expected: 5, actual: 6 });

      const stream = await store.readStream('s');
      assert.deepEqual(summary(stream), ['s@1:A', 's@2:B', 's@3:C', 's@4:D', 's@5:E', 's@6:F']);
      assert.equal(verifyChain(stream).ok, true);
    }));

  it('chains onto what is stored when a remembered head has the same version but another hash (the log was restored)', () =>
    withStore(open, async (store, database) => {
      // Given a store that wrote version 1 and remembers its hash
      await store.append('s', 0, [event('A', { n: 1 })]);
      // When the stream is replaced behind it by another version 1 (a restore, a rebuilt test database)
      await database.query(sql`delete from events where stream_id = 's'`);
      await createEventStore(database).append('s', 0, [event('A', { n: 2 })]);

      // Then its append after version 1 links to the stored event, not to the one it remembered
      assert.equal((await store.append('s', 1, [event('B')])).streamVersion, 2);
      const stream = await store.readStream('s');
      assert.deepEqual(stream[0]!.data, { n: 2 });
      assert.equal(stream[1]!.prevHash, stream[0]!.hash);
      assert.equal(verifyChain(stream).ok, true);
    }));

  it('refuses to chain onto a last event that no longer matches its hash, and writes nothing', () =>
    withStore(open, async (store, database) => {
      await store.append('hash-edited', 0, [event('A'), event('B')]);
      await store.append('data-edited', 0, [event('A', { n: 1 }), event('B', { n: 2 })]);
      await database.query(sql`update events set hash = ${'e'.repeat(64)} where stream_id = 'hash-edited' and stream_version = 2`);
      await database.query(sql`update events set data = '{"n": 99}' where stream_id = 'data-edited' and stream_version = 2`);
      const fresh = createEventStore(database);

      const refused = (streamId: string) => (error: unknown) => {
        assert.ok(error instanceof StreamHeadEdited);
        assert.equal(error.streamId, streamId);
        assert.equal(error.streamVersion, 2);
        assert.match(error.message, /does not match its hash.*runlog verify/);
        return true;
      };
      // An edited hash: refused by the store that remembers the true one and by a store that never saw it
      await assert.rejects(store.append('hash-edited', 2, [event('C')]), refused('hash-edited'));
      await assert.rejects(fresh.append('hash-edited', 2, [event('C')]), refused('hash-edited'));
      await fresh.readStream('hash-edited');
      await assert.rejects(fresh.append('hash-edited', 2, [event('C')]), refused('hash-edited'));
      // An edited event under its old hash: refused by whoever has to read the head to chain onto it
      await assert.rejects(fresh.append('data-edited', 2, [event('C')]), refused('data-edited'));
      await assert.rejects(fresh.append('data-edited', 'any', [event('C')]), refused('data-edited'));
      await assert.rejects(
        database.transaction((tx) => appendToStream(tx, 'data-edited', 2, [event('C')])),
        refused('data-edited'),
      );
      // Reads still show what is stored, and an empty append still only checks the version
      assert.equal((await fresh.headOf('hash-edited')).hash, 'e'.repeat(64));
      assert.equal((await fresh.append('hash-edited', 2, [])).streamVersion, 2);

      for (const streamId of ['hash-edited', 'data-edited']) {
        const stream = await store.readStream(streamId);
        assert.equal(stream.length, 2);
        assert.deepEqual(
          verifyChain(stream).problems.map((p) => [p.kind, p.streamVersion]),
          [['edited', 2]],
        );
      }
    }));

  it('a store that wrote the head itself chains onto the hash it computed, so an edit of that event stays visible to verifyChain', () =>
    withStore(open, async (store, database) => {
      // Given a store that appended version 2 and remembers its hash
      await store.append('s', 0, [event('A', { n: 1 }), event('B', { n: 2 })]);
      const [, written] = await store.readStream('s');
      // When the event's data is edited and its hash left alone
      await database.query(sql`update events set data = '{"n": 99}' where stream_id = 's' and stream_version = 2`);

      // Then the next event links to the hash version 2 was written with, which the stream still
      // holds, and verification reports the edit where it happened (a store that must read the
      // head first refuses instead, as above)
      assert.equal((await store.append('s', 2, [event('C')])).streamVersion, 3);
      const stream = await store.readStream('s');
      assert.equal(stream[2]!.prevHash, written!.hash);
      assert.deepEqual(
        verifyChain(stream).problems.map((p) => [p.kind, p.streamVersion]),
        [['edited', 2]],
      );
    }));
}
