// The one writer every projection goes through (STYLE.md habit 5): runs a batch of events
// through the projections' reducers, folds the row operations per row in memory, and in ONE
// transaction moves each projection's checkpoint (compare-and-set) and writes the rows with
// a few multi-row statements. A `ProjectionTarget` says which tables and checkpoint rows to
// use, so rebuild and verify run the same reducers into scratch tables.
import { sql, type SQL } from 'drizzle-orm';
import { compareCheckpoints, type Checkpoint } from '../events/checkpoint.ts';
import type { Database, Executor } from '../events/database.ts';
import { checkpoints } from '../events/event-table.ts';
import type { Projection, ProjectedEvent } from './projection.ts';
import { createRowBatch, type Pending, type RowBatch, type Values } from './row-batch.ts';
import type { Combinator } from './row-ops.ts';
import { tableMeta, tableNames, type ColumnMeta, type TableMeta } from './table-meta.ts';
import type { TableName } from './tables.ts';

/** Where a set of projections writes: the SQL table per logical table, and the checkpoint row per projection. */
export interface ProjectionTarget {
  /** SQL name of each table, optionally schema-qualified ('scratch.builds'). */
  readonly tables: Readonly<Record<TableName, string>>;
  readonly checkpointName: (projection: string) => string;
}

/** The live views the API reads. */
export const liveTarget: ProjectionTarget = {
  tables: Object.fromEntries(tableNames.map((name) => [name, tableMeta[name].sqlName])) as Record<TableName, string>,
  checkpointName: (projection) => `projection:${projection}`,
};

/**
 * Scratch copies for rebuild and verify: the same table names in schema `schema`
 * (created with `createScratchTables`), checkpoints `projection:<name>@<schema>`.
 */
export function scratchTarget(schema: string): ProjectionTarget {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(schema)) throw new TypeError(`scratch schema must match [a-z_][a-z0-9_]*, got ${JSON.stringify(schema)}`);
  return {
    tables: Object.fromEntries(tableNames.map((name) => [name, `${schema}.${tableMeta[name].sqlName}`])) as Record<TableName, string>,
    checkpointName: (projection) => `projection:${projection}@${schema}`,
  };
}

/** A projection and the checkpoint it stands at: the last event already applied (null: none). */
export interface ProjectionCursor {
  readonly projection: Projection;
  readonly after: Checkpoint | null;
}

export interface WriteBatchInput {
  readonly target: ProjectionTarget;
  readonly cursors: readonly ProjectionCursor[];
  /** In log order; events a cursor already passed are skipped for it. */
  readonly events: readonly ProjectedEvent[];
  /** The batch's last stored event (events no projection reads count too): where every cursor moves. */
  readonly checkpoint: Checkpoint;
}

export interface WriteBatchResult {
  /** Rows written (after folding), over all tables. */
  readonly rows: number;
  readonly statements: number;
}

/** Another writer moved the checkpoint first (a second projector, a rebuild): nothing of this batch was written. */
export class CheckpointConflict extends Error {
  override readonly name = 'CheckpointConflict';
  readonly checkpointNames: readonly string[];

  constructor(names: readonly string[]) {
    super(`checkpoint ${names.join(', ')} moved under this writer; re-read it and continue from there`);
    this.checkpointNames = names;
  }
}

/** Most rows per statement: one json parameter each, so this bounds its size, not a parameter count. */
const CHUNK = 5000;

/**
 * Applies `events` to every cursor's projection and moves each cursor's checkpoint to
 * `checkpoint`, all in one transaction: either every row and checkpoint is written or none.
 * A cursor already at or past `checkpoint` is left alone. Throws CheckpointConflict (and
 * writes nothing) when a stored checkpoint is not where its cursor says.
 */
export async function writeBatch(database: Pick<Database, 'transaction'>, input: WriteBatchInput): Promise<WriteBatchResult> {
  const moving = input.cursors.filter((cursor) => compareCheckpoints(cursor.after, input.checkpoint) < 0);
  if (moving.length === 0) return { rows: 0, statements: 0 };
  return commitBatch(database, { target: input.target, cursors: moving, batch: reduceBatch(moving, input.events), checkpoint: input.checkpoint });
}

