import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildOptions } from '../../src/runner/docker/image-build.ts';

describe('the image build request', () => {
  test('never asks the daemon to pull, tags the first tag, labels the image', () => {
    const options = buildOptions({ context: '.', dockerfile: 'Dockerfile', repo: 'r:5000/a/b', tags: ['abc', 'latest'], push: true }, { 'runlog.build': 'x' });
    assert.equal(options.pull, false);
    assert.equal(options.t, 'r:5000/a/b:abc');
    assert.deepEqual(options.labels, { 'runlog.build': 'x' });
  });
});
