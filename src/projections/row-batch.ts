// Folds a batch's row operations into one final operation per row, in memory, so the writer
// sends each row once however many events touched it (a build's ~25 events become one
// `builds` row). Pure; the writer turns the result into multi-row statements.
import { combinators, type Combinator, type RowOp } from './row-ops.ts';
import { tableMeta, type TableMeta } from './table-meta.ts';
import type { TableName } from './tables.ts';

/** One column's change: how, and the operand. */
export interface Change {
  readonly how: Combinator;
  readonly value: unknown;
}
/** Column changes by property name. */
export type Changes = Record<string, Change>;
/** Known column values by property name (a row to insert). */
export type Values = Record<string, unknown>;

/**
 * The final operation on one row, whatever the database holds:
 * - `patch`: apply `changes` if the row exists;
 * - `upsert`: apply `changes` if the row exists, else insert `insert`. `uniform` means
 *   inserting is the same as applying `changes` to nothing (true unless a patch came
 *   first), so one `INSERT ... ON CONFLICT DO UPDATE` does both;
 * - `replace`: delete the row if it exists, then insert `insert`;
 * - `delete`: delete the row if it exists.
 */
export type Pending =
  | { readonly kind: 'patch'; readonly key: Values; readonly changes: Changes }
  | { readonly kind: 'upsert'; readonly key: Values; readonly insert: Values; readonly changes: Changes; readonly uniform: boolean }
  | { readonly kind: 'replace'; readonly key: Values; readonly insert: Values }
  | { readonly kind: 'delete'; readonly key: Values };

export interface RowBatch {
  add(op: RowOp): void;
  /** Rows touched so far, per table, in first-touch order. */
  pending(): ReadonlyMap<TableName, ReadonlyMap<string, Pending>>;
  readonly size: number;
}

export function createRowBatch(): RowBatch {
  const tables = new Map<TableName, Map<string, Pending>>();
  let size = 0;
  return {
    add(op) {
      const meta = tableMeta[op.table];
      let rows = tables.get(op.table);
      if (!rows) tables.set(op.table, (rows = new Map()));
      const key = keyValues(meta, op.key as Values);
      const id = keyString(meta, key);
      const before = rows.get(id);
      if (!before) size += 1;
      rows.set(id, next(meta, before, op, key));
    },
    pending: () => tables,
    get size() {
      return size;
    },
  };
}

function next(meta: TableMeta, before: Pending | undefined, op: RowOp, key: Values): Pending {
  if (op.kind === 'delete') return { kind: 'delete', key };
  const changes = changesOf(meta, op);
  if (op.kind === 'patch') {
    if (!before) return { kind: 'patch', key, changes };
    switch (before.kind) {
      case 'delete':
        return before;
      case 'patch':
        return { kind: 'patch', key, changes: compose(meta, before.changes, changes) };
      case 'upsert':
        return { ...before, insert: resolve(before.insert, changes), changes: compose(meta, before.changes, changes) };
      case 'replace':
        return { kind: 'replace', key, insert: resolve(before.insert, changes) };
    }
  }
  // upsert
  if (!before) return { kind: 'upsert', key, insert: resolve(key, changes), changes, uniform: true };
  switch (before.kind) {
    case 'delete':
      return { kind: 'replace', key, insert: resolve(key, changes) };
    case 'patch':
      // Inserting must not include what the patch changed (it changed nothing if the row
      // was missing), so the insert and the update differ from here on.
      return { kind: 'upsert', key, insert: resolve(key, changes), changes: compose(meta, before.changes, changes), uniform: false };
    case 'upsert':
      return { ...before, insert: resolve(before.insert, changes), changes: compose(meta, before.changes, changes) };
    case 'replace':
      return { kind: 'replace', key, insert: resolve(before.insert, changes) };
  }
}

/** The key's values in key-column order; every key column must be there, and nothing else. */
function keyValues(meta: TableMeta, key: Values): Values {
  const values: Values = {};
  for (const column of meta.key) {
    const value = key[column.prop];
    if (value === undefined || value === null) throw new Error(`${meta.name}: key column ${column.prop} is missing in ${JSON.stringify(key)}`);
    values[column.prop] = value;
  }
  if (Object.keys(key).length !== meta.key.length) {
    throw new Error(`${meta.name}: key ${JSON.stringify(key)} must hold exactly ${meta.key.map((c) => c.prop).join(', ')}`);
  }
  return values;
}

function keyString(meta: TableMeta, key: Values): string {
  if (meta.key.length === 1) return String(key[meta.key[0]!.prop]);
  let id = '';
  for (const column of meta.key) id += `${String(key[column.prop])}\u0000`;
  return id;
}

function changesOf(meta: TableMeta, op: Exclude<RowOp, { kind: 'delete' }>): Changes {
  const changes: Changes = {};
  for (const how of combinators) {
    const given = op[how] as Values | undefined;
    if (!given) continue;
    for (const prop in given) {
      if (!meta.byProp.has(prop)) throw new Error(`${meta.name}: no column ${prop}`);
      if (meta.key.some((column) => column.prop === prop)) throw new Error(`${meta.name}: key column ${prop} belongs in the key, not the changes`);
      if (changes[prop]) throw new Error(`${meta.name}.${prop}: one operation may change a column one way only`);
      // undefined is how a reducer writes "no value": store null.
      changes[prop] = { how, value: given[prop] ?? null };
    }
  }
  return changes;
}

/** `first` then `then`, as one change per column. */
function compose(meta: TableMeta, first: Changes, then: Changes): Changes {
  const out: Changes = { ...first };
  for (const prop in then) {
    const b = then[prop]!;
    const a = out[prop];
    if (!a || b.how === 'set') out[prop] = b;
    else if (a.how === 'set') out[prop] = { how: 'set', value: apply(a.value, b) };
    else if (a.how === b.how) out[prop] = { how: a.how, value: apply(a.value, b) };
    else throw new Error(`${meta.name}.${prop}: changed by ${a.how} and by ${b.how} in one batch; a column takes one combinator`);
  }
  return out;
}

/** The values after applying `changes` to known values (a missing column counts as nothing). */
function resolve(values: Values, changes: Changes): Values {
  const out: Values = { ...values };
  for (const prop in changes) out[prop] = apply(out[prop], changes[prop]!);
  return out;
}

/**
 * One change on a known value. Also composes two changes of one kind: `add` after `add`
 * is the sum, `max` after `max` the greater, `setIfNull` after `setIfNull` the first.
 */
function apply(current: unknown, change: Change): unknown {
  switch (change.how) {
    case 'set':
      return change.value;
    case 'add':
      return ((current as number | null | undefined) ?? 0) + (change.value as number);
    case 'max':
      return current === null || current === undefined ? change.value : Math.max(current as number, change.value as number);
    case 'setIfNull':
      return current === null || current === undefined ? change.value : current;
  }
}
