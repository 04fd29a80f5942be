// The head cache of the event store: bounded, least recently used first out, never moved
// back by a read that raced an append.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHeadCache } from '../../src/events/head-cache.ts';

const head = (streamVersion: number, hash = `h${streamVersion}`) => ({ streamVersion, hash });

describe('head cache', () => {
  it('remembers heads and forgets them on request', () => {
    const heads = createHeadCache(10);
    assert.equal(heads.get('a'), undefined);
    heads.remember('a', head(1));
    heads.remember('a', head(2));
    assert.deepEqual(heads.get('a'), head(2));
    heads.forget('a');
    assert.equal(heads.get('a'), undefined);
  });

  it('keeps the newer head when an older one arrives late, and takes a same-version one (a re-read)', () => {
    const heads = createHeadCache(10);
    heads.remember('a', head(5));
    heads.remember('a', head(4));
    assert.deepEqual(heads.get('a'), head(5));
    heads.remember('a', head(5, 'other'));
    assert.deepEqual(heads.get('a'), head(5, 'other'));
  });

  it('holds at most its capacity, dropping the least recently used', () => {
    const heads = createHeadCache(2);
    heads.remember('a', head(1));
    heads.remember('b', head(1));
    heads.get('a');
    heads.remember('c', head(1));
    assert.deepEqual(heads.get('a'), head(1), 'used recently, kept');
    assert.equal(heads.get('b'), undefined, 'least recently used, dropped');
    assert.deepEqual(heads.get('c'), head(1));
  });

  it('copies what it is given, and refuses a capacity that is not a positive integer', () => {
    const heads = createHeadCache(1);
    const given = { ...head(1), extra: 'not kept' };
    heads.remember('a', given);
    assert.deepEqual(heads.get('a'), head(1));
    assert.throws(() => createHeadCache(0), { name: 'TypeError', message: /capacity >= 1, got 0/ });
    assert.throws(() => createHeadCache(1.5), TypeError);
  });
});
