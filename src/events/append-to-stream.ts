// Appending to a stream: the one place that writes the events table. Two ways in: inside a
// caller's transaction (appendToStream, under a per-stream lock) and in a statement of its own
// (append-alone.ts, for EventStore.append); both build and insert rows with what is here.
import { sql } from 'drizzle-orm';
import type { Executor } from './database.ts';
import { sqlStateOf } from './database.ts';
import type { AppendResult, ExpectedVersion, NewEvent, StreamHead } from './event-store.ts';
import { AppendNotFirstWrite, StreamVersionConflict } from './event-store.ts';
import { GENESIS_HASH, eventHash } from './hash-chain.ts';
import { preparedStatement } from './prepared-statement.ts';
import { scopedEventMetadata } from './request-scope.ts';
import { EMPTY_HEAD, StreamHeadEdited, readHeadEvent } from './stream-head.ts';

/**
 * Namespace of the per-stream advisory locks (two-int form, so these keys can never collide
 * with the single-bigint keys that leader election uses): 'rlog' as an int4.
 */
const STREAM_LOCK_NAMESPACE = 1919709031;

// xid8 is assigned at a transaction's first write, and readers order by it. An earlier
// write would give this transaction an older xid than a concurrent append to the same stream
// that committed first, and readers would then see this stream's versions inverted.
// The same statement peeks at the stream without the lock: a stream only grows, so an
// expected version already behind it is a conflict for sure, and a crowd of stale writers
// gives up here instead of queueing on the lock one by one.
const firstWriteAndPeek = preparedStatement(
  'runlog_first_write_and_peek',
  sql`select pg_current_xact_id_if_assigned()::text,
             (select max(stream_version) from events where stream_id = ${sql.placeholder('streamId')})`,
  ([xid, version]) => ({ xid: xid as string | null, version: Number(version ?? 0) }),
);

const lockStream = preparedStatement(
  'runlog_lock_stream',
  sql`select pg_advisory_xact_lock(${STREAM_LOCK_NAMESPACE}, hashtext(${sql.placeholder('streamId')}))`,
  () => null,
);

/**
 * Appends `newEvents` to `streamId` within `tx`, which must not have written anything yet.
 * For callers that commit other writes with the append (inline projections); they commit
 * themselves, so no NOTIFY is sent — followers find the events by polling. Everyone else uses
 * `EventStore.append`, which needs no transaction of the caller's (see append-alone.ts).
 * Takes the stream's advisory lock until the caller commits. With `'any'` it can still meet a
 * StreamVersionConflict, when an `EventStore.append` (which takes no lock) wins the version
 * first; the caller's transaction is then to be rolled back and retried, as for any conflict.
 */
export async function appendToStream(
  tx: Executor,
  streamId: string,
  expectedVersion: ExpectedVersion,
  newEvents: readonly NewEvent[],
  metadata: Readonly<Record<string, unknown>> = {},
): Promise<AppendResult> {
  const rows = prepareEvents(streamId, expectedVersion, newEvents, metadata);
  return (await appendLocked(tx, streamId, expectedVersion, rows)).result;
}

/**
 * appendToStream's work on validated rows, also returning the head it leaves (for the
 * store's cache). Four statements (two for a new stream); the caller's transaction brackets them.
 */
