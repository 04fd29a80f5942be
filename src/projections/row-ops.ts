// Row operations: what a projection's reducer returns for one event. Plain data, so reducers
// stay pure and are tested by comparing values; only the writer turns them into SQL.
import type { ProjectionTables, TableName } from './tables.ts';

/** A table's columns as its reducer writes them (drizzle property names, not SQL names). */
export type Columns<N extends TableName> = ProjectionTables[N]['$inferInsert'];

type NumericColumn<N extends TableName> = {
  [K in keyof Columns<N>]-?: NonNullable<Columns<N>[K]> extends number ? K : never;
}[keyof Columns<N>];

/**
 * How an operation changes columns. Each column takes one combinator per operation, and a
 * reducer must use one combinator per column consistently (the writer folds a batch's
 * operations on a row into one, which is only defined for a single combinator):
 * - `set`: the value, whatever was there;
 * - `add`: the column plus the amount (a row being created starts from the amount);
 * - `max`: the greater of the column and the value;
 * - `setIfNull`: the value only while the column is null — the first fact wins (a `started` time).
 */
export interface ColumnChanges<N extends TableName> {
  readonly set?: Partial<Columns<N>>;
  readonly add?: Partial<Record<NumericColumn<N>, number>>;
  readonly max?: Partial<Record<NumericColumn<N>, number>>;
  readonly setIfNull?: Partial<Columns<N>>;
}

/**
 * - `upsert`: create the row (key + changes, every other column its default) when it does
 *   not exist, otherwise apply the changes to it;
 * - `patch`: apply the changes when the row exists; nothing otherwise;
 * - `delete`: remove the row when it exists.
 * `key` holds exactly the table's primary-key columns.
 */
export type RowOp = {
  [N in TableName]:
    | ({ readonly kind: 'upsert'; readonly table: N; readonly key: Partial<Columns<N>> } & ColumnChanges<N>)
    | ({ readonly kind: 'patch'; readonly table: N; readonly key: Partial<Columns<N>> } & ColumnChanges<N>)
    | { readonly kind: 'delete'; readonly table: N; readonly key: Partial<Columns<N>> };
}[TableName];

export const upsert = <N extends TableName>(table: N, key: Partial<Columns<N>>, changes: ColumnChanges<N>): RowOp =>
  ({ kind: 'upsert', table, key, ...changes }) as RowOp;

export const patch = <N extends TableName>(table: N, key: Partial<Columns<N>>, changes: ColumnChanges<N>): RowOp =>
  ({ kind: 'patch', table, key, ...changes }) as RowOp;

export const remove = <N extends TableName>(table: N, key: Partial<Columns<N>>): RowOp =>
  ({ kind: 'delete', table, key }) as RowOp;

export const combinators = ['set', 'add', 'max', 'setIfNull'] as const;
export type Combinator = (typeof combinators)[number];
