import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { adminHeaders, execPipeline, startApiServer, type ApiServer } from '../support/api-server.ts';

// A real client written by others: drone-node, Drone's own Node client, against runlog.
// It sends what Drone's server expects (form bodies for branch/commit/target, DELETE
// /api/queue to pause, per-stage approve), so whatever runlog does differently breaks here.
type Json = Record<string, any>;
const { Client } = createRequire(import.meta.url)('drone-node') as { Client: new (config: { url: string; token: string }) => Record<string, (...args: unknown[]) => Promise<any>> };

const TOKEN = 'drone-node-admin-token';

describe('drone-node (Drone\'s Node client) against runlog', () => {
  let server: ApiServer;
  let drone: ReturnType<typeof client>;
  const client = () => new Client({ url: `http://127.0.0.1:${server.port}`, token: TOKEN });

  before(async () => {
    server = await startApiServer({ postgres: 'runlog_drone_node', adminToken: TOKEN });
    drone = client();
    await drone.enableRepo('acme', 'web');
    // drone-node cannot send a config (Drone reads it from the forge): the first build comes over plain HTTP.
    const created = await fetch(`${server.url}/api/repos/acme/web/builds?branch=main`, {
      method: 'POST',
      headers: adminHeaders(TOKEN),
      body: JSON.stringify({ config: execPipeline('echo hello from runlog') }),
    });
    assert.equal(created.status, 200, await created.clone().text());
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await drone.getBuild('acme', 'web', 1)).finished === 0) await new Promise((resolve) => setTimeout(resolve, 100));
  });
  after(() => server.close());

  test('lists repos (the admin\'s list and the user\'s) and reads one', async () => {
    const all: Json[] = await drone.getRepos();
    assert.deepEqual(all.map((r) => r.slug), ['acme/web']);
    const mine: Json[] = await drone.selfRepos({});
    assert.ok(mine.some((r) => r.slug === 'acme/web'));
    const repo: Json = await drone.getRepo('acme', 'web');
    assert.equal(repo.namespace, 'acme');
    assert.equal(repo.active, true);
    const updated: Json = await drone.updateRepo('acme', 'web', { timeout: 30, visibility: 'internal' });
    assert.equal(updated.timeout, 30);
    assert.equal(updated.visibility, 'internal');
  });

  test('lists builds, reads a build, the latest build and its logs', async () => {
    const builds: Json[] = await drone.getBuilds('acme', 'web', 1, 25);
    assert.deepEqual(builds.map((b) => b.number), [1]);
    const build: Json = await drone.getBuild('acme', 'web', 1);
    assert.equal(build.status, 'success');
    assert.equal(build.stages[0].steps[0].name, 'hello');
    const latest: Json = await drone.latestBuild('acme', 'web', { branch: 'main' });
    assert.equal(latest.number, 1);
    const logs: Json[] = await drone.getLogs('acme', 'web', 1, 1, 1);
    assert.ok(logs.some((line) => /hello from runlog/.test(line.out)), JSON.stringify(logs));
    assert.deepEqual(Object.keys(logs[0]!).sort(), ['out', 'pos', 'time']);
  });

  test('restarts (params in a form body), promotes, deletes logs, and pauses and resumes the queue', async () => {
    const restarted: Json = await drone.retryBuild('acme', 'web', 1, { REASON: 'flaky' });
    assert.equal(restarted.number, 2);
    assert.equal(restarted.parent, 1);
    assert.equal(restarted.params.REASON, 'flaky');
    const promoted: Json = await drone.promoteBuild('acme', 'web', 1, 'production', { VERSION: '1.0' });
    assert.equal(promoted.event, 'promote');
    assert.equal(promoted.deploy_to, 'production');
    assert.equal(promoted.params.VERSION, '1.0');
    assert.equal(await drone.deleteLogs('acme', 'web', 1, 1, 1), '');
    assert.deepEqual(await drone.getLogs('acme', 'web', 1, 1, 1), []);
    await drone.pauseQueue();
    const queue: Json[] = await drone.getQueue();
    assert.ok(Array.isArray(queue));
    await drone.resumeQueue();
  });

  test('errors come back with Drone\'s status codes', async () => {
    const failure = await drone.getBuild('acme', 'web', 999).then(
      () => undefined,
      (error: Json) => error,
    );
    assert.equal(failure?.status, 404);
    const refused = await new Client({ url: server.url, token: 'wrong' }).getRepo('acme', 'web').then(
      () => undefined,
      (error: Json) => error,
    );
    assert.equal(refused?.status, 401);
  });
});
