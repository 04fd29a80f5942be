import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import type { BuildEvent } from '../../src/events/build-events.ts';
import { openPostgres, type Database } from '../../src/events/database.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { builds } from '../../src/projections/tables.ts';
import { readBuild } from '../../src/server/command-handler.ts';
import { startServer, type RunningServer } from '../../src/server/runtime.ts';
import { dockerSocket, testDocker, TEST_IMAGE } from '../support/docker.ts';
import { freshDatabaseUrl } from '../support/postgres.ts';

// Restart from a step with `runlog serve`'s parts (embedded runner, in-process queue) on
// real Postgres and Docker: the failed stage's workspace is kept; a restart from the failed
// step runs on it (the step before is not run again, its file is still there); once the
// workspace expired, a restart runs the stage whole. The events say which path was taken.
const TOKEN = 'restart-step-admin-token';

// `make` appends a line to made.txt on every run; `check` prints how many lines there are
// and fails the first time it sees no `fixed` file (creating it), so a run on the kept
// workspace passes and a fresh one fails again.
const PIPELINE = `kind: pipeline
type: docker
name: default
clone:
  disable: true
steps:
- name: make
  image: ${TEST_IMAGE}
  pull: never
  commands:
  - echo made >> made.txt
- name: check
  image: ${TEST_IMAGE}
  pull: never
  commands:
  - echo "lines=$(wc -l < made.txt)"
  - test -f fixed || { touch fixed; exit 1; }
`;

type Harness = { server: RunningServer; database: Database; call: (method: string, path: string, body?: unknown) => Promise<{ status: number; json: any }> };