/**
 * The second half of `writeBatch`, for callers that reduce ahead (rebuild reduces the next
 * batch while this one commits): moves every cursor to `checkpoint` and writes `batch`, in
 * one transaction.
 */
export async function commitBatch(
  database: Pick<Database, 'transaction'>,
  input: { readonly target: ProjectionTarget; readonly cursors: readonly ProjectionCursor[]; readonly batch: RowBatch; readonly checkpoint: Checkpoint },
): Promise<WriteBatchResult> {
  return database.transaction(async (tx) => {
    // Checkpoints first: a concurrent writer of the same projection waits here on the row
    // lock and then fails the compare, before either has written a row.
    await moveCheckpoints(tx, input.target, input.cursors, input.checkpoint);
    const statements = await flushRows(tx, input.target, input.batch);
    return { rows: input.batch.size, statements: statements + 1 };
  });
}

/** Runs the events through the reducers into one folded batch of row operations. */
export function reduceBatch(cursors: readonly ProjectionCursor[], events: readonly ProjectedEvent[]): RowBatch {
  return reduceInto(createRowBatch(), cursors, events);
}

/** `reduceBatch` into an existing batch, so several reads can fold into one write. */
export function reduceInto(batch: RowBatch, cursors: readonly ProjectionCursor[], events: readonly ProjectedEvent[]): RowBatch {
  // Events are in log order: each cursor starts at its first event past its checkpoint.
  const starts = cursors.map(({ after }) => {
    if (after === null) return 0;
    let i = 0;
    while (i < events.length && compareCheckpoints(events[i]!, after) <= 0) i += 1;
    return i;
  });
  for (let e = 0; e < events.length; e++) {
    const event = events[e]!;
    for (let c = 0; c < cursors.length; c++) {
      if (e < starts[c]!) continue;
      const { projection } = cursors[c]!;
      if (!projection.handles.has(event.type)) continue;
      for (const op of projection.reduce(event)) {
        if (!projection.tables.includes(op.table)) {
          throw new Error(`projection ${projection.name} wrote to ${op.table}, which is not one of its tables (${projection.tables.join(', ')})`);
        }
        batch.add(op);
      }
    }
  }
  return batch;
}

/** Compare-and-set of every cursor's checkpoint row; CheckpointConflict unless all moved. */
export async function moveCheckpoints(
  tx: Executor,
  target: ProjectionTarget,
  cursors: readonly ProjectionCursor[],
  to: Checkpoint,
): Promise<void> {
  // Cursors at the same place share one statement (the usual case: all of them).
  const groups = new Map<string, string[]>();
  for (const { projection, after } of cursors) {
    const from = after ?? { transactionId: '0', globalPosition: '0' };
    const id = `${from.transactionId}:${from.globalPosition}`;
    groups.set(id, [...(groups.get(id) ?? []), target.checkpointName(projection.name)]);
  }
  const conflicts: string[] = [];
  for (const [id, names] of groups) {
    const [fromXid, fromPosition] = id.split(':');
    const values = sql.join(
      [...names].sort().map((name) => sql`(${name}, ${to.transactionId}::xid8, ${to.globalPosition}::bigint, now())`),
      sql`, `,
    );
    // A missing row counts as the start ('0', 0), the table's own default.
    const moved = await tx.query<{ name: string }>(sql`
      insert into ${checkpoints} as c (name, transaction_id, global_position, updated_at) values ${values}
      on conflict (name) do update set transaction_id = excluded.transaction_id,
        global_position = excluded.global_position, updated_at = excluded.updated_at
      where c.transaction_id = ${fromXid}::xid8 and c.global_position = ${fromPosition}::bigint
      returning name`);
    const done = new Set(moved.map((row) => row.name));
    conflicts.push(...names.filter((name) => !done.has(name)));
  }
  if (conflicts.length > 0) throw new CheckpointConflict(conflicts);
}

