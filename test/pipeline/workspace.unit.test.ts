import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { restrictedWorkspace, workspaceOf } from '../../src/pipeline/workspace.ts';

describe('workspace (drone-runner-docker createWorkspace)', () => {
  const rows: Array<[{ base?: string; path?: string } | undefined, string, { base: string; path: string; relative: string }]> = [
    [undefined, 'linux', { base: '/drone/src', path: '/drone/src', relative: '' }],
    [{ path: '/go/src/app' }, 'linux', { base: '/go/src/app', path: '/go/src/app', relative: '' }],
    [{ path: 'src/app' }, 'linux', { base: '/drone/src', path: '/drone/src/src/app', relative: 'src/app' }],
    [{ base: '/go', path: 'src/app' }, 'linux', { base: '/go', path: '/go/src/app', relative: 'src/app' }],
    [{ base: '/drone', path: 'src' }, 'windows', { base: 'c:\\drone', path: 'c:\\drone\\src', relative: 'src' }],
    [{ path: '/proc/self' }, 'linux', { base: '/drone/src', path: '/drone/src', relative: '' }],
    [{ base: '/', path: 'etc' }, 'linux', { base: '/drone/src', path: '/drone/src', relative: '' }],
  ];
  for (const [spec, os, want] of rows) test(`${JSON.stringify(spec)} on ${os}`, () => assert.deepEqual(workspaceOf(spec, os), want));

  test('restricted: system directories, not look-alikes', () => {
    assert.equal(restrictedWorkspace({ path: '/var/run/docker' }), true);
    assert.equal(restrictedWorkspace({ path: '/' }), true);
    assert.equal(restrictedWorkspace({ path: '/binaries' }), false);
    assert.equal(restrictedWorkspace({ path: 'bin' }), false);
    assert.equal(restrictedWorkspace(undefined), false);
  });
});
