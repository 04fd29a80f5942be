// Reading the views back for comparison: every row of every table of a target, as jsonb
// (so both drivers give the same values), in primary-key order.
import { sql } from 'drizzle-orm';
import type { Executor } from '../../src/events/database.ts';
import type { Checkpoint } from '../../src/events/checkpoint.ts';
import { quoteName, readCheckpoints, type ProjectionTarget } from '../../src/projections/projection-writer.ts';
import type { Projection } from '../../src/projections/projection.ts';
import { tableMeta } from '../../src/projections/table-meta.ts';
import type { TableName } from '../../src/projections/tables.ts';

export async function tableRows(db: Executor, target: ProjectionTarget, table: TableName): Promise<unknown[]> {
  const order = tableMeta[table].key.map((c) => `t.${quoteName(c.sql)}`).join(', ');
  const rows = await db.query<{ row: unknown }>(sql.raw(`select to_jsonb(t) as row from ${quoteName(target.tables[table])} t order by ${order}`));
  return rows.map((r) => (typeof r.row === 'string' ? JSON.parse(r.row) : r.row));
}

export async function viewRows(db: Executor, target: ProjectionTarget, projections: readonly Projection[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of [...new Set(projections.flatMap((p) => p.tables))]) out[table] = await tableRows(db, target, table);
  return out;
}

export async function checkpointsOf(db: Executor, target: ProjectionTarget, projections: readonly Projection[]): Promise<Record<string, Checkpoint | null>> {
  return Object.fromEntries(await readCheckpoints(db, target, projections));
}
