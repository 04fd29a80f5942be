// The EventStore contract against a real PostgreSQL server, each test in a database of its
// own, plus what only a server with many connections can show: racing writers and late commits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { appendToStream } from '../../src/events/append-to-stream.ts';
import { openPostgres } from '../../src/events/database.ts';
import type { PostgresOptions } from '../../src/events/database.ts';
import { StreamVersionConflict } from '../../src/events/event-store.ts';
import type { AppendResult, StoredEvent } from '../../src/events/event-store.ts';
import { verifyChain } from '../../src/events/hash-chain.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { event, eventStoreContract, settled, sleep, waitFor, withStore } from './event-store.contract.ts';
import { eventStoreRoundTrips } from './event-store.round-trips.ts';

async function openFresh(options?: PostgresOptions) {
  const url = await freshDatabaseUrl('runlog_events');
  const database = await openPostgres(url, options);
  return {
    ...database,
    close: async () => {
      await database.close();
      await dropDatabase(url);
    },
  };
}

describe('EventStore on Postgres', () => {
  eventStoreContract(() => openFresh());

  it('50 concurrent writers on one stream: every version once, losers conflict and retry, nothing lost', () =>
    withStore(
      () => openFresh({ max: 25 }),
      async (store) => {
        const writers = 50;
        const appendsPerWriter = 2;
        let conflicts = 0;

        // Each writer decides from what it read, and on a conflict re-reads and decides again.
        const writer = async (id: number) => {
          for (let n = 0; n < appendsPerWriter; n += 1) {
            for (;;) {
              const head = await store.headOf('build-race');
              try {
                await store.append('build-race', head.streamVersion, [event('Written', { writer: id, n, after: head.streamVersion })]);
                break;
              } catch (error) {
                if (!(error instanceof StreamVersionConflict)) throw error;
                assert.ok(error.actual > head.streamVersion, 'a conflict means someone else got there first');
                conflicts += 1;
              }
            }
          }
        };
        await Promise.all(Array.from({ length: writers }, (_, id) => writer(id)));

        const stream = await store.readStream('build-race');
        const total = writers * appendsPerWriter;
        assert.deepEqual(
          stream.map((e) => e.streamVersion),
          Array.from({ length: total }, (_, i) => i + 1),
          'every version exactly once',
        );
        const written = new Set(stream.map((e) => JSON.stringify([(e.data as { writer: number }).writer, (e.data as { n: number }).n])));
        assert.equal(written.size, total, 'every writer’s every event, none twice');
        for (const e of stream) assert.equal((e.data as { after: number }).after, e.streamVersion - 1, 'each was decided on the version it follows');
        assert.ok(conflicts > 0, 'some writers lost a race');
        assert.equal(verifyChain(stream).ok, true);
        assert.equal(verifyChain(await store.readAll(null, 1000)).ok, true);
      },
    ));

  it("50 concurrent writers with 'any' never conflict", () =>
    withStore(
      () => openFresh({ max: 25 }),
      async (store) => {
        const results = await Promise.all(Array.from({ length: 50 }, (_, id) => store.append('build-any', 'any', [event('Written', { id })])));
        assert.deepEqual(
          results.map((r) => r.streamVersion).sort((a, b) => a - b),
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        assert.equal(verifyChain(await store.readStream('build-any')).ok, true);
      },
    ));

  it("writers through two stores, with expected versions and 'any', lock-free and locked: every version once, xid order is version order", () =>
    withStore(
      () => openFresh({ max: 25 }),
      async (store, database) => {
        // Two stores on one database remember heads separately, so each is often stale about
        // what the other wrote; 'any' takes the stream lock, the others do not.
        const stores = [store, createEventStore(database)];
        const decided = 60;
        const blind = 20;
        const writer = async (id: number) => {
          const own = stores[id % 2]!;
          for (;;) {
            const stream = await own.readStream('build-mixed');
            try {
              await own.append('build-mixed', stream.length, [event('Decided', { id, after: stream.length })]);
              return;
            } catch (error) {
              if (!(error instanceof StreamVersionConflict)) throw error;
            }
          }
        };
        await Promise.all([
          ...Array.from({ length: decided }, (_, id) => writer(id)),
          ...Array.from({ length: blind }, (_, id) => stores[id % 2]!.append('build-mixed', 'any', [event('Blind', { id })])),
        ]);

        const stream = await store.readStream('build-mixed');
        assert.deepEqual(
          stream.map((e) => e.streamVersion),
          Array.from({ length: decided + blind }, (_, i) => i + 1),
          'every version exactly once',
        );
        assert.equal(stream.filter((e) => e.type === 'Decided').length, decided);
        assert.equal(stream.filter((e) => e.type === 'Blind').length, blind);
        for (const e of stream) if (e.type === 'Decided') assert.equal((e.data as { after: number }).after, e.streamVersion - 1);
        assert.equal(verifyChain(stream).ok, true);
        // Readers order by transaction id (readAll, follow): within a stream it must follow the versions
        for (let i = 1; i < stream.length; i += 1) {
          assert.ok(BigInt(stream[i]!.transactionId) > BigInt(stream[i - 1]!.transactionId), `xid of version ${i + 1} is after version ${i}'s`);
        }
      },
    ));

  it('an append without the lock waits for a locked append of the same version still open, then conflicts or writes', () =>
    withStore(openFresh, async (store, database) => {
      const holdOpen = (streamId: string, outcome: 'commit' | 'rollback') => {
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let appended!: (result: AppendResult) => void;
        const slowAppended = new Promise<AppendResult>((resolve) => (appended = resolve));
        const done = database
          .transaction(async (tx) => {
            appended(await appendToStream(tx, streamId, 0, [event('Slow')]));
            await held;
            if (outcome === 'rollback') throw new Error('rolled back');
          })
          .catch((error: unknown) => {
            if (outcome === 'commit') throw error;
          });
        return { slowAppended, release, done };
      };

      // Given a transaction that appended version 1 and is still open
      const committing = holdOpen('build-a', 'commit');
      const slow = await committing.slowAppended;
      // When another store appends version 1 to the same stream without the lock
      let settled = false;
      const racing = store.append('build-a', 0, [event('Fast')]).finally(() => (settled = true));
      racing.catch(() => {});
      // Then it waits on the unique key instead of writing a second version 1...
      await sleep(300);
      assert.equal(settled, false);
      // ...and conflicts once the first commits
      committing.release();
      await committing.done;
      await assert.rejects(racing, { name: 'StreamVersionConflict', expected: 0, actual: 1 });
      // And the next append gets a later transaction id than the one it follows
      const next = await store.append('build-a', 1, [event('Next')]);
      assert.ok(BigInt(next.transactionId) > BigInt(slow.transactionId));
      assert.deepEqual(
        (await store.readStream('build-a')).map((e) => e.type),
        ['Slow', 'Next'],
      );

      // When the open transaction rolls back instead, the waiting append writes version 1
      const rollingBack = holdOpen('build-b', 'rollback');
      await rollingBack.slowAppended;
      const waiting = store.append('build-b', 0, [event('Fast')]);
      await sleep(100);
      rollingBack.release();
      await rollingBack.done;
      assert.equal((await waiting).streamVersion, 1);
      assert.deepEqual(
        (await store.readStream('build-b')).map((e) => e.type),
        ['Fast'],
      );
      assert.equal(verifyChain([...(await store.readStream('build-a')), ...(await store.readStream('build-b'))]).ok, true);
    }));

  it('a late commit is never skipped: readers wait for it, then get both in commit-safe order', () =>
    withStore(openFresh, async (store, database) => {
      // Given a transaction that appended (its first write) and is still open
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let appended!: (result: AppendResult) => void;
      const slowAppended = new Promise<AppendResult>((resolve) => (appended = resolve));
      const slow = database.transaction(async (tx) => {
        appended(await appendToStream(tx, 'build-slow', 0, [event('Slow')]));
        await held;
      });
      const slowResult = await slowAppended;

      // And a follower that started before anything committed
      const seen: StoredEvent[] = [];
      const controller = new AbortController();
      const following = store.follow({ after: null, signal: controller.signal, pollIntervalMs: 20, onBatch: (batch) => void seen.push(...batch) });

      // When another connection appends and commits after it
      const fast = await store.append('build-fast', 0, [event('Fast')]);
      assert.ok(BigInt(fast.globalPositions[0]!) > BigInt(slowResult.globalPositions[0]!));
      assert.ok(BigInt(fast.transactionId) > BigInt(slowResult.transactionId));

      // Then a naive reader by global position would see the newer event alone and move past
      // the slow one's position for good...
      const naive = await database.query<{ stream_id: string }>(sql`select stream_id from events order by global_position`);
      assert.deepEqual(naive.map((row) => row.stream_id), ['build-fast']);
      // ...but readAll and the follower hold back while the older transaction is open
      assert.deepEqual(await store.readAll(null, 10), []);
      assert.equal(await store.lastCheckpoint(), null);
      await sleep(300);
      assert.equal(seen.length, 0);

      // And once it commits, both arrive, the slow one first, nothing skipped
      release();
      await slow;
      await waitFor('both events', () => seen.length === 2);
      controller.abort();
      await following;
      assert.deepEqual(
        seen.map((e) => e.type),
        ['Slow', 'Fast'],
      );
      await settled(database);
      assert.deepEqual(
        (await store.readAll(null, 10)).map((e) => e.type),
        ['Slow', 'Fast'],
      );
    }));

  it('the late transaction can also fail: readers then move on past it', () =>
    withStore(openFresh, async (store, database) => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let appended!: () => void;
      const slowAppended = new Promise<void>((resolve) => (appended = resolve));
      const slow = database.transaction(async (tx) => {
        await appendToStream(tx, 'build-slow', 0, [event('Slow')]);
        appended();
        await held;
        throw new Error('rolled back');
      });
      await slowAppended;
      await store.append('build-fast', 0, [event('Fast')]);
      assert.deepEqual(await store.readAll(null, 10), []);
      release();
      await assert.rejects(slow, /rolled back/);
      await settled(database);
      assert.deepEqual(
        (await store.readAll(null, 10)).map((e) => e.type),
        ['Fast'],
      );
    }));
});

describe('EventStore round trips on Postgres', () => {
  eventStoreRoundTrips();
});

describe('Database on Postgres', () => {
  it('migrates once when several servers open a new database at the same time', async () => {
    const url = await freshDatabaseUrl('runlog_events');
    try {
      const databases = await Promise.all(Array.from({ length: 4 }, () => openPostgres(url, { max: 2 })));
      const [first] = databases;
      const applied = await first!.query<{ count: string }>(sql`select count(*)::text as count from drizzle.__drizzle_migrations`);
      const store = createEventStore(first!);
      await store.append('s', 0, [event('A')]);
      assert.equal((await createEventStore(databases[3]!).readStream('s')).length, 1);
      await Promise.all(databases.map((database) => database.close()));
      const again = await openPostgres(url);
      const after = await again.query<{ count: string }>(sql`select count(*)::text as count from drizzle.__drizzle_migrations`);
      await again.close();
      assert.equal(after[0]!.count, applied[0]!.count, 'reopening applies nothing new');
    } finally {
      await dropDatabase(url);
    }
  });
});