/** Each projection's stored checkpoint (null when it has none yet, or it is the start). */
export async function readCheckpoints(
  executor: Executor,
  target: ProjectionTarget,
  projections: readonly Projection[],
): Promise<Map<string, Checkpoint | null>> {
  const names = projections.map((p) => target.checkpointName(p.name));
  const rows = await executor.query<{ name: string; transaction_id: string; global_position: string }>(
    sql`select name, transaction_id::text as transaction_id, global_position::text as global_position
        from ${checkpoints} where name in (${sql.join(names.map((n) => sql`${n}`), sql`, `)})`,
  );
  const byName = new Map(rows.map((row) => [row.name, row]));
  return new Map(
    projections.map((projection) => {
      const row = byName.get(target.checkpointName(projection.name));
      const start = !row || (row.transaction_id === '0' && row.global_position === '0');
      return [projection.name, start ? null : { transactionId: row.transaction_id, globalPosition: row.global_position }];
    }),
  );
}

// ---------------------------------------------------------------------------------------
// Flushing folded rows as multi-row statements

/**
 * Writes the batch: per table, deletes, then updates of rows that may exist, then inserts.
 * Each row appears in exactly one final operation, so the order between rows never matters.
 * Rows travel as one json parameter per statement, expanded with `json_to_recordset`.
 * Returns how many statements ran.
 */
export async function flushRows(tx: Executor, target: ProjectionTarget, batch: RowBatch): Promise<number> {
  const statements: SQL[] = [];
  const run = (statement: SQL) => {
    statements.push(statement);
  };
  for (const [table, rows] of batch.pending()) {
    const meta = tableMeta[table];
    const name = quoteName(target.tables[table]);
    const deletes: Values[] = [];
    // Rows grouped by the columns they carry (and how they change them): one statement per group.
    const updates = new Map<string, { hows: Hows; rows: Values[] }>();
    const inserts = new Map<string, Values[]>();
    const insertsIfMissing = new Map<string, Values[]>();
    const upserts = new Map<string, { hows: Hows; rows: Values[] }>();
    const addTo = (map: Map<string, Values[]>, values: Values) => {
      const id = Object.keys(values).sort().join(',');
      const list = map.get(id);
      if (list) list.push(values);
      else map.set(id, [values]);
    };
    const addChanged = (map: Map<string, { hows: Hows; rows: Values[] }>, hows: Hows, values: Values) => {
      const id = shapeOf(hows);
      const group = map.get(id);
      if (group) group.rows.push(values);
      else map.set(id, { hows, rows: [values] });
    };
    for (const row of rows.values()) {
      switch (row.kind) {
        case 'delete':
          deletes.push(row.key);
          break;
        case 'replace':
          deletes.push(row.key);
          addTo(inserts, row.insert);
          break;
        case 'patch':
          addChanged(updates, row.hows, { ...row.key, ...row.changes });
          break;
        case 'upsert':
          if (row.uniform) addChanged(upserts, row.hows, row.insert);
          else {
            // Update the row if it is there, then insert it if it was not.
            addChanged(updates, row.hows, { ...row.key, ...row.changes });
            addTo(insertsIfMissing, row.insert);
          }
          break;
      }
    }
    for (const chunk of chunks(deletes)) run(deleteStatement(meta, name, chunk));
    for (const { hows, rows: group } of updates.values()) for (const chunk of chunks(group)) run(updateStatement(meta, name, hows, chunk));
    for (const group of inserts.values()) for (const chunk of chunks(group)) run(insertStatement(meta, name, chunk, null));
    for (const group of insertsIfMissing.values()) for (const chunk of chunks(group)) run(insertStatement(meta, name, chunk, 'nothing'));
    for (const { hows, rows: group } of upserts.values()) for (const chunk of chunks(group)) run(insertStatement(meta, name, chunk, hows));
  }
  // Sent together: the connection runs them one after another in this order (so a table's
  // deletes still come before its inserts), without a round trip's wait between them. The
  // first failure rejects, and the transaction, aborted from there on, is rolled back.
  await Promise.all(statements.map((statement) => tx.query(statement)));
  return statements.length;
}

type Hows = Pending['hows'];

/** Groups rows that change the same columns the same way. */
const shapeOf = (hows: Hows): string =>
  Object.keys(hows)
    .sort()
    .map((prop) => `${prop}:${hows[prop]}`)
    .join(',');

