import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRowBatch } from '../../src/projections/row-batch.ts';
import { patch, remove, upsert, type RowOp } from '../../src/projections/row-ops.ts';
import { applyOps, applyPending, type MemoryTables } from './memory-tables.ts';
import { consistent, rowOp } from './row-ops-arbitrary.ts';

const fold = (ops: RowOp[]) => {
  const batch = createRowBatch();
  ops.forEach((op) => batch.add(op));
  return batch;
};
const copy = (tables: MemoryTables): MemoryTables => new Map([...tables].map(([name, rows]) => [name, new Map([...rows].map(([k, r]) => [k, { ...r }]))]));

describe('row batch (folding a batch’s operations per row)', () => {
  it('a build’s patches fold into its upsert: one row to insert', () => {
    const batch = fold([
      upsert('repoCounters', { repoId: 'r' }, { max: { lastNumber: 3 }, add: { builds: 1 } }),
      upsert('repoCounters', { repoId: 'r' }, { max: { lastNumber: 2 }, add: { builds: 1 } }),
      upsert('repoCounters', { repoId: 'r' }, { max: { lastNumber: 5 }, add: { builds: 1 } }),
    ]);
    assert.equal(batch.size, 1);
    assert.deepEqual([...batch.pending().get('repoCounters')!.values()], [
      {
        kind: 'upsert',
        key: { repoId: 'r' },
        insert: { repoId: 'r', lastNumber: 5, builds: 3 },
        changes: { lastNumber: 5, builds: 3 },
        hows: { lastNumber: 'max', builds: 'add' },
        uniform: true,
      },
    ]);
  });

  it('delete then upsert replaces; patch then delete deletes; a patch after a delete is nothing', () => {
    const key = { buildId: 'b', stage: 1 };
    const p = fold([remove('queue', key), upsert('queue', key, { set: { attempt: 2 } }), patch('queue', key, { set: { attempt: 3 } })]).pending();
    assert.deepEqual([...p.get('queue')!.values()].map(({ kind, insert }) => ({ kind, insert })), [{ kind: 'replace', insert: { ...key, attempt: 3 } }]);
    const q = fold([patch('queue', key, { set: { attempt: 3 } }), remove('queue', key), patch('queue', key, { set: { attempt: 4 } })]).pending();
    assert.deepEqual([...q.get('queue')!.values()].map(({ kind, key }) => ({ kind, key })), [{ kind: 'delete', key }]);
  });

  it('refuses two combinators on one column, a key column among the changes, and a partial key', () => {
    assert.throws(() => fold([patch('repoCounters', { repoId: 'r' }, { add: { builds: 1 } }), patch('repoCounters', { repoId: 'r' }, { max: { builds: 1 } })]), /one combinator/);
    assert.throws(() => fold([patch('repoCounters', { repoId: 'r' }, { set: { repoId: 'x' } })]), /key column/);
    assert.throws(() => fold([remove('queue', { buildId: 'b' })]), /must hold exactly buildId, stage/);
    assert.throws(() => fold([remove('queue', { buildId: 'b', stage: undefined! })]), /key column stage is missing/);
  });

  it('property: applying the folded batch equals applying every operation in order, from any starting rows', () => {
    fc.assert(
      fc.property(fc.array(rowOp, { maxLength: 12 }), fc.array(rowOp, { maxLength: 30 }), (setup, ops) => {
        const start = applyOps(new Map(), consistent(setup));
        const valid = consistent(ops);
        const expected = applyOps(copy(start), valid);
        const got = applyPending(copy(start), fold(valid).pending());
        assert.deepEqual(got, expected);
      }),
      { numRuns: 2000 },
    );
  });
});
