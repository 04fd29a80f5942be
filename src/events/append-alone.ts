// EventStore.append: an append that is a transaction of its own, in as few round trips as
// the guarantees allow — one, when the head of the stream is known.
//
// With an expected version the append is ONE autocommit statement, `insertAfterHead`: an
// INSERT … SELECT that writes only if the stream's head is exactly the expected version with
// the hash the new events chain onto. Why that keeps every guarantee of the locked path:
// - first write: the statement is its own transaction, so the insert is that transaction's
//   first write by construction; the xid-order trap of reference §1.3 cannot arise.
// - exactly once: two writers that both pass the head check insert the same (stream_id,
//   stream_version); the unique key makes the second wait for the first and fail (23505)
//   when it commits. A writer whose head is stale finds the check false and writes nothing.
// - xid order = version order within a stream: a writer only passes the check for version N
//   once N's transaction has committed (the check reads committed rows), and its own xid is
//   assigned after that, at its insert — so N+1's xid is larger than N's.
// - the chain: the check compares the stored hash of the expected version with the prevHash
//   the new events were hashed onto, so an event is never chained onto a hash the stream
//   does not hold.
// The hash needs the head before the statement. It comes from the head cache (filled by
// readStream, headOf and every append; command handling reads a stream right before it
// appends, so the cache is nearly always warm); a new stream (expected 0) needs none; on a
// miss one read comes first. Heads read from the database are checked against their own hash
// (stream-head.ts), so an edited head is refused, never chained onto.
//
// 'any' keeps the locked path (append-to-stream.ts) in a transaction: it must never conflict,
// and the lock queues its writers instead of letting them race. It is retried when a writer of
// this path wins the version it was about to write.
import type { Database } from './database.ts';
import { sqlStateOf } from './database.ts';
import type { AppendResult, ExpectedVersion, NewEvent } from './event-store.ts';
import { StreamVersionConflict } from './event-store.ts';
import { appendLocked, appendResult, chainEvents, headAfter, insertAfterHead, prepareEvents } from './append-to-stream.ts';
import type { InsertedEvent, PreparedEvent } from './append-to-stream.ts';
import type { HeadCache } from './head-cache.ts';
import { EMPTY_HEAD, readHeadEvent, readHeadToChainOnto } from './stream-head.ts';

/** How often an 'any' append starts over after losing its version to a writer without the lock. */
const ANY_ATTEMPTS = 20;

/** Appends in a transaction of its own; `heads` is the store's cache, updated on the way. */
export async function appendAlone(
  database: Database,
  heads: HeadCache,
  streamId: string,
  expectedVersion: ExpectedVersion,
  newEvents: readonly NewEvent[],
  metadata: Readonly<Record<string, unknown>> = {},
): Promise<AppendResult> {
  const rows = prepareEvents(streamId, expectedVersion, newEvents, metadata);
  if (expectedVersion === 'any') return appendAny(database, heads, streamId, rows);
  if (rows.length === 0) {
    // Nothing to chain: only the version is checked, against the database, not the cache.
    const { head } = await readHeadEvent(database, streamId);
    if (head.streamVersion !== expectedVersion) throw new StreamVersionConflict(streamId, expectedVersion, head.streamVersion);
    return { streamVersion: head.streamVersion, globalPositions: [], transactionId: '' };
  }

  let head = expectedVersion === 0 ? EMPTY_HEAD : heads.get(streamId);
  if (head?.streamVersion !== expectedVersion) {
    // Cache miss (or a cached head at another version: the cache is a hint, so ask).
    head = await readHeadToChainOnto(database, streamId);
    heads.remember(streamId, head);
    if (head.streamVersion !== expectedVersion) throw new StreamVersionConflict(streamId, expectedVersion, head.streamVersion);
  }

  // Two attempts at most: the second only when the first was hashed onto a head the stream
  // does not hold at that version (the cache was stale: the log was restored or rewritten).
  for (let attempt = 1; ; attempt += 1) {
    const chained = chainEvents(streamId, head, rows);
    let inserted: InsertedEvent[];
    try {
      inserted = await insertAfterHead(database, streamId, head, chained);
    } catch (error) {
      // The unique key: a concurrent writer took this version and has committed.
      if (sqlStateOf(error) !== '23505') throw error;
      heads.forget(streamId);
      throw new StreamVersionConflict(streamId, expectedVersion, await versionAfterLoss(database, heads, streamId, expectedVersion));
    }
    if (inserted.length > 0) {
      heads.remember(streamId, headAfter(chained));
      return appendResult(inserted);
    }

    // The head was not what this append chained onto: find out what it is.
    heads.forget(streamId);
    const stored = await readHeadToChainOnto(database, streamId);
    heads.remember(streamId, stored);
    if (stored.streamVersion !== expectedVersion) throw new StreamVersionConflict(streamId, expectedVersion, stored.streamVersion);
    if (attempt > 1 || stored.hash === head.hash) {
      // The end of the stream changed between the insert and this read, or keeps changing:
      // someone is rewriting it under us. Say so instead of looping.
      throw new Error(
        `append to ${streamId}: the end of the stream changed while appending (it is now version ${stored.streamVersion}, hash ${stored.hash}); ` +
          'events are written once, so the log is being rewritten outside the event store',
      );
    }
    head = stored;
  }
}

/**
 * The version to report after losing a race on the unique key: the winner has committed, so
 * a read shows it (and refreshes the cache); at least the next version if the read fails.
 */
async function versionAfterLoss(database: Database, heads: HeadCache, streamId: string, expectedVersion: number): Promise<number> {
  try {
    const { head, intact } = await readHeadEvent(database, streamId);
    if (intact) heads.remember(streamId, head);
    return Math.max(head.streamVersion, expectedVersion + 1);
  } catch {
    return expectedVersion + 1;
  }
}

async function appendAny(database: Database, heads: HeadCache, streamId: string, rows: readonly PreparedEvent[]): Promise<AppendResult> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { result, head } = await database.transaction((tx) => appendLocked(tx, streamId, 'any', rows));
      // (An empty append only read the head, unverified: nothing to remember then.)
      if (result.globalPositions.length > 0) heads.remember(streamId, head);
      return result;
    } catch (error) {
      // Only a writer that does not take the lock can make 'any' lose; each loss means the
      // stream grew, so starting over makes progress.
      if (!(error instanceof StreamVersionConflict) || attempt === ANY_ATTEMPTS) throw error;
    }
  }
}
