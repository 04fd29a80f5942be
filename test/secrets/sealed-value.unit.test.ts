import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { secretsForTrigger } from '../../src/secrets/build-secrets.ts';
import { newSecretKeyText, parseSecretKey, seal, unseal } from '../../src/secrets/sealed-value.ts';

const key = parseSecretKey(newSecretKeyText());
const other = parseSecretKey(Buffer.alloc(32, 7).toString('base64'));

test('property: a sealed value opens with its key and context only, and never shows the value', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.string({ maxLength: 40 }), (value, context) => {
      const sealed = seal(key, value, context);
      assert.equal(unseal(key, sealed, context), value);
      assert.equal(unseal(other, sealed, context), undefined);
      assert.equal(unseal(key, sealed, `${context}x`), undefined);
      if (value.length >= 4) assert.ok(!sealed.includes(value));
    }),
  );
});

test('property: unseal never throws on garbage', () => {
  fc.assert(fc.property(fc.string(), (text) => void unseal(key, text, 'c')));
});

test('a key is 64 hex characters or base64 of 32 bytes; anything else says what it needs', () => {
  assert.equal(parseSecretKey('ab'.repeat(32)).bytes.length, 32);
  assert.equal(parseSecretKey(Buffer.alloc(32, 1).toString('base64')).bytes.length, 32);
  assert.throws(() => parseSecretKey('short'), /64 hex characters or base64/);
  assert.throws(() => parseSecretKey('zz'.repeat(32)), /RUNLOG_SECRET_KEY/);
});

test('pull requests get only pull_request secrets (forks or not); other events get all', () => {
  const all = [{ name: 'a', sealed: '', pullRequest: false }, { name: 'b', sealed: '', pullRequest: true }];
  assert.deepEqual(secretsForTrigger(all, { event: 'pull_request', fork: 'x/y' }).map((s) => s.name), ['b']);
  assert.deepEqual(secretsForTrigger(all, { event: 'pull_request', fork: '' }).map((s) => s.name), ['b']);
  for (const event of ['push', 'tag', 'cron', 'custom', 'promote'] as const) assert.deepEqual(secretsForTrigger(all, { event, fork: '' }).map((s) => s.name), ['a', 'b']);
});
