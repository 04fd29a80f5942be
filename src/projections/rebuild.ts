// `runlog projections rebuild`: replays the whole log through the reducers into fresh
// copies of the views, then swaps them in. The same pieces serve `runlog verify`, which
// replays into scratch tables and compares instead of swapping.
import { sql } from 'drizzle-orm';
import { compareCheckpoints, type Checkpoint } from '../events/checkpoint.ts';
import type { Database, Executor } from '../events/database.ts';
import type { EventStore } from '../events/event-store.ts';
import { checkpoints, events as eventsTable } from '../events/event-table.ts';
import { createEventFeed } from './event-feed.ts';
import type { Projection } from './projection.ts';
import { commitBatch, liveTarget, quoteName, readCheckpoints, reduceInto, scratchTarget, type ProjectionCursor, type ProjectionTarget } from './projection-writer.ts';
import { createRowBatch } from './row-batch.ts';
// The swap's catch-up: the writer's halves, run inside the swap's own transaction.
import { flushRows, moveCheckpoints, reduceBatch } from './projection-writer.ts';
import { tableMeta } from './table-meta.ts';
import type { TableName } from './tables.ts';

/** Events reduced between two turns of the event loop (see `replay`). */
const SLICE = 200;

/** A macrotask turn, so pending I/O callbacks run; setImmediate where there is one. */
const nextTurn = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

/** Schema the rebuild writes into before swapping; one rebuild at a time per database. */
export const REBUILD_SCHEMA = 'runlog_rebuild';

export interface RebuildProgress {
  /** Events read so far (all types). */
  readonly events: number;
  /** Events in the log when the rebuild began (it may grow meanwhile). */
  readonly total: number;
  readonly elapsedMs: number;
}

export interface RebuildOptions {
  readonly database: Database;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  /** Events per read; default 1000. Small reads keep each event short-lived (cheap to collect). */
  readonly batchSize?: number;
  /** Events per write (one transaction): reads fold into one batch of rows until this many; default 20,000. */
  readonly commitEvery?: number;
  readonly onProgress?: (progress: RebuildProgress) => void;
  readonly signal?: AbortSignal;
}

export interface RebuildResult {
  readonly events: number;
  /** Where the rebuilt views stand: every event up to it is in them. */
  readonly checkpoint: Checkpoint | null;
  readonly elapsedMs: number;
  readonly eventsPerSecond: number;
}

/**
 * Rebuilds `projections` from the first event: replays the log into empty scratch copies
 * of their tables (schema `runlog_rebuild`), builds their indexes, then in one transaction
 * replaces the live tables with them and sets the projections' checkpoints to where the
 * rebuilt ones stand. Readers see the old views until that commit and the new ones after —
 * never an empty, half-built or older one: the swap first holds the live checkpoints (so
 * the projector waits) and brings the copies up to them with the events the projector
 * applied meanwhile. Safe while a server runs: its projector finds its checkpoint moved
 * (compare-and-set), reloads it and goes on from the rebuilt views. Aborting `signal`
 * stops before the swap and leaves the live views as they were.
 */
export async function rebuildProjections(options: RebuildOptions): Promise<RebuildResult> {
  const { database, projections } = options;
  const started = performance.now();
  const tables = tablesOf(projections);
  const target = scratchTarget(REBUILD_SCHEMA);
  await createScratchTables(database, REBUILD_SCHEMA, tables, { indexes: false });
  try {
    const replayed = await replay({ ...options, target });
    await createScratchIndexes(database, REBUILD_SCHEMA, tables);
    options.signal?.throwIfAborted();
    await swapIn(database, REBUILD_SCHEMA, projections, catchUpFrom(options.store, projections, target));
    const elapsedMs = performance.now() - started;
    return { events: replayed.events, checkpoint: replayed.checkpoint, elapsedMs, eventsPerSecond: replayed.events / (elapsedMs / 1000) };
  } finally {
    await dropScratch(database, REBUILD_SCHEMA);
  }
}

export interface ReplayOptions extends Omit<RebuildOptions, 'database'> {
  readonly database: Pick<Database, 'transaction' | 'query'>;
  readonly target: ProjectionTarget;
  /** Stop after this event (verify replays up to the live views' checkpoint); default: until caught up. */
  readonly until?: Checkpoint;
}

/**
 * Replays the log from its first event into `target` (whose tables must be empty and whose
 * checkpoints are reset here), batch by batch through the writer. A three-stage pipeline,
 * so the database and this process work at the same time: while batch n commits, batch n+1
 * is validated, folded and reduced, and batch n+2 is being read. Commits stay in order
 * (each moves the checkpoints its successor expects).
 */
