// Are the live views what the log says they should be? Replays the log into scratch copies of
// the views with the projections' own replay (projections/rebuild.ts), up to exactly where
// the live views stand, and compares the two row by row in the database.
//
// Consistency while a server runs: the live views keep moving. Each table is compared in ONE
// statement that also reads the live checkpoint, so the rows and the checkpoint come from one
// snapshot; if the checkpoint is past the scratch copy's, the copy catches up to it and the
// table is compared again. The projector writes rows and checkpoint in one transaction, so a
// snapshot never shows one without the other.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { compareCheckpoints, formatCheckpoint, type Checkpoint } from '../events/checkpoint.ts';
import { canonicalJson } from '../events/canonical-json.ts';
import type { Database } from '../events/database.ts';
import type { EventStore } from '../events/event-store.ts';
import { checkpoints } from '../events/event-table.ts';
import { createEventFeed } from '../projections/event-feed.ts';
import type { Projection } from '../projections/projection.ts';
import { liveTarget, quoteName, readCheckpoints, scratchTarget, writeBatch, type ProjectionCursor, type ProjectionTarget } from '../projections/projection-writer.ts';
import { createScratchTables, dropScratch, replay, tablesOf, type RebuildProgress } from '../projections/rebuild.ts';
import { tableMeta } from '../projections/table-meta.ts';
import type { TableName } from '../projections/tables.ts';

export interface ColumnDifference {
  readonly column: string;
  readonly live: unknown;
  readonly rebuilt: unknown;
}

export interface RowDifference {
  /** SQL table name. */
  readonly table: string;
  /** Primary-key column → value. */
  readonly key: Readonly<Record<string, unknown>>;
  /** `extra`: only in the live view; `missing`: the log says it should be there and it is not; `differs`: both, other values. */
  readonly kind: 'extra' | 'missing' | 'differs';
  readonly columns: readonly ColumnDifference[];
}

export interface TableComparison {
  readonly table: string;
  readonly liveRows: number;
  readonly differing: number;
}

export interface ViewReport {
  /** Where the views were compared; null: at the start (no event applied). */
  readonly checkpoints: Readonly<Record<string, string | null>>;
  readonly tables: readonly TableComparison[];
  /** At most `maxDifferences` of them; `differing` per table counts them all. */
  readonly differences: readonly RowDifference[];
  /** Why the views could not be compared (a stored event its schema refuses, say); then `tables` is empty. */
  readonly error?: string;
}

export interface CompareViewsOptions {
  readonly database: Database;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  readonly batchSize?: number;
  readonly maxDifferences?: number;
  readonly onProgress?: (progress: RebuildProgress) => void;
  readonly signal?: AbortSignal;
}

/** How often one table is compared again after the live views moved on meanwhile. */
const MAX_ROUNDS = 8;

export async function compareViews(options: CompareViewsOptions): Promise<ViewReport> {
  const { database, store } = options;
  const maxDifferences = options.maxDifferences ?? 1000;
  // Its own schema per run: a rebuild (runlog_rebuild) or another verify may run at once.
  const schema = `runlog_verify_${randomBytes(5).toString('hex')}`;
  const target = scratchTarget(schema);
  const groups = await groupByLiveCheckpoint(database, options.projections);
  const report: { checkpoints: Record<string, string | null>; tables: TableComparison[]; differences: RowDifference[] } = {
    checkpoints: {},
    tables: [],
    differences: [],
  };
  try {
    for (const { projections: group, checkpoint } of groups) {
      await createScratchTables(database, schema, tablesOf(group), { indexes: false });
      let scratchAt = await fill(options, group, target, checkpoint);
      for (const projection of group) report.checkpoints[projection.name] = scratchAt && formatCheckpoint(scratchAt);
      for (const table of tablesOf(group)) {
        const owner = group.find((p) => p.tables.includes(table))!;
        for (let round = 1; ; round += 1) {
          options.signal?.throwIfAborted();
          const compared = await compareTable(database, table, target, liveTarget.checkpointName(owner.name), maxDifferences - report.differences.length);
          const moved = compareCheckpoints(compared.live, scratchAt);
          if (moved === 0) {
            report.tables.push({ table: tableMeta[table].sqlName, liveRows: compared.liveRows, differing: compared.differing });
            report.differences.push(...compared.differences);
            break;
          }
          if (round === MAX_ROUNDS) throw new Error(`the live ${tableMeta[table].sqlName} view kept moving while it was compared (${MAX_ROUNDS} rounds); run runlog verify again when the server is less busy`);
          if (moved > 0) {
            scratchAt = await catchUp(options, group, target, scratchAt, compared.live!);
          } else {
            // The live views went back (a rebuild swapped in): start this group over.
            await createScratchTables(database, schema, tablesOf(group), { indexes: false });
            scratchAt = await fill(options, group, target, compared.live);
          }
          for (const projection of group) report.checkpoints[projection.name] = scratchAt && formatCheckpoint(scratchAt);
        }
      }
    }
    return report;
  } finally {
    await dropScratch(database, schema).catch(() => {});
    await database.query(sql`delete from ${checkpoints} where name like ${`%@${schema}`}`).catch(() => {});
  }
}