function* chunks<T>(list: readonly T[]): Generator<T[]> {
  for (let i = 0; i < list.length; i += CHUNK) yield list.slice(i, i + CHUNK);
}

function deleteStatement(meta: TableMeta, name: string, keys: Values[]): SQL {
  return sql`delete from ${sql.raw(name)} as t using ${recordset(meta.key, keys)} where ${sql.raw(keyMatch(meta, 't'))}`;
}

/** `rows` hold the key and the operands of `hows`' columns. */
function updateStatement(meta: TableMeta, name: string, hows: Hows, rows: Values[]): SQL {
  const columns = columnsOf(meta, Object.keys(hows));
  const assignments = columns.map((column) => `${quote(column.sql)} = ${combine(hows[column.prop]!, 't', 'x', column)}`).join(', ');
  return sql`update ${sql.raw(name)} as t set ${sql.raw(assignments)} from ${recordset([...meta.key, ...columns], rows)} where ${sql.raw(keyMatch(meta, 't'))}`;
}

/**
 * `INSERT ... SELECT` from the json rows. `onConflict`: null — none expected (the rows were
 * just deleted); 'nothing' — keep an existing row; changes — apply them to an existing row,
 * the way the batch folded them (the rows' values are the same operands).
 */
function insertStatement(meta: TableMeta, name: string, rows: Values[], onConflict: null | 'nothing' | Hows): SQL {
  const columns = columnsOf(meta, Object.keys(rows[0]!));
  const list = columns.map((column) => quote(column.sql)).join(', ');
  const insert = sql`insert into ${sql.raw(name)} as t (${sql.raw(list)}) select ${sql.raw(list)} from ${recordset(columns, rows)}`;
  if (onConflict === null) return insert;
  const conflictKey = meta.key.map((column) => quote(column.sql)).join(', ');
  const changed = onConflict === 'nothing' ? [] : columnsOf(meta, Object.keys(onConflict));
  if (changed.length === 0) return sql`${insert} on conflict (${sql.raw(conflictKey)}) do nothing`;
  const assignments = changed
    .map((column) => `${quote(column.sql)} = ${combine((onConflict as Hows)[column.prop]!, 't', 'excluded', column)}`)
    .join(', ');
  return sql`${insert} on conflict (${sql.raw(conflictKey)}) do update set ${sql.raw(assignments)}`;
}

/** The SQL for one column's change: the current row is `row`, the operand comes from `from`. */
function combine(how: Combinator, row: string, from: string, column: ColumnMeta): string {
  const current = `${row}.${quote(column.sql)}`;
  const operand = `${from}.${quote(column.sql)}`;
  switch (how) {
    case 'set':
      return operand;
    case 'add':
      return `coalesce(${current}, 0) + ${operand}`;
    case 'max':
      return `greatest(${current}, ${operand})`;
    case 'setIfNull':
      return `coalesce(${current}, ${operand})`;
  }
}

/** `json_to_recordset($1::json) as x(<column> <type>, ...)`, with the rows keyed by SQL column name. */
function recordset(columns: readonly ColumnMeta[], rows: readonly Values[]): SQL {
  const json = JSON.stringify(
    rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const column of columns) out[column.sql] = row[column.prop] ?? null;
      return out;
    }),
  );
  const definitions = columns.map((column) => `${quote(column.sql)} ${column.type}`).join(', ');
  return sql`json_to_recordset(${json}::json) as x(${sql.raw(definitions)})`;
}

const keyMatch = (meta: TableMeta, row: string): string =>
  meta.key.map((column) => `${row}.${quote(column.sql)} = x.${quote(column.sql)}`).join(' and ');

/** The named columns: key columns first, then the others in table order. */
function columnsOf(meta: TableMeta, props: readonly string[]): ColumnMeta[] {
  const named = new Set(props);
  const keys = meta.key.filter((column) => named.has(column.prop));
  const others = meta.columns.filter((column) => named.has(column.prop) && !meta.key.includes(column));
  return [...keys, ...others];
}

const quote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;

/** A table name, schema-qualified or not, quoted part by part. */
export const quoteName = (name: string): string => name.split('.').map(quote).join('.');
