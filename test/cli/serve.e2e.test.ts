import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startServe } from '../support/serve-process.ts';

const PIPELINE = 'kind: pipeline\ntype: docker\nname: default\nsteps:\n- name: test\n  image: alpine\n  commands: [echo hi]\n';

describe('runlog serve (embedded, real process)', () => {
  const folder = mkdtempSync(join(tmpdir(), 'runlog-serve-'));
  after(() => rmSync(folder, { recursive: true, force: true }));

  test('on a fresh folder: creates its data and token, keeps builds and events across a restart', async () => {
    const first = await startServe({ cwd: folder, env: { RUNLOG_ADMIN_TOKEN: '', RUNLOG_ENGINE: 'none' } });
    assert.equal(statSync(join(folder, '.runlog', 'admin-token')).mode & 0o777, 0o600);
    const headers = { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' };
    assert.equal((await fetch(`${first.url}/api/repos/acme/web`, { method: 'POST', headers, body: '{}' })).status, 200);
    const created = await fetch(`${first.url}/api/repos/acme/web/builds?branch=main`, { method: 'POST', headers, body: JSON.stringify({ config: PIPELINE }) });
    assert.equal(created.status, 200);
    const build = await created.json();
    const events = await (await fetch(`${first.url}/api/repos/acme/web/builds/${build.number}/events`, { headers })).json();
    assert.equal(await first.stop('SIGINT'), 0, first.output());

    const second = await startServe({ cwd: folder, env: { RUNLOG_ADMIN_TOKEN: '', RUNLOG_ENGINE: 'none' } });
    try {
      assert.equal(second.token, first.token, 'the saved token is reused');
      const again = await (await fetch(`${second.url}/api/repos/acme/web/builds/${build.number}`, { headers })).json();
      assert.equal(again.number, build.number);
      assert.equal(again.status, build.status);
      assert.deepEqual(await (await fetch(`${second.url}/api/repos/acme/web/builds/${build.number}/events`, { headers })).json(), events);
      const next = await (await fetch(`${second.url}/api/repos/acme/web/builds`, { method: 'POST', headers, body: JSON.stringify({ config: PIPELINE }) })).json();
      assert.equal(next.number, build.number + 1, 'numbering continues after the restart');
    } finally {
      assert.equal(await second.stop('SIGTERM'), 0, second.output());
    }
  });
});
