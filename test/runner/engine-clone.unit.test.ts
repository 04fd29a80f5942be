import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clonePlan, redactUrl, traceLine } from '../../src/runner/clone.ts';

const settings = { retries: 0, skipVerify: false, tags: false };
const url = 'https://git.example.com/octo/hello.git';
const sha = 'a'.repeat(40);

describe('clone plan', () => {
  it('fetches a branch into its remote ref, checks the commit out on that branch, and can fall back to the commit', () => {
    assert.deepEqual(clonePlan({ url, commit: sha, ref: 'refs/heads/main', depth: 50 }, settings), {
      init: [
        ['-c', 'init.defaultBranch=runlog', 'init', '-q'],
        ['remote', 'add', 'origin', url],
      ],
      fetch: ['fetch', '--no-tags', '--depth=50', 'origin', '+refs/heads/main:refs/remotes/origin/main'],
      fallback: ['fetch', '--no-tags', '--depth=50', 'origin', sha],
      checkout: ['checkout', '-q', '-f', '-B', 'main', sha],
    });
  });

  it('checks a tag or a pull request ref out detached, with tags when asked and full depth for 0', () => {
    const tag = clonePlan({ url, commit: sha, ref: 'refs/tags/v1.2', depth: 0 }, { ...settings, tags: true });
    assert.deepEqual(tag.fetch, ['fetch', '--tags', 'origin', '+refs/tags/v1.2:refs/tags/v1.2']);
    assert.deepEqual(tag.checkout, ['checkout', '-q', '-f', sha]);
    const pull = clonePlan({ url, commit: '', ref: 'refs/pull/7/head', depth: 1 }, settings);
    assert.deepEqual(pull.fetch, ['fetch', '--no-tags', '--depth=1', 'origin', '+refs/pull/7/head:refs/pull/7/head']);
    assert.equal(pull.fallback, undefined);
    assert.deepEqual(pull.checkout, ['checkout', '-q', '-f', 'refs/pull/7/head']);
  });

  it('reads a bare ref as a branch, and fetches a lone commit by itself', () => {
    assert.deepEqual(clonePlan({ url, commit: '', ref: 'dev', depth: 0 }, settings).checkout, ['checkout', '-q', '-f', '-B', 'dev', 'refs/remotes/origin/dev']);
    const lone = clonePlan({ url, commit: sha, ref: '', depth: 1 }, settings);
    assert.deepEqual([lone.fetch, lone.checkout], [['fetch', '--no-tags', '--depth=1', 'origin', sha], ['checkout', '-q', '-f', sha]]);
    assert.throws(() => clonePlan({ url, commit: '', ref: '', depth: 0 }, settings), /neither/);
  });

  it('never prints a password from a URL', () => {
    assert.equal(redactUrl('https://bot:hunter2@git.example.com/o/r.git'), 'https://bot:********@git.example.com/o/r.git');
    assert.equal(redactUrl('https://git.example.com/o/r.git'), 'https://git.example.com/o/r.git');
    assert.equal(traceLine(['remote', 'add', 'origin', 'https://u:p@h/r']), '+ git remote add origin https://u:********@h/r\n');
  });
});
