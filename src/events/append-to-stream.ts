// Appending to a stream inside a transaction: the one place that writes the events table.
import { desc, eq, sql } from 'drizzle-orm';
import type { Executor } from './database.ts';
import { sqlStateOf } from './database.ts';
import { events } from './event-table.ts';
import type { AppendResult, ExpectedVersion, NewEvent, StreamHead } from './event-store.ts';
import { AppendNotFirstWrite, StreamVersionConflict } from './event-store.ts';
import { GENESIS_HASH, eventHash } from './hash-chain.ts';

/**
 * Namespace of the per-stream advisory locks (two-int form, so these keys can never collide
 * with the single-bigint keys that leader election uses): 'rlog' as an int4.
 */
const STREAM_LOCK_NAMESPACE = 1919709031;

/**
 * Appends `newEvents` to `streamId` within `tx`, which must not have written anything yet.
 * For callers that commit other writes with the append (inline projections); they commit
 * themselves, so no NOTIFY is sent — followers find the events by polling. Everyone else uses
 * `EventStore.append`, which runs this in a transaction of its own.
 */
export async function appendToStream(
  tx: Executor,
  streamId: string,
  expectedVersion: ExpectedVersion,
  newEvents: readonly NewEvent[],
  metadata: Readonly<Record<string, unknown>> = {},
): Promise<AppendResult> {
  const rows = prepare(streamId, expectedVersion, newEvents, metadata);

  // xid8 is assigned at a transaction's first write, and readers order by it. An earlier
  // write would give this transaction an older xid than a concurrent append to the same stream
  // that committed first, and readers would then see this stream's versions inverted.
  // The same statement peeks at the stream without the lock: a stream only grows, so an
  // expected version already behind it is a conflict for sure, and a crowd of stale writers
  // gives up here instead of queueing on the lock one by one.
  const [first] = await tx.query<{ xid: string | null; version: number | string | null }>(
    sql`select pg_current_xact_id_if_assigned()::text as xid,
          (select max(${events.streamVersion}) from ${events} where ${events.streamId} = ${streamId}) as version`,
  );
  if (first?.xid) throw new AppendNotFirstWrite(streamId, first.xid);
  const seen = Number(first?.version ?? 0);
  if (expectedVersion !== 'any' && seen > expectedVersion) throw new StreamVersionConflict(streamId, expectedVersion, seen);

  // Serialise appends to this stream until commit, so that the head read below is the real
  // one (READ COMMITTED: a new statement sees what the previous lock holder committed) and
  // 'any' never conflicts. Taking the lock writes nothing, so no xid is assigned yet: the
  // xid comes with the insert, after the previous writer of this stream committed — so xid
  // order is version order within a stream.
  await tx.query(sql`select pg_advisory_xact_lock(${STREAM_LOCK_NAMESPACE}, hashtext(${streamId}))`);
  const head = await readHead(tx, streamId);
  if (expectedVersion !== 'any' && expectedVersion !== head.streamVersion) {
    throw new StreamVersionConflict(streamId, expectedVersion, head.streamVersion);
  }
  if (rows.length === 0) return { streamVersion: head.streamVersion, globalPositions: [], transactionId: '' };

  let prevHash = head.hash;
  const values = rows.map((row, index) => {
    const content = { streamId, streamVersion: head.streamVersion + index + 1, ...row };
    const hash = eventHash(prevHash, content);
    // drizzle writes a JS null as SQL NULL; a JSON null must be stored as jsonb 'null'.
    const value = { ...content, data: content.data === null ? sql`'null'::jsonb` : content.data, prevHash, hash };
    prevHash = hash;
    return value;
  });
  try {
    const inserted = await tx.db
      .insert(events)
      .values(values)
      .returning({
        streamVersion: events.streamVersion,
        globalPosition: sql<string>`${events.globalPosition}::text`,
        transactionId: sql<string>`${events.transactionId}::text`,
      });
    inserted.sort((a, b) => a.streamVersion - b.streamVersion);
    return {
      streamVersion: head.streamVersion + values.length,
      globalPositions: inserted.map((row) => row.globalPosition),
      transactionId: inserted[0]?.transactionId ?? '',
    };
  } catch (error) {
    // Only reachable by a writer that bypassed the stream lock; the unique key still holds.
    if (sqlStateOf(error) === '23505') throw new StreamVersionConflict(streamId, expectedVersion, head.streamVersion);
    throw error;
  }
}

/** The stream's last version and hash (0 and the genesis hash when it has no event). */
export async function readHead(executor: Executor, streamId: string): Promise<StreamHead> {
  const [last] = await executor.db
    .select({ streamVersion: events.streamVersion, hash: events.hash })
    .from(events)
    .where(eq(events.streamId, streamId))
    .orderBy(desc(events.streamVersion))
    .limit(1);
  return last ?? { streamVersion: 0, hash: GENESIS_HASH };
}

interface PreparedEvent {
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Record<string, unknown>;
}

/** Validates the input and turns it into exactly the JSON that will be stored (and hashed). */
function prepare(
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
  const common = asJsonObject(metadata, 'metadata');
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
