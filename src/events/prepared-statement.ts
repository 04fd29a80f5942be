// Raw SQL that runs as a prepared statement on either database, in one round trip.
//
// Why not `executor.query(sql)` (drizzle's `execute`): it never prepares, and the postgres
// driver then sends every statement that has parameters as Parse + Describe, waits for the
// parameter types, and only then sends Bind + Execute — two round trips per statement
// (postgres/src/connection.js: `describeFirst = parameters.length && !prepared`). Prepared, the
// driver describes a statement once per connection and afterwards sends Bind + Execute alone.
// PGlite runs in-process, where a round trip is a function call; the same code serves it.
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Executor } from './database.ts';

const dialect = new PgDialect();

/** A statement whose `sql.placeholder(name)`s are filled from `params` at each run. */
export interface PreparedStatement<Row> {
  run(executor: Executor, params: Readonly<Record<string, unknown>>): Promise<Row[]>;
}

/**
 * Prepares `statement` under `name` (a label: the driver keys its cache on the text) and maps
 * each result row, given as the columns' values in select order, to a `Row`. The values come
 * as the driver parses them: cast in SQL (`::text`) where the two drivers would disagree.
 */
export function preparedStatement<Row>(name: string, statement: SQL, toRow: (values: readonly unknown[]) => Row): PreparedStatement<Row> {
  // Rendered once: the text and the placeholder positions never change.
  const query = dialect.sqlToQuery(statement);
  return {
    run: (executor, params) =>
      executor.db._.session
        // A custom mapper makes both drivers return rows as arrays of values (postgres-js
        // through `.values()`, PGlite in array mode) instead of their own result shapes.
        .prepareQuery<{ execute: Row[]; all: unknown; values: unknown }>(query, undefined, name, true, (rows) => rows.map(toRow))
        .execute(params),
  };
}