export async function replay(options: ReplayOptions): Promise<{ events: number; checkpoint: Checkpoint | null }> {
  const { database, store, projections, target, until } = options;
  const commitEvery = options.commitEvery ?? 20_000;
  const started = performance.now();
  await database.query(sql`delete from ${checkpoints} where name in (${sql.join(projections.map((p) => sql`${target.checkpointName(p.name)}`), sql`, `)})`);
  const [{ total } = { total: 0 }] = await database.query<{ total: number | string }>(sql`select count(*) as total from ${eventsTable}`);
  const feed = createEventFeed({ readStream: (streamId, toVersion) => store.readStream(streamId, { toVersion }) });
  /** Where the stored checkpoints are (what the next commit expects), and where reducing has got to. */
  let committed: ProjectionCursor[] = projections.map((projection) => ({ projection, after: null }));
  let reduced: Checkpoint | null = null;
  let rows = createRowBatch();
  let folded = 0;
  let count = 0;
  const batches = store.readAllBatches({ batchSize: options.batchSize ?? 1000, ...(options.signal ? { signal: options.signal } : {}) });
  // In flight while this process works; a failure surfaces where each is awaited (the
  // no-op catch only keeps it from counting as unhandled meanwhile).
  let reading = batches.next();
  reading.catch(() => {});
  let writing: Promise<unknown> = Promise.resolve();
  const commit = async () => {
    await writing;
    writing = commitBatch(database, { target, cursors: committed, batch: rows, checkpoint: reduced! });
    writing.catch(() => {});
    committed = committed.map((cursor) => ({ ...cursor, after: reduced }));
    rows = createRowBatch();
    folded = 0;
  };
  try {
    while (true) {
      const { value: read, done } = await reading;
      if (done) break;
      const batch = until ? read.filter((event) => compareCheckpoints(event, until) <= 0) : read;
      const finished = batch.length < read.length;
      if (!finished) {
        reading = batches.next();
        reading.catch(() => {});
      }
      if (batch.length > 0) {
        const last = batch[batch.length - 1]!;
        const cursors = committed.map((cursor) => ({ ...cursor, after: reduced }));
        // In slices, letting the event loop turn in between: the next batch's rows arrive
        // (and the database goes on producing them) while this one is reduced, instead of
        // waiting in a full socket buffer until the whole batch is done.
        for (let from = 0; from < batch.length; from += SLICE) {
          reduceInto(rows, cursors, await feed.project(batch.slice(from, from + SLICE)));
          await nextTurn();
        }
        reduced = { transactionId: last.transactionId, globalPosition: last.globalPosition };
        folded += batch.length;
        count += batch.length;
        if (folded >= commitEvery) await commit();
        options.onProgress?.({ events: count, total: Number(total), elapsedMs: performance.now() - started });
      }
      if (finished) break;
    }
    if (folded > 0) await commit();
    await writing;
  } finally {
    await writing.catch(() => {});
    await batches.return(undefined);
  }
  options.signal?.throwIfAborted();
  return { events: count, checkpoint: reduced };
}

/** Applies the events after `from` up to `to` to the copies, in the swap's transaction `tx`. */
export type CatchUp = (tx: Executor, from: Checkpoint | null, to: Checkpoint) => Promise<void>;

/**
 * Replaces the live tables of `projections` with their copies in `schema`, and their live
 * checkpoints with the copies', in one transaction. Lock order is the writer's — checkpoint
 * rows, then tables — so a projector writing at the same time waits (or fails its
 * compare-and-set) instead of deadlocking. With `catchUp`, the live checkpoint rows are
 * locked first and the copies brought up to them before the swap: the live views had moved
 * on while the copies were built, and swapping in older rows would take builds away from
 * readers until the projector caught up again.
 */
export async function swapIn(database: Pick<Database, 'transaction'>, schema: string, projections: readonly Projection[], catchUp?: CatchUp): Promise<void> {
  const scratch = scratchTarget(schema);
  await database.transaction(async (tx) => {
    if (catchUp) {
      const names = projections.map((p) => sql`${liveTarget.checkpointName(p.name)}`);
      await tx.query(sql`select name from ${checkpoints} where name in (${sql.join(names, sql`, `)}) order by name for update`);
      const live = [...(await readCheckpoints(tx, liveTarget, projections)).values()].reduce<Checkpoint | null>((a, b) => (compareCheckpoints(a, b) >= 0 ? a : b), null);
      const copies = [...(await readCheckpoints(tx, scratch, projections)).values()][0] ?? null;
      if (live !== null && compareCheckpoints(live, copies) > 0) await catchUp(tx, copies, live);
    }
    const rebuilt = await readCheckpoints(tx, scratch, projections);
    for (const projection of projections) {
      const at = rebuilt.get(projection.name) ?? null;
      await tx.query(sql`
        insert into ${checkpoints} as c (name, transaction_id, global_position, updated_at)
        values (${liveTarget.checkpointName(projection.name)}, ${at?.transactionId ?? '0'}::xid8, ${at?.globalPosition ?? '0'}::bigint, now())
        on conflict (name) do update set transaction_id = excluded.transaction_id,
          global_position = excluded.global_position, updated_at = excluded.updated_at`);
      await tx.query(sql`delete from ${checkpoints} where name = ${scratch.checkpointName(projection.name)}`);
    }
    const tables = tablesOf(projections);
    const live = await liveTables(tx, tables);
    await tx.query(sql.raw(`lock table ${tables.map((t) => quoteName(live.get(t)!.qualified)).join(', ')} in access exclusive mode`));
    for (const table of tables) {
      const { qualified, schema: liveSchema } = live.get(table)!;
      await tx.query(sql.raw(`drop table ${quoteName(qualified)}`));
      await tx.query(sql.raw(`alter table ${quoteName(`${schema}.${tableMeta[table].sqlName}`)} set schema ${quoteName(liveSchema)}`));
    }
  });
}