async function harness(retentionMs: number): Promise<Harness> {
  process.env.DOCKER_HOST = `unix://${dockerSocket}`;
  const database = await openPostgres(await freshDatabaseUrl('runlog_restart'));
  const server = await startServer({
    database,
    adminToken: TOKEN,
    port: 0,
    hostname: '127.0.0.1',
    embeddedRunner: { engine: 'docker', capacity: 1, name: `restart-${randomBytes(4).toString('hex')}`, workspaceRetentionMs: retentionMs },
    log: () => {},
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };
  assert.equal((await call('POST', '/api/repos/acme/web', {})).status, 200);
  return { server, database, call };
}

async function finished(h: Harness, number: number, timeoutMs = 60_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await h.call('GET', `/api/repos/acme/web/builds/${number}`);
    if (json?.finished) return json;
    if (Date.now() > until) throw new Error(`build #${number} did not finish: ${JSON.stringify(json)}`);
    await sleep(200);
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function eventsOf(h: Harness, number: number): Promise<BuildEvent[]> {
  const [row] = await h.database.db.select({ id: builds.id }).from(builds).where(eq(builds.number, number));
  return (await readBuild(createEventStore(h.database), row!.id)).events;
}

async function logOf(h: Harness, number: number, step: number): Promise<string> {
  const { json } = await h.call('GET', `/api/repos/acme/web/builds/${number}/logs/1/${step}`);
  return (json as Array<{ out: string }>).map((line) => line.out).join('');
}

async function failedFirstBuild(h: Harness): Promise<void> {
  const created = await h.call('POST', '/api/repos/acme/web/builds?branch=main', { config: PIPELINE });
  assert.equal(created.status, 200, JSON.stringify(created.json));
  assert.equal((await finished(h, 1)).status, 'failure');
}

describe('restart from a step (embedded runner, Postgres, Docker)', async () => {
  const docker = await testDocker();

  describe('with the workspace kept', { skip: docker.skip }, () => {
    let h: Harness;
    before(async () => {
      h = await harness(10 * 60_000);
    });
    after(async () => {
      await h?.server.close();
    });

    test('runs the failed step on the kept workspace: the step before is not run again and its file is there', async () => {
      await failedFirstBuild(h);
      // Given the runner reports the failed stage's workspace as kept
      let runners: any[] = [];
      await waitFor(async () => {
        runners = (await h.call('GET', '/api/runners')).json;
        return runners[0]?.workspaces?.length > 0;
      }, 'the workspace to be kept');
      assert.equal(runners.length, 1);
      assert.equal(runners[0].engine, 'docker');
      assert.equal(runners[0].workspaces.length, 1, JSON.stringify(runners));
      assert.equal(runners[0].workspaces[0].stage, 1);
      assert.ok(runners[0].workspaces[0].expires_at > Date.now() / 1000);

      // When it is restarted from step 'check' of stage 'default'
      const restarted = await h.call('POST', '/api/repos/acme/web/builds/1/restart?stage=default&step=check');
      assert.equal(restarted.status, 200, JSON.stringify(restarted.json));
      assert.equal(restarted.json.number, 2);
      assert.equal(restarted.json.parent, 1);
      const build = await finished(h, 2);

      // Then it passes: `check` found `fixed` and the one line `make` wrote in build #1
      assert.equal(build.status, 'success');
      assert.match(await logOf(h, 2, 2), /lines=1\b/);
      const events = await eventsOf(h, 2);
      const created = events.find((e) => e.type === 'BuildCreated')!;
      assert.equal(created.type === 'BuildCreated' && created.data.restart?.workspace?.runner.id, runners[0].id);
      const resumed = events.find((e) => e.type === 'StageResumed');
      assert.deepEqual(resumed && { fromStep: resumed.data.fromStep, workspace: resumed.data.workspace }, { fromStep: 2, workspace: 'kept' });
      const skipped = events.find((e) => e.type === 'StepSkipped' && e.data.step === 1);
      assert.equal(skipped?.type === 'StepSkipped' && skipped.data.reason.condition, 'resume');
      assert.ok(!events.some((e) => e.type === 'StepStarted' && e.data.step === 1), 'make did not run again');
    });

    test('refuses what it cannot restart, with a 4xx that says why', async () => {
      const unknownStage = await h.call('POST', '/api/repos/acme/web/builds/1/restart?stage=nope&step=check');
      assert.equal(unknownStage.status, 404);
      assert.match(unknownStage.json.message, /no stage 'nope'.*1 default/);
      const noStep = await h.call('POST', '/api/repos/acme/web/builds/1/restart?stage=1');
      assert.equal(noStep.status, 400);
      assert.match(noStep.json.message, /^step: required/);
      const unknownStep = await h.call('POST', '/api/repos/acme/web/builds/1/restart?stage=1&step=9');
      assert.equal(unknownStep.status, 404);
      assert.equal((await h.call('POST', '/api/repos/acme/web/builds/99/restart?stage=1&step=1')).status, 404);
    });
  });

  describe('after the workspace expired', { skip: docker.skip }, () => {
    let h: Harness;
    before(async () => {
      h = await harness(1000);
    });
    after(async () => {
      await h?.server.close();
    });

    test('runs the stage whole, and the events say the workspace was fresh', async () => {
      await failedFirstBuild(h);
      // The workspace is kept once the stage's containers are gone, then expires a second later.
      const workspaces = async () => ((await h.call('GET', '/api/runners')).json[0]?.workspaces ?? []) as unknown[];
      await waitFor(async () => (await workspaces()).length === 1, 'the workspace to be kept');
      await waitFor(async () => (await workspaces()).length === 0, 'the workspace to expire');

      const restarted = await h.call('POST', '/api/repos/acme/web/builds/1/restart?stage=1&step=2');
      assert.equal(restarted.status, 200, JSON.stringify(restarted.json));
      const build = await finished(h, 2);

      // A fresh workspace: `make` ran again (one line, not two) and `check` failed again
      assert.equal(build.status, 'failure');
      assert.match(await logOf(h, 2, 2), /lines=1\b/);
      const events = await eventsOf(h, 2);
      const created = events.find((e) => e.type === 'BuildCreated')!;
      assert.equal(created.type === 'BuildCreated' && created.data.restart?.workspace, undefined);
      const resumed = events.find((e) => e.type === 'StageResumed');
      assert.deepEqual(resumed && { fromStep: resumed.data.fromStep, workspace: resumed.data.workspace }, { fromStep: 1, workspace: 'fresh' });
      assert.ok(events.some((e) => e.type === 'StepFinished' && e.data.step === 1 && e.data.status === 'success'), 'make ran again');
    });
  });
});
