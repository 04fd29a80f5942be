import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Lit, parseFile } from '../../src/pipeline/parse.ts';

describe('parse: YAML 1.1 as go-yaml v2 reads it', () => {
  test('typed scalars keep the text they were written as', () => {
    const [doc] = parseFile('a: 1.10\nb: yes\nc: 0755\nd: "1.0"\ne: text\n').documents;
    const value = doc.value as Record<string, unknown>;
    assert.deepEqual(value.a, new Lit(1.1, '1.10'));
    assert.deepEqual(value.b, new Lit(true, 'yes'));
    assert.deepEqual(value.c, new Lit(493, '0755'));
    assert.equal(value.d, '1.0');
    assert.equal(value.e, 'text');
  });

  test('a timestamp stays the text it was written as', () => {
    const [doc] = parseFile('date: 2001-12-14\n').documents;
    assert.deepEqual(doc.value, { date: '2001-12-14' });
  });

  test('merge keys: later keys override the merge, earlier maps of a merge list win', () => {
    const [doc] = parseFile('a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  y: 3\n').documents;
    const c = (doc.value as Record<string, Record<string, Lit>>).c;
    assert.deepEqual(Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.source])), { x: '1', z: '2', y: '3' });
  });

  test('an aliased map is a fresh copy at each use', () => {
    const [doc] = parseFile('a: &a {x: 1}\nb: *a\n').documents;
    const value = doc.value as Record<string, object>;
    assert.notEqual(value.a, value.b);
    assert.deepEqual(value.a, value.b);
  });

  test('__proto__ is an ordinary key', () => {
    const [doc] = parseFile('__proto__: {polluted: true}\n').documents;
    assert.ok(Object.prototype.hasOwnProperty.call(doc.value, '__proto__'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('documents are numbered; a syntax error leaves its document out with a finding', () => {
    const { documents, findings } = parseFile('a: 1\n---\nb: [\n---\nc: 3\n');
    assert.deepEqual(documents.map((d) => d.index), [0, 2]);
    assert.equal(findings.length, 1);
    assert.equal(findings[0].document, 1);
  });

  test('positions: values, keys, list items, and the nearest node for a path that goes further', () => {
    const [doc] = parseFile('kind: pipeline\nsteps:\n- name: a\n  image: x\n').documents;
    assert.deepEqual(doc.at(['steps', 0, 'image']), { document: 0, line: 4, column: 10 });
    assert.deepEqual(doc.at(['steps', 0, 'image'], 'key'), { document: 0, line: 4, column: 3 });
    assert.deepEqual(doc.at(['steps', 0]), { document: 0, line: 3, column: 3 });
    assert.deepEqual(doc.at(['steps', 0, 'commands', 3]), { document: 0, line: 3, column: 3 });
    assert.deepEqual(doc.at([]), { document: 0, line: 1, column: 1 });
  });

  test('a merged key points where it was written, in the anchored block', () => {
    const [doc] = parseFile('x: &d\n  image: golang\nsteps:\n- name: a\n  <<: *d\n').documents;
    assert.deepEqual(doc.at(['steps', 0, 'image']), { document: 0, line: 2, column: 10 });
  });

  test('an alias bomb is a finding, not an out-of-memory', () => {
    const levels = 'bcdefghij'.split('');
    const text = ['a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]', ...levels.map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefghij'[i]}`).join(', ')}]`)].join('\n');
    const { documents, findings } = parseFile(text);
    assert.equal(documents.length, 0);
    assert.match(findings[0].message, /^document too large/);
  });
});