/** A CatchUp that reads the log through `store` and writes into `target` (the copies) with the writer's halves. */
function catchUpFrom(store: EventStore, projections: readonly Projection[], target: ProjectionTarget): CatchUp {
  return async (tx, from, to) => {
    const feed = createEventFeed({ readStream: (streamId, toVersion) => store.readStream(streamId, { toVersion }) });
    let cursors: ProjectionCursor[] = projections.map((projection) => ({ projection, after: from }));
    for await (const read of store.readAllBatches({ after: from, batchSize: 1000 })) {
      const batch = read.filter((event) => compareCheckpoints(event, to) <= 0);
      if (batch.length > 0) {
        const last = batch[batch.length - 1]!;
        const at: Checkpoint = { transactionId: last.transactionId, globalPosition: last.globalPosition };
        await moveCheckpoints(tx, target, cursors, at);
        await flushRows(tx, target, reduceBatch(cursors, await feed.project(batch)));
        cursors = cursors.map((cursor) => ({ ...cursor, after: at }));
      }
      if (batch.length < read.length) break;
    }
  };
}

/**
 * Creates `schema` afresh with empty copies of the live `tables`: same names, columns,
 * defaults, checks, primary key and — with `indexes` (default true) — the same secondary
 * indexes under the same names, so a swapped-in table is indistinguishable from one the
 * migrations made. Leave `indexes` off to fill the tables faster and add them with
 * `createScratchIndexes` afterwards.
 */
export async function createScratchTables(
  database: Pick<Database, 'transaction'>,
  schema: string,
  tables: readonly TableName[],
  options: { indexes?: boolean } = {},
): Promise<void> {
  await database.transaction(async (tx) => {
    await tx.query(sql.raw(`drop schema if exists ${quoteName(schema)} cascade`));
    await tx.query(sql.raw(`create schema ${quoteName(schema)}`));
    const live = await liveTables(tx, tables);
    for (const table of tables) {
      const source = live.get(table)!;
      const copy = quoteName(`${schema}.${tableMeta[table].sqlName}`);
      await tx.query(sql.raw(`create table ${copy} (like ${quoteName(source.qualified)} including defaults including constraints including storage)`));
      const keys = await tx.query<{ name: string; definition: string }>(
        sql`select conname as name, pg_get_constraintdef(oid) as definition from pg_constraint where conrelid = ${source.oid}::oid and contype in ('p', 'u')`,
      );
      for (const key of keys) await tx.query(sql.raw(`alter table ${copy} add constraint ${quoteName(key.name)} ${key.definition}`));
    }
  });
  if (options.indexes ?? true) await createScratchIndexes(database, schema, tables);
}

/** Adds the live tables' secondary indexes (those no constraint owns) to their copies in `schema`. */
export async function createScratchIndexes(database: Pick<Database, 'transaction'>, schema: string, tables: readonly TableName[]): Promise<void> {
  await database.transaction(async (tx) => {
    const live = await liveTables(tx, tables);
    for (const table of tables) {
      const source = live.get(table)!;
      const indexes = await tx.query<{ definition: string }>(sql`
        select pg_get_indexdef(i.indexrelid) as definition from pg_index i
        where i.indrelid = ${source.oid}::oid and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)`);
      for (const { definition } of indexes) {
        // "CREATE [UNIQUE] INDEX name ON [ONLY] public.builds USING ..." → the same on the copy.
        const onCopy = definition.replace(/ ON (ONLY )?\S+ USING /, ` ON ${quoteName(`${schema}.${tableMeta[table].sqlName}`)} USING `);
        await tx.query(sql.raw(onCopy));
      }
    }
  });
}

export async function dropScratch(database: Pick<Database, 'query'>, schema: string): Promise<void> {
  await database.query(sql.raw(`drop schema if exists ${quoteName(schema)} cascade`));
}

/** Every table the projections own, each once. */
export const tablesOf = (projections: readonly Projection[]): TableName[] => [...new Set(projections.flatMap((p) => p.tables))];

/** Where the live tables are (the migrations' schema, usually public). */
async function liveTables(tx: Executor, tables: readonly TableName[]) {
  const found = new Map<TableName, { oid: string; schema: string; qualified: string }>();
  for (const table of tables) {
    const name = tableMeta[table].sqlName;
    const [row] = await tx.query<{ oid: string | null; schema: string | null }>(
      sql`select c.oid::text as oid, n.nspname as schema from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.oid = to_regclass(${quoteName(name)})`,
    );
    if (!row?.oid || !row.schema) throw new Error(`table ${name} does not exist: are the migrations applied?`);
    found.set(table, { oid: row.oid, schema: row.schema, qualified: `${row.schema}.${name}` });
  }
  return found;
}
