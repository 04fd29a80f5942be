import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson } from '../../src/events/canonical-json.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth and leaves no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } }), '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('orders integer-like keys as strings, not in JS object order', () => {
    // A JS object iterates "2" before "10"; canonical order is by code units.
    assert.equal(canonicalJson({ b: 0, 2: 0, 10: 0 }), '{"10":0,"2":0,"b":0}');
  });

  it('gives the same string for the same value built in any key order', () => {
    assert.equal(canonicalJson({ x: 1, y: [1, 2] }), canonicalJson({ y: [1, 2], x: 1 }));
  });

  it('escapes and formats like JSON.stringify', () => {
    assert.equal(canonicalJson('a"b\\c\n\u2028é'), JSON.stringify('a"b\\c\n\u2028é'));
    assert.equal(canonicalJson([1e21, -0, 0.1, 5e-324]), '[1e+21,0,0.1,5e-324]');
    assert.equal(canonicalJson([NaN, Infinity]), '[null,null]');
  });

  it('drops undefined members from objects and writes null for them in arrays', () => {
    assert.equal(canonicalJson({ a: undefined, b: () => 1, c: null }), '{"c":null}');
    assert.equal(canonicalJson([undefined, () => 1]), '[null,null]');
  });

  it('honours toJSON, as the stored JSON did', () => {
    assert.equal(canonicalJson({ at: new Date(Date.UTC(2026, 0, 2)) }), '{"at":"2026-01-02T00:00:00.000Z"}');
  });

  it('refuses bigint, cycles and a top-level value JSON cannot hold', () => {
    assert.throws(() => canonicalJson({ n: 1n }), TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), /cycle/);
    assert.throws(() => canonicalJson(undefined), TypeError);
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { k: 1 };
    assert.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"k":1},"b":{"k":1}}');
  });

  it('means the same value as JSON.stringify, and is stable through a round trip', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const canonical = canonicalJson(value);
        assert.deepEqual(JSON.parse(canonical), JSON.parse(JSON.stringify(value)));
        assert.equal(canonicalJson(JSON.parse(canonical)), canonical);
      }),
    );
  });
});
