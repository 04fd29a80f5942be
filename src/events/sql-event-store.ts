// The EventStore over a Database: the same SQL for Postgres and PGlite (see event-store.ts
// for the contract, database.ts for what differs between the two).
import { and, asc, desc, eq, gte, inArray, lte, max, sql } from 'drizzle-orm';
import type { SQL } from 'drizzle-orm';
import { appendAlone } from './append-alone.ts';
import type { Checkpoint } from './checkpoint.ts';
import { checkpointOf } from './checkpoint.ts';
import type { Database } from './database.ts';
import { events } from './event-table.ts';
import type { EventStore, ReadAllBatchesOptions, StoredEvent } from './event-store.ts';
import { follow } from './follow.ts';
import { eventHash } from './hash-chain.ts';
import { createHeadCache } from './head-cache.ts';
import { readHeadEvent } from './stream-head.ts';

/** The channel appends NOTIFY after commit: a hint to look again, carrying nothing. */
export const EVENTS_CHANNEL = 'runlog_events';

/**
 * Only events older than every transaction still running are safe to read in order: anything
 * newer may yet be joined by a late commit with a smaller (transaction_id, global_position).
 */
const COMMIT_HORIZON = sql`${events.transactionId} < pg_snapshot_xmin(pg_current_snapshot())`;

const storedEventColumns = {
  // Cast in SQL: the drivers disagree on int8 (string vs number) and xid8 must stay exact.
  globalPosition: sql<string>`${events.globalPosition}::text`,
  transactionId: sql<string>`${events.transactionId}::text`,
  streamId: events.streamId,
  streamVersion: events.streamVersion,
  type: events.type,
  data: events.data,
  metadata: events.metadata,
  recordedAt: events.recordedAt,
  prevHash: events.prevHash,
  hash: events.hash,
};

/** The highest stream version there can be (stream_version is an integer column). */
const MAX_VERSION = 2 ** 31 - 1;

export function createEventStore(database: Database): EventStore {
  const notifyAppended = coalescedNotifier(database);
  // Per store, not per process: what one store knows is only a hint to its own appends,
  // which check it in their INSERT (append-alone.ts).
  const heads = createHeadCache();

  // Prepared once: the postgres driver then reads a stream in one round trip instead of two
  // (see prepared-statement.ts). Absent bounds are the widest ones, which match every event.
  const streamQuery = database.db
    .select(storedEventColumns)
    .from(events)
    .where(
      and(
        eq(events.streamId, sql.placeholder('streamId')),
        gte(events.streamVersion, sql.placeholder('fromVersion')),
        lte(events.streamVersion, sql.placeholder('toVersion')),
      ),
    )
    .orderBy(asc(events.streamVersion))
    .prepare('runlog_read_stream');

  function after(checkpoint: Checkpoint | null): SQL | undefined {
    if (checkpoint === null) return undefined;
    // Row comparison so the (transaction_id, global_position) index serves the keyset.
    return sql`(${events.transactionId}, ${events.globalPosition}) > (${checkpoint.transactionId}::xid8, ${checkpoint.globalPosition}::bigint)`;
  }

  async function readAll(afterCheckpoint: Checkpoint | null, limit: number): Promise<StoredEvent[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError(`readAll: expected a limit >= 1, got ${limit}`);
    const rows = await database.db
      .select(storedEventColumns)
      .from(events)
      .where(and(COMMIT_HORIZON, after(afterCheckpoint)))
      .orderBy(asc(events.transactionId), asc(events.globalPosition))
      .limit(limit);
    return rows as StoredEvent[];
  }

  /** Each stream's highest version at or before `checkpoint`: where a follower starts it from. */
  async function versionsUpTo(streamIds: readonly string[], checkpoint: Checkpoint | null): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    if (checkpoint === null || streamIds.length === 0) return found;
    const rows = await database.db
      .select({ streamId: events.streamId, streamVersion: max(events.streamVersion) })
      .from(events)
      .where(
        and(
          inArray(events.streamId, [...streamIds]),
          sql`(${events.transactionId}, ${events.globalPosition}) <= (${checkpoint.transactionId}::xid8, ${checkpoint.globalPosition}::bigint)`,
        ),
      )
      .groupBy(events.streamId);
    for (const row of rows) found.set(row.streamId, row.streamVersion ?? 0);
    return found;
  }

  return {
    async append(streamId, expectedVersion, newEvents, metadata) {
      const result = await appendAlone(database, heads, streamId, expectedVersion, newEvents, metadata);
      // After commit and in a statement of its own: NOTIFY inside the append's transaction
      // would take the global notify lock at commit and serialise every append.
      if (result.globalPositions.length > 0) notifyAppended();
      return result;
    },

    async readStream(streamId, options = {}) {
      const { fromVersion, toVersion } = options;
      const rows = (await streamQuery.execute({ streamId, fromVersion: fromVersion ?? 1, toVersion: toVersion ?? MAX_VERSION })) as StoredEvent[];
      // Read to the end, the last event is the head: remember it for the append that usually
      // follows, if it still matches its hash (an edited head is never chained onto).
      const last = rows[rows.length - 1];
      if (toVersion === undefined && last !== undefined && eventHash(last.prevHash, last) === last.hash) {
        heads.remember(streamId, { streamVersion: last.streamVersion, hash: last.hash });
      }
      return rows;
    },

    readAll,

    async *readAllBatches(options: ReadAllBatchesOptions = {}) {
      const batchSize = options.batchSize ?? 1000;
      let cursor = options.after ?? null;
      while (!options.signal?.aborted) {
        const batch = await readAll(cursor, batchSize);
        if (batch.length === 0) return;
        yield batch;
        cursor = checkpointOf(batch[batch.length - 1]!);
        if (batch.length < batchSize) return;
      }
    },

    async headOf(streamId) {
      const { head, intact } = await readHeadEvent(database, streamId);
      if (intact) heads.remember(streamId, head);
      return head;
    },

    async lastCheckpoint() {
      const [last] = await database.db
        .select({ transactionId: storedEventColumns.transactionId, globalPosition: storedEventColumns.globalPosition })
        .from(events)
        .where(COMMIT_HORIZON)
        .orderBy(desc(events.transactionId), desc(events.globalPosition))
        .limit(1);
      return last ?? null;
    },

    follow: (options) =>
      follow({ readAll, versionsUpTo, listen: (onWake) => database.listen(EVENTS_CHANNEL, onWake) }, options),
  };
}

/**
 * NOTIFY at most once at a time per store: while one is in flight, later appends only mark
 * that another is due. Under load that is one notification per round trip instead of one per
 * append, and a hint needs no more. Failures are dropped: followers poll anyway.
 */
function coalescedNotifier(database: Database): () => void {
  let inFlight = false;
  let due = false;
  return () => {
    if (inFlight) {
      due = true;
      return;
    }
    inFlight = true;
    void (async () => {
      try {
        do {
          due = false;
          await database.notify(EVENTS_CHANNEL);
        } while (due);
      } catch {
        // A hint lost (e.g. the database is closing); pollers still find the events.
      } finally {
        inFlight = false;
      }
    })();
  };
}
