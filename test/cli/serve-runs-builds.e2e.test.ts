import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { startServe, type ServeProcess } from '../support/serve-process.ts';

const DOCKER_PIPELINE = `kind: pipeline
type: docker
name: default
clone:
  disable: true
steps:
- name: greet
  image: runlog-test/busybox:latest
  pull: never
  commands:
  - echo "hello from $DRONE_STEP_NAME"
- name: check
  image: runlog-test/busybox:latest
  pull: never
  commands:
  - test "$DRONE_BUILD_NUMBER" = 1
`;

const EXEC_PIPELINE = `kind: pipeline
type: exec
name: default
clone:
  disable: true
steps:
- name: greet
  commands:
  - echo "hello from $DRONE_STEP_NAME"
- name: fail
  commands:
  - exit 3
- name: after
  commands:
  - echo never
`;

async function waitForEnd(server: ServeProcess, headers: Record<string, string>, number: number) {
  for (let i = 0; i < 600; i++) {
    const build = await (await fetch(`${server.url}/api/repos/acme/web/builds/${number}`, { headers })).json();
    if (!['pending', 'running'].includes(build.status)) return build;
    await sleep(100);
  }
  throw new Error(`build ${number} did not end; output:\n${server.output()}`);
}

describe('runlog serve runs builds with its built-in runner', { concurrency: 2 }, () => {
  for (const [engine, pipeline, expected] of [
    ['docker', DOCKER_PIPELINE, { status: 'success', steps: ['success', 'success'] }],
    ['exec', EXEC_PIPELINE, { status: 'failure', steps: ['success', 'failure', 'skipped'] }],
  ] as const) {
    test(`${engine} engine: the build ends ${expected.status}, steps and logs are recorded`, async () => {
      const folder = mkdtempSync(join(tmpdir(), `runlog-serve-${engine}-`));
      const server = await startServe({ cwd: folder, env: { RUNLOG_ADMIN_TOKEN: 'e2e', RUNLOG_ENGINE: engine } });
      try {
        assert.match(server.output(), new RegExp(`runner: ${engine}`));
        const headers = { authorization: 'Bearer e2e', 'content-type': 'application/json' };
        assert.equal((await fetch(`${server.url}/api/repos/acme/web`, { method: 'POST', headers, body: '{}' })).status, 200);
        const created = await fetch(`${server.url}/api/repos/acme/web/builds`, { method: 'POST', headers, body: JSON.stringify({ config: pipeline }) });
        assert.equal(created.status, 200, await created.clone().text());
        const build = await waitForEnd(server, headers, 1);
        assert.equal(build.status, expected.status, JSON.stringify(build, null, 1));
        assert.deepEqual(
          build.stages[0].steps.map((step: { status: string }) => step.status),
          expected.steps,
        );
        const log = await (await fetch(`${server.url}/api/repos/acme/web/builds/1/logs/1/1`, { headers })).json();
        assert.ok(
          log.some((line: { out: string }) => line.out.includes('hello from greet')),
          JSON.stringify(log),
        );
        const events = (await (await fetch(`${server.url}/api/repos/acme/web/builds/1/events`, { headers })).json()).map((e: { type: string }) => e.type);
        for (const type of ['BuildCreated', 'StageQueued', 'StageClaimed', 'StageStarted', 'StepStarted', 'StepFinished', 'StageFinished', 'BuildFinished']) {
          assert.ok(events.includes(type), `${type} in ${events.join(', ')}`);
        }
      } finally {
        assert.equal(await server.stop('SIGTERM'), 0, server.output());
        rmSync(folder, { recursive: true, force: true });
      }
    });
  }
});
