import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dependenciesPast, findCycle, topologicalOrder } from '../../src/pipeline/dag.ts';

const graph = (edges: Record<string, string[]>) => (name: string) => edges[name] ?? [];

describe('dag', () => {
  test('findCycle: none in a DAG, the path of one otherwise', () => {
    assert.equal(findCycle(['a', 'b', 'c'], graph({ b: ['a'], c: ['a', 'b'] })), undefined);
    assert.deepEqual(findCycle(['a', 'b', 'c'], graph({ a: ['c'], b: ['a'], c: ['b'] })), ['a', 'c', 'b', 'a']);
    assert.equal(findCycle(['a'], graph({ a: ['missing'] })), undefined);
  });

  test('topologicalOrder: dependencies first, written order among equals', () => {
    assert.deepEqual(topologicalOrder(['d', 'c', 'b', 'a'], graph({ d: ['a'], c: ['b'] })), ['b', 'c', 'a', 'd']);
    assert.deepEqual(topologicalOrder(['x', 'y'], graph({})), ['x', 'y']);
  });

  test('dependenciesPast: skipped dependencies are replaced by theirs (Drone dag.Dependencies)', () => {
    const edges = graph({ b: ['a'], c: ['b'], d: ['c', 'a'] });
    const known = new Set(['a', 'b', 'c', 'd']);
    assert.deepEqual(dependenciesPast('d', edges, (n) => n === 'c' || n === 'b', known), ['a']);
    assert.deepEqual(dependenciesPast('c', edges, (n) => n === 'b', known), ['a']);
    assert.deepEqual(dependenciesPast('c', edges, () => false, known), ['b']);
    assert.deepEqual(dependenciesPast('c', edges, (n) => n !== 'c', known), []);
  });
});
