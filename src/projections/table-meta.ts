// What the writer needs to know about each projection table, read once from its drizzle
// definition: column names (property → SQL), SQL types and the primary key.
import { getTableColumns } from 'drizzle-orm';
import { getTableConfig } from 'drizzle-orm/pg-core';
import type { PgTable } from 'drizzle-orm/pg-core';
import { projectionTables, type TableName } from './tables.ts';

export interface ColumnMeta {
  /** drizzle property name, as reducers write it. */
  readonly prop: string;
  /** SQL column name. */
  readonly sql: string;
  /** SQL type, for `json_to_recordset(...) AS x(<sql> <type>)`. */
  readonly type: string;
}

export interface TableMeta {
  readonly name: TableName;
  /** The table's name in the live schema. */
  readonly sqlName: string;
  /** In table order: column lists are written in this order, whatever order a reducer used. */
  readonly columns: readonly ColumnMeta[];
  readonly byProp: ReadonlyMap<string, ColumnMeta>;
  /** Primary-key columns, in key order. */
  readonly key: readonly ColumnMeta[];
  readonly keyProps: ReadonlySet<string>;
}

function metaOf(name: TableName, table: PgTable): TableMeta {
  const columns = Object.entries(getTableColumns(table)).map(
    ([prop, column]): ColumnMeta => ({ prop, sql: column.name, type: column.getSQLType() }),
  );
  const bySql = new Map(columns.map((column) => [column.sql, column]));
  const config = getTableConfig(table);
  const keyNames = config.primaryKeys[0]?.columns.map((column) => column.name) ?? config.columns.filter((c) => c.primary).map((c) => c.name);
  if (keyNames.length === 0) throw new Error(`projection table ${config.name} has no primary key`);
  return {
    name,
    sqlName: config.name,
    columns,
    byProp: new Map(columns.map((column) => [column.prop, column])),
    key: keyNames.map((sqlName) => bySql.get(sqlName)!),
    keyProps: new Set(keyNames.map((sqlName) => bySql.get(sqlName)!.prop)),
  };
}

export const tableMeta: Readonly<Record<TableName, TableMeta>> = Object.fromEntries(
  Object.entries(projectionTables).map(([name, table]) => [name, metaOf(name as TableName, table)]),
) as Record<TableName, TableMeta>;

export const tableNames = Object.keys(projectionTables) as TableName[];