export async function appendLocked(
  tx: Executor,
  streamId: string,
  expectedVersion: ExpectedVersion,
  rows: readonly PreparedEvent[],
): Promise<{ result: AppendResult; head: StreamHead }> {
  const [first] = await firstWriteAndPeek.run(tx, { streamId });
  if (first?.xid) throw new AppendNotFirstWrite(streamId, first.xid);
  const seen = first?.version ?? 0;
  if (expectedVersion !== 'any' && seen > expectedVersion) throw new StreamVersionConflict(streamId, expectedVersion, seen);
  if (expectedVersion === 0 && rows.length > 0) {
    // A new stream (a build created under its number lock, say): there is no head to read
    // and no earlier writer to queue behind, so neither the lock nor the head read is needed.
    // The insert's own check (nothing at or after version 1) and the unique key refuse a
    // writer that got there first; version 1 has no predecessor whose xid could be larger.
    // Two round trips fewer inside the caller's transaction, which may hold a lock of its own.
    const chained = chainEvents(streamId, EMPTY_HEAD, rows);
    let inserted: InsertedEvent[];
    try {
      inserted = await insertAfterHead(tx, streamId, EMPTY_HEAD, chained);
    } catch (error) {
      if (sqlStateOf(error) === '23505') throw new StreamVersionConflict(streamId, 0, 1);
      throw error;
    }
    if (inserted.length === 0) throw new StreamVersionConflict(streamId, 0, 1);
    return { result: appendResult(inserted), head: headAfter(chained) };
  }

  // Serialise the appends that take this path until commit, so that the head read below is
  // the real one (READ COMMITTED: a new statement sees what the previous lock holder
  // committed). Taking the lock writes nothing, so no xid is assigned yet: the xid comes with
  // the insert, after the previous writer of this stream committed — so xid order is version
  // order within a stream. Appends through EventStore.append do not take the lock; the insert
  // below checks the head again and the unique key settles a race with them.
  await lockStream.run(tx, { streamId });
  const { head, intact } = await readHeadEvent(tx, streamId);
  if (expectedVersion !== 'any' && expectedVersion !== head.streamVersion) {
    throw new StreamVersionConflict(streamId, expectedVersion, head.streamVersion);
  }
  if (rows.length === 0) return { result: { streamVersion: head.streamVersion, globalPositions: [], transactionId: '' }, head };
  if (!intact) throw new StreamHeadEdited(streamId, head.streamVersion);

  const chained = chainEvents(streamId, head, rows);
  let inserted: InsertedEvent[];
  try {
    inserted = await insertAfterHead(tx, streamId, head, chained);
  } catch (error) {
    // A writer without the lock (EventStore.append) took the next version first; the stream
    // is now at least one further than the head read above.
    if (sqlStateOf(error) === '23505') throw new StreamVersionConflict(streamId, expectedVersion, head.streamVersion + 1);
    throw error;
  }
  if (inserted.length === 0) {
    // Same cause, seen by the insert's own check instead of the unique key.
    throw new StreamVersionConflict(streamId, expectedVersion, head.streamVersion + 1);
  }
  return { result: appendResult(inserted), head: headAfter(chained) };
}