/** Projections grouped by where their live checkpoint stands (usually one group: the projector moves them together). */
async function groupByLiveCheckpoint(database: Database, projections: readonly Projection[]) {
  const live = await readCheckpoints(database, liveTarget, projections);
  const groups = new Map<string, { projections: Projection[]; checkpoint: Checkpoint | null }>();
  for (const projection of projections) {
    const checkpoint = live.get(projection.name) ?? null;
    const id = checkpoint ? formatCheckpoint(checkpoint) : 'start';
    const group = groups.get(id);
    if (group) group.projections.push(projection);
    else groups.set(id, { projections: [projection], checkpoint });
  }
  return [...groups.values()];
}

/** Replays the log into the (empty) scratch tables up to `until`; nothing at all when the live views are at the start. */
async function fill(options: CompareViewsOptions, projections: readonly Projection[], target: ProjectionTarget, until: Checkpoint | null): Promise<Checkpoint | null> {
  if (until === null) return null;
  const replayed = await replay({
    database: options.database,
    store: options.store,
    projections,
    target,
    until,
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return replayed.checkpoint;
}

/** Applies the events after `from` up to `to` to the scratch copies. */
async function catchUp(options: CompareViewsOptions, projections: readonly Projection[], target: ProjectionTarget, from: Checkpoint | null, to: Checkpoint): Promise<Checkpoint | null> {
  const { database, store } = options;
  const feed = createEventFeed({ readStream: (streamId, toVersion) => store.readStream(streamId, { toVersion }) });
  let cursors: ProjectionCursor[] = projections.map((projection) => ({ projection, after: from }));
  let at = from;
  for await (const read of store.readAllBatches({ after: from, batchSize: options.batchSize ?? 5000 })) {
    const batch = read.filter((event) => compareCheckpoints(event, to) <= 0);
    if (batch.length > 0) {
      const last = batch[batch.length - 1]!;
      at = { transactionId: last.transactionId, globalPosition: last.globalPosition };
      await writeBatch(database, { target, cursors, events: await feed.project(batch), checkpoint: at });
      cursors = cursors.map((cursor) => ({ ...cursor, after: at }));
    }
    if (batch.length < read.length) break;
  }
  return at;
}

interface TableCompared {
  readonly live: Checkpoint | null;
  readonly liveRows: number;
  readonly differing: number;
  readonly differences: RowDifference[];
}

/** One statement, one snapshot: the live checkpoint, the live row count and the rows that differ. */
async function compareTable(database: Database, table: TableName, scratch: ProjectionTarget, checkpointName: string, limit: number): Promise<TableCompared> {
  const meta = tableMeta[table];
  const key = `jsonb_build_array(${meta.key.map((column) => `t.${quoteName(column.sql)}`).join(', ')})`;
  const live = quoteName(liveTarget.tables[table]);
  const copy = quoteName(scratch.tables[table]);
  const rows = await database.query<{ tx: string | null; pos: string | null; live_rows: string | number; differing: string | number; live: unknown; rebuilt: unknown }>(sql`
    with l as (select ${sql.raw(key)} as k, to_jsonb(t) as j from ${sql.raw(live)} t),
         r as (select ${sql.raw(key)} as k, to_jsonb(t) as j from ${sql.raw(copy)} t),
         d as (select l.j as live, r.j as rebuilt from l full join r on l.k = r.k where l.j is distinct from r.j)
    select (select transaction_id::text from ${checkpoints} where name = ${checkpointName}) as tx,
           (select global_position::text from ${checkpoints} where name = ${checkpointName}) as pos,
           (select count(*) from l) as live_rows,
           (select count(*) from d) as differing,
           s.live, s.rebuilt
    from (select 1) as one left join (select * from d limit ${Math.max(0, limit)}) as s on true`);
  const first = rows[0]!;
  const start = first.tx === null || (first.tx === '0' && first.pos === '0');
  return {
    live: start ? null : { transactionId: first.tx!, globalPosition: first.pos! },
    liveRows: Number(first.live_rows),
    differing: Number(first.differing),
    differences: rows.filter((row) => row.live !== null || row.rebuilt !== null).map((row) => rowDifference(meta.sqlName, meta.key.map((c) => c.sql), json(row.live), json(row.rebuilt))),
  };
}

const json = (value: unknown): Record<string, unknown> | null =>
  value === null || value === undefined ? null : ((typeof value === 'string' ? JSON.parse(value) : value) as Record<string, unknown>);

/** What differs between a live row and the row the log gives (either may be absent). Pure. */
export function rowDifference(table: string, keyColumns: readonly string[], live: Record<string, unknown> | null, rebuilt: Record<string, unknown> | null): RowDifference {
  const either = (live ?? rebuilt)!;
  const key = Object.fromEntries(keyColumns.map((column) => [column, either[column]]));
  if (live === null) return { table, key, kind: 'missing', columns: [] };
  if (rebuilt === null) return { table, key, kind: 'extra', columns: [] };
  const columns: ColumnDifference[] = [];
  for (const column of new Set([...Object.keys(live), ...Object.keys(rebuilt)])) {
    const a = live[column] ?? null;
    const b = rebuilt[column] ?? null;
    if (canonicalJson(a) !== canonicalJson(b)) columns.push({ column, live: a, rebuilt: b });
  }
  return { table, key, kind: 'differs', columns };
}
