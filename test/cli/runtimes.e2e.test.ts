import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startServe, type Runtime } from '../support/serve-process.ts';

const PIPELINE = 'kind: pipeline\nname: default\nsteps:\n- name: test\n  image: alpine\n  commands: [echo hi]\n';

/** The same sources on Node, Bun and Deno: start the embedded server, use the API, read a build back. */
describe('cross-runtime smoke', { concurrency: 3 }, () => {
  for (const runtime of ['node', 'bun', 'deno'] as Runtime[]) {
    test(`runlog serve on ${runtime}: /healthz and a build read back`, async () => {
      const folder = mkdtempSync(join(tmpdir(), `runlog-${runtime}-`));
      const server = await startServe({ runtime, cwd: folder, env: { RUNLOG_ADMIN_TOKEN: 'smoke-token', RUNLOG_ENGINE: 'none' }, timeoutMs: 90_000 });
      try {
        const health = await fetch(`${server.url}/healthz`);
        assert.equal(health.status, 200);
        assert.equal((await health.json()).status, 'ok');
        const headers = { authorization: 'Bearer smoke-token', 'content-type': 'application/json' };
        assert.equal((await fetch(`${server.url}/api/repos/acme/web`, { method: 'POST', headers, body: '{}' })).status, 200);
        const created = await fetch(`${server.url}/api/repos/acme/web/builds`, { method: 'POST', headers, body: JSON.stringify({ config: PIPELINE }) });
        assert.equal(created.status, 200, await created.clone().text());
        const build = await (await fetch(`${server.url}/api/repos/acme/web/builds/1`, { headers })).json();
        assert.equal(build.number, 1);
        assert.equal(build.stages[0].name, 'default');
      } finally {
        await server.stop('SIGTERM');
        rmSync(folder, { recursive: true, force: true });
      }
    });
  }
});
