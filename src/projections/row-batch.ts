// Folds a batch's row operations into one final operation per row, in memory, so the writer
// sends each row once however many events touched it (a build's ~25 events become one
// `builds` row). Pure; the writer turns the result into multi-row statements. This runs for
// every operation of a rebuild, so it mutates its own containers instead of copying them.
import type { Combinator, RowOp } from './row-ops.ts';
import { tableMeta, type TableMeta } from './table-meta.ts';
import type { TableName } from './tables.ts';

/** Column values by property name. */
export type Values = Record<string, unknown>;

/**
 * The final operation on one row, whatever the database holds:
 * - `patch`: apply `changes` (operands) the ways `hows` says, if the row exists;
 * - `upsert`: the same if the row exists, else insert `insert`. `uniform` means inserting
 *   is the same as applying the changes to nothing (true unless a patch came first), so one
 *   `INSERT ... ON CONFLICT DO UPDATE` does both;
 * - `replace`: delete the row if it exists, then insert `insert`;
 * - `delete`: delete the row if it exists.
 */
export interface Pending {
  readonly kind: 'patch' | 'upsert' | 'replace' | 'delete';
  readonly key: Values;
  /** upsert, replace */
  readonly insert: Values;
  /** patch, upsert */
  readonly changes: Values;
  readonly hows: Readonly<Record<string, Combinator>>;
  readonly uniform: boolean;
}

interface Row {
  kind: Pending['kind'];
  key: Values;
  insert: Values;
  changes: Values;
  hows: Record<string, Combinator>;
  uniform: boolean;
}

export interface RowBatch {
  add(op: RowOp): void;
  /** Rows touched so far, per table, in first-touch order. */
  pending(): ReadonlyMap<TableName, ReadonlyMap<string, Pending>>;
  readonly size: number;
}

const NONE: Values = Object.freeze({}) as Values;

export function createRowBatch(): RowBatch {
  const tables = new Map<TableName, Map<string, Row>>();
  let size = 0;
  return {
    add(op) {
      const meta = tableMeta[op.table];
      let rows = tables.get(op.table);
      if (!rows) tables.set(op.table, (rows = new Map()));
      const id = keyString(meta, op.key as Values);
      let row = rows.get(id);
      if (!row) {
        checkKey(meta, op.key as Values);
        size += 1;
        row = { kind: op.kind, key: keyValues(meta, op.key as Values), insert: NONE, changes: NONE, hows: {}, uniform: true };
        rows.set(id, row);
        if (op.kind === 'delete') return;
        row.changes = {};
        if (op.kind === 'upsert') row.insert = { ...row.key };
        fold(meta, row, op, true, op.kind === 'upsert');
        return;
      }
      if (op.kind === 'delete') {
        Object.assign(row, { kind: 'delete', insert: NONE, changes: NONE, hows: {}, uniform: true });
        return;
      }
      switch (row.kind) {
        case 'delete':
          if (op.kind === 'patch') return; // nothing to patch
          row.kind = 'replace';
          row.insert = { ...row.key };
          fold(meta, row, op, false, true);
          return;
        case 'replace':
          fold(meta, row, op, false, true);
          return;
        case 'patch':
          if (op.kind === 'upsert') {
            // Inserting must not include what the patch changed (it changed nothing if the
            // row was missing), so the insert and the update differ from here on.
            row.kind = 'upsert';
            row.uniform = false;
            row.insert = { ...row.key };
            fold(meta, row, op, true, true);
          } else fold(meta, row, op, true, false);
          return;
        case 'upsert':
          fold(meta, row, op, true, true);
          return;
      }
    },
    pending: () => tables,
    get size() {
      return size;
    },
  };
}

/**
 * Folds the operation's column changes into the row: into its `changes` (one change per
 * column, see `combine`) and/or onto its `insert` values. undefined is how a reducer writes
 * "no value": null.
 */
function fold(meta: TableMeta, row: Row, op: Exclude<RowOp, { kind: 'delete' }>, changes: boolean, insert: boolean): void {
  for (const how of combinators) {
    const given = op[how] as Values | undefined;
    if (!given) continue;
    for (const prop in given) {
      if (!meta.byProp.has(prop)) throw new Error(`${meta.name}: no column ${prop}`);
      if (meta.keyProps.has(prop)) throw new Error(`${meta.name}: key column ${prop} belongs in the key, not the changes`);
      const value = given[prop] ?? null;
      if (changes) combine(meta, row, prop, how, value);
      if (insert) row.insert[prop] = apply(row.insert[prop], how, value);
    }
  }
}

const combinators: readonly Combinator[] = ['set', 'add', 'max', 'setIfNull'];

/** Folds one more change of a column into the row's changes: one change per column. */
function combine(meta: TableMeta, row: Row, prop: string, how: Combinator, value: unknown): void {
  const before = row.hows[prop];
  if (before === undefined || how === 'set') {
    row.hows[prop] = how;
    row.changes[prop] = value;
  } else if (before === 'set' || before === how) {
    // set then x: still a set, of the result; x then x: x of the combined operand.
    row.changes[prop] = apply(row.changes[prop], how, value);
  } else {
    throw new Error(`${meta.name}.${prop}: changed by ${before} and by ${how} in one batch; a column takes one combinator`);
  }
}

/**
 * One change on a known value (a missing column counts as nothing). Also composes two
 * changes of one kind: `add` after `add` is the sum, `max` after `max` the greater,
 * `setIfNull` after `setIfNull` the first.
 */
function apply(current: unknown, how: Combinator, value: unknown): unknown {
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

/** The row's identity within its table: the key's values joined. */
function keyString(meta: TableMeta, key: Values): string {
  const columns = meta.key;
  if (columns.length === 1) return String(key[columns[0]!.prop]);
  let id = String(key[columns[0]!.prop]);
  for (let i = 1; i < columns.length; i++) id += `\u0000${String(key[columns[i]!.prop])}`;
  return id;
}

/** The key must hold exactly the primary-key columns, none null (checked once per row of a batch). */
function checkKey(meta: TableMeta, key: Values): void {
  let count = 0;
  for (const _ in key) count += 1;
  if (count !== meta.key.length) {
    throw new Error(`${meta.name}: key ${JSON.stringify(key)} must hold exactly ${meta.key.map((c) => c.prop).join(', ')}`);
  }
  for (const column of meta.key) {
    const value = key[column.prop];
    if (value === undefined || value === null) throw new Error(`${meta.name}: key column ${column.prop} is missing in ${JSON.stringify(key)}`);
  }
}

/** The key's values in key-column order. */
function keyValues(meta: TableMeta, key: Values): Values {
  const values: Values = {};
  for (const column of meta.key) values[column.prop] = key[column.prop];
  return values;
}
