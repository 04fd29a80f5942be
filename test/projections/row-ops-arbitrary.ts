// Random row operations on the `steps` table for property tests: every combinator on a
// small key space, so the same rows are hit by many operations of one batch. Upserts always
// carry the NOT NULL columns without default (name, status), so the database accepts them.
import fc from 'fast-check';
import type { RowOp } from '../../src/projections/row-ops.ts';

export const BUILD_A = '00000000-0000-4000-8000-00000000000a';
export const BUILD_B = '00000000-0000-4000-8000-00000000000b';

const key = fc.record({ buildId: fc.constantFrom(BUILD_A, BUILD_B), stage: fc.constant(1), number: fc.integer({ min: 1, max: 3 }) });
const time = fc.integer({ min: 0, max: 5 }).map((s) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)));

/** One combinator per column, as reducers must: exitCode set|add, retries set|max, started set|setIfNull, status set. */
const changes = fc
  .record(
    {
      status: fc.constantFrom('pending', 'running', 'success'),
      exitCode: fc.tuple(fc.constantFrom('set', 'add'), fc.integer({ min: 0, max: 9 })),
      retries: fc.tuple(fc.constantFrom('set', 'max'), fc.integer({ min: 0, max: 9 })),
      started: fc.tuple(fc.constantFrom('set', 'setIfNull'), fc.option(time, { nil: null })),
    },
    { requiredKeys: [] },
  )
  .map((picked) => {
    const out: Record<string, Record<string, unknown>> = {};
    const put = (how: string, prop: string, value: unknown) => ((out[how] ??= {})[prop] = value);
    if (picked.status !== undefined) put('set', 'status', picked.status);
    if (picked.exitCode) put(picked.exitCode[0], 'exitCode', picked.exitCode[1]);
    if (picked.retries) put(picked.retries[0], 'retries', picked.retries[1]);
    if (picked.started) put(picked.started[0], 'started', picked.started[1]);
    return out;
  });

export const rowOp: fc.Arbitrary<RowOp> = fc.oneof(
  fc.tuple(key, changes, fc.constantFrom('build', 'test')).map(
    ([k, c, name]) => ({ kind: 'upsert', table: 'steps', key: k, ...c, set: { ...c.set, name, status: (c.set?.status as string) ?? 'pending' } }) as RowOp,
  ),
  fc.tuple(key, changes).map(([k, c]) => ({ kind: 'patch', table: 'steps', key: k, ...c }) as RowOp),
  key.map((k) => ({ kind: 'delete', table: 'steps', key: k }) as RowOp),
);

/** Ops of one column combinator kind must not mix within a batch; this sorts a sequence into a valid one by column kind. */
export function consistent(ops: readonly RowOp[]): RowOp[] {
  const how = new Map<string, string>();
  return ops.filter((op) => {
    if (op.kind === 'delete') return true;
    for (const combinator of ['add', 'max', 'setIfNull'] as const) {
      for (const prop of Object.keys((op as unknown as Record<string, Record<string, unknown> | undefined>)[combinator] ?? {})) {
        const id = `${JSON.stringify(op.key)}.${prop}`;
        if ((how.get(id) ?? combinator) !== combinator) return false;
        how.set(id, combinator);
      }
    }
    return true;
  });
}
