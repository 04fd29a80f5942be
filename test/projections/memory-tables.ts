// An in-memory model of the views: applies row operations one by one with the semantics
// row-ops.ts documents. Reducer tests read rows from it; the writer's tests compare the
// database with it.
import type { Pending, Values } from '../../src/projections/row-batch.ts';
import { combinators, type Combinator, type RowOp } from '../../src/projections/row-ops.ts';
import { tableMeta } from '../../src/projections/table-meta.ts';
import type { TableName } from '../../src/projections/tables.ts';

export type Row = Record<string, unknown>;
export type MemoryTables = Map<TableName, Map<string, Row>>;

export const keyOf = (table: TableName, key: Values): string => JSON.stringify(tableMeta[table].key.map((c) => key[c.prop]));

function tableOf(tables: MemoryTables, table: TableName): Map<string, Row> {
  let rows = tables.get(table);
  if (!rows) tables.set(table, (rows = new Map()));
  return rows;
}

interface Change {
  how: Combinator;
  value: unknown;
}

function change(current: unknown, { how, value }: Change): unknown {
  switch (how) {
    case 'set':
      return value;
    case 'add':
      return ((current as number | null | undefined) ?? 0) + (value as number);
    case 'max':
      return current === null || current === undefined ? value : Math.max(current as number, value as number);
    case 'setIfNull':
      return current === null || current === undefined ? value : current;
  }
}

const changesOf = (op: Exclude<RowOp, { kind: 'delete' }>): Array<[string, Change]> =>
  combinators.flatMap((how) => Object.entries((op[how] ?? {}) as Values).map(([prop, value]): [string, Change] => [prop, { how, value: value ?? null }]));

/** Applies `ops` in order. A created row holds the key and the changed columns only (defaults are the database's business). */
export function applyOps(tables: MemoryTables, ops: readonly RowOp[]): MemoryTables {
  for (const op of ops) {
    const rows = tableOf(tables, op.table);
    const id = keyOf(op.table, op.key as Values);
    if (op.kind === 'delete') {
      rows.delete(id);
      continue;
    }
    const existing = rows.get(id);
    if (!existing && op.kind === 'patch') continue;
    const row: Row = existing ? { ...existing } : { ...(op.key as Values) };
    for (const [prop, c] of changesOf(op)) row[prop] = change(row[prop], c);
    rows.set(id, row);
  }
  return tables;
}

/** Applies a folded batch the way the writer's statements do. */
export function applyPending(tables: MemoryTables, pending: ReadonlyMap<TableName, ReadonlyMap<string, Pending>>): MemoryTables {
  for (const [table, rows] of pending) {
    const memory = tableOf(tables, table);
    for (const p of rows.values()) {
      const id = keyOf(table, p.key);
      const existing = memory.get(id);
      switch (p.kind) {
        case 'delete':
          memory.delete(id);
          break;
        case 'replace':
          memory.set(id, { ...p.insert });
          break;
        case 'patch':
        case 'upsert':
          if (existing) {
            const row = { ...existing };
            for (const [prop, value] of Object.entries(p.changes)) row[prop] = change(row[prop], { how: p.hows[prop]!, value });
            memory.set(id, row);
          } else if (p.kind === 'upsert') memory.set(id, { ...p.insert });
          break;
      }
    }
  }
  return tables;
}

export const rowsOf = (tables: MemoryTables, table: TableName): Row[] => [...(tables.get(table)?.values() ?? [])];