/** A validated event with its place in the stream and its link in the chain. */
export interface EventToInsert extends PreparedEvent {
  readonly streamVersion: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** Numbers `rows` after `head` and hashes each onto the one before (the first onto the head). */
export function chainEvents(streamId: string, head: StreamHead, rows: readonly PreparedEvent[]): EventToInsert[] {
  let prevHash = head.hash;
  return rows.map((row, index) => {
    const streamVersion = head.streamVersion + index + 1;
    const hash = eventHash(prevHash, { streamId, streamVersion, ...row });
    const chained = { ...row, streamVersion, prevHash, hash };
    prevHash = hash;
    return chained;
  });
}

/** The head a successful insert of `chained` (non-empty) leaves. */
export function headAfter(chained: readonly EventToInsert[]): StreamHead {
  const last = chained[chained.length - 1]!;
  return { streamVersion: last.streamVersion, hash: last.hash };
}

export interface InsertedEvent {
  readonly streamVersion: number;
  readonly globalPosition: string;
  readonly transactionId: string;
}

/**
 * One statement that inserts the events only if the stream's head is still exactly `head`:
 * the event at `expected` has the hash the first new event links to (for a new stream: there
 * is no event at version 0, and the link is the genesis hash), and nothing comes after it. It
 * is Emmett's `UPDATE … WHERE stream_position = expected` check (reference §1.2) done on the
 * events table itself, so no streams table has to be written as well.
 *
 * The check reads the statement's snapshot, so two writers can both pass it; the
 * (stream_id, stream_version) unique key then makes the second wait for the first and fail
 * with 23505 once it commits. The events come as one JSON array parameter, so the text — and
 * the prepared statement — is the same for one event or a hundred; `order by` makes the
 * global positions (taken as rows are inserted) follow the versions.
 */
const insertAfterHeadStatement = preparedStatement(
  'runlog_insert_after_head',
  sql`insert into events (stream_id, stream_version, type, data, metadata, prev_hash, hash)
      select ${sql.placeholder('streamId')}::text, r.stream_version, r.type,
             -- jsonb_to_recordset gives SQL NULL for a JSON null; the event's data is jsonb 'null'
             coalesce(r.data, 'null'::jsonb), r.metadata, r.prev_hash, r.hash
        from jsonb_to_recordset(${sql.placeholder('rows')}::text::jsonb)
             as r(stream_version integer, type text, data jsonb, metadata jsonb, prev_hash text, hash text)
       where not exists (select from events e
                          where e.stream_id = ${sql.placeholder('streamId')}::text
                            and e.stream_version > ${sql.placeholder('expected')}::integer)
         and coalesce((select e.hash from events e
                        where e.stream_id = ${sql.placeholder('streamId')}::text
                          and e.stream_version = ${sql.placeholder('expected')}::integer),
                      ${GENESIS_HASH}) = ${sql.placeholder('prevHash')}::text
       order by r.stream_version
      returning stream_version, global_position::text, transaction_id::text`,
  ([streamVersion, globalPosition, transactionId]) => ({
    streamVersion: streamVersion as number,
    globalPosition: globalPosition as string,
    transactionId: transactionId as string,
  }),
);

/**
 * Inserts `chained` (numbered and hashed onto `head`) if the stream's head is still `head`;
 * [] when it is not. A concurrent writer of the same version surfaces as 23505.
 */
export async function insertAfterHead(executor: Executor, streamId: string, head: StreamHead, chained: readonly EventToInsert[]): Promise<InsertedEvent[]> {
  const rows = JSON.stringify(
    chained.map(({ streamVersion, type, data, metadata, prevHash, hash }) => ({
      stream_version: streamVersion,
      type,
      data,
      metadata,
      prev_hash: prevHash,
      hash,
    })),
  );
  const inserted = await insertAfterHeadStatement.run(executor, { streamId, expected: head.streamVersion, prevHash: head.hash, rows });
  return inserted.sort((a, b) => a.streamVersion - b.streamVersion);
}

export function appendResult(inserted: readonly InsertedEvent[]): AppendResult {
  return {
    streamVersion: inserted[inserted.length - 1]!.streamVersion,
    globalPositions: inserted.map((row) => row.globalPosition),
    transactionId: inserted[0]!.transactionId,
  };
}

export interface PreparedEvent {
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Record<string, unknown>;
}

/** Validates the input and turns it into exactly the JSON that will be stored (and hashed), with the request's metadata (request-scope.ts) under the append's. */
export function prepareEvents(
  streamId: string,
  expectedVersion: ExpectedVersion,
  newEvents: readonly NewEvent[],
  metadata: Readonly<Record<string, unknown>>,
): PreparedEvent[] {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new TypeError(`append: expected a non-empty stream id, got ${JSON.stringify(streamId)}`);
  }
  if (expectedVersion !== 'any' && !(Number.isSafeInteger(expectedVersion) && expectedVersion >= 0)) {
    throw new TypeError(`append: expected version must be 'any' or an integer >= 0, got ${String(expectedVersion)}`);
  }
  if (!Array.isArray(newEvents)) throw new TypeError(`append: expected an array of events, got ${typeof newEvents}`);
  const common = asJsonObject({ ...scopedEventMetadata(), ...metadata }, 'metadata');
  return newEvents.map((event, index) => {
    const where = `event ${index} of ${streamId}`;
    if (typeof event?.type !== 'string' || event.type.length === 0) {
      throw new TypeError(`append: ${where} needs a non-empty type, got ${JSON.stringify(event?.type)}`);
    }
    const data = asJson(event.data, `${where} (${event.type}) data`);
    const own = asJsonObject(event.metadata ?? {}, `${where} (${event.type}) metadata`);
    return { type: event.type, data, metadata: { ...common, ...own } };
  });
}

/**
 * The value as it will come back from jsonb. Hashing this rather than the caller's object
 * makes the hash of what is stored, whatever toJSON, undefined members or Dates it held.
 */
function asJson(value: unknown, what: string): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`append: ${what} is not JSON: ${(error as Error).message}`);
  }
  if (text === undefined) throw new TypeError(`append: ${what} is not JSON, got ${typeof value}`);
  // jsonb refuses the NUL character (\u0000) in strings; say so before Postgres does.
  if (/(^|[^\\])(\\\\)*\\u0000/.test(text)) throw new TypeError(`append: ${what} contains a NUL character (\\u0000), which jsonb cannot store`);
  return JSON.parse(text);
}

function asJsonObject(value: unknown, what: string): Record<string, unknown> {
  const json = asJson(value, what);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TypeError(`append: ${what} must be a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  }
  return json as Record<string, unknown>;
}
