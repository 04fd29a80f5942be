import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { runDispatcher } from '../../src/dispatch/dispatcher.ts';
import type { StageOffer, StageQueue } from '../../src/dispatch/stage-queue.ts';
import { appendChunk } from '../../src/logs/log-store.ts';
import { handleBuildCommand } from '../../src/server/command-handler.ts';
import { adminHeaders, startApiApp, type ApiApp } from '../support/api-server.ts';

// The Drone paths beyond the first API: paging, parameters, latest, restart, promote,
// approve/decline per stage, log purge, the queue and its pause. Over PGlite, no socket.
const TOKEN = 'rest-routes-token';
const auth = adminHeaders(TOKEN);
const PIPELINE = `kind: pipeline
type: docker
name: default
trigger:
  event: [push, custom]
steps:
- name: test
  image: runlog-test/busybox:latest
  commands: [echo hi]
---
kind: pipeline
type: docker
name: deploy
trigger:
  event: [promote]
  target: [production]
steps:
- name: ship
  image: runlog-test/busybox:latest
  commands: [echo ship]
`;
const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('REST routes (Drone paths) over PGlite', () => {
  let api: ApiApp;

  before(async () => {
    api = await startApiApp({ adminToken: TOKEN });
    await call('POST', '/api/repos/acme/web', { clone_url: 'https://git.example.test/acme/web.git', default_branch: 'main' });
    for (const branch of ['main', 'dev', 'main', 'dev', 'main']) {
      const created = await call('POST', `/api/repos/acme/web/builds?branch=${branch}&commit=${SHA}`, { config: PIPELINE });
      assert.equal(created.status, 200, await created.clone().text());
    }
  });
  after(() => api.close());

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) =>
    api.app.request(path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const json = async (response: Response) => (await response.json()) as Record<string, any>;
  const message = async (response: Response) => String((await json(response)).message);

  test('builds list: newest first, paged, filtered by branch, a Link to the next full page', async () => {
    const first = await call('GET', '/api/repos/acme/web/builds?per_page=2');
    assert.equal(first.status, 200);
    assert.deepEqual((await first.json()).map((b: { number: number }) => b.number), [5, 4]);
    assert.match(first.headers.get('link') ?? '', /[?&]page=2\b.*>; rel="next"/);
    const last = await call('GET', '/api/repos/acme/web/builds?per_page=2&page=3');
    assert.deepEqual((await last.json()).map((b: { number: number }) => b.number), [1]);
    assert.equal(last.headers.get('link'), null);
    const dev = await (await call('GET', '/api/repos/acme/web/builds?branch=dev')).json();
    assert.deepEqual(dev.map((b: { number: number }) => b.number), [4, 2]);
    assert.match(await message(await call('GET', '/api/repos/acme/web/builds?page=0')), /page/);
  });

  test('create: query parameters other than branch/commit become build parameters; a form body counts like the query', async () => {
    const created = await json(await call('POST', `/api/repos/acme/web/builds?branch=dev&DEPLOY_ENV=staging`, { config: PIPELINE }));
    assert.deepEqual(created.params, { DEPLOY_ENV: 'staging' });
    assert.equal(created.target, 'dev');
    const bad = await call('POST', '/api/repos/acme/web/builds?bad-key=1', { config: PIPELINE });
    assert.equal(bad.status, 400);
    assert.match(await message(bad), /bad-key.*environment variable/);
    // drone-node's triggerBuild: `branch=...&commit=...` as a form body; this repo has no forge and no clone URL to read the config from.
    assert.equal((await call('POST', '/api/repos/zz/plain', {})).status, 200);
    const form = await call('POST', '/api/repos/zz/plain/builds', `branch=dev&commit=${SHA}`, { ...auth, 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 400);
    assert.match(await message(form), /config: zz\/plain has no forge API and no clone URL/);
  });

  test('latest: of the default branch, of ?branch= and of ?ref=; 404 when none', async () => {
    const main = await json(await call('GET', '/api/repos/acme/web/builds/latest'));
    assert.equal(main.number, 5);
    assert.equal(main.stages.length, 2);
    assert.equal((await json(await call('GET', '/api/repos/acme/web/builds/latest?branch=dev'))).target, 'dev');
    assert.equal((await json(await call('GET', '/api/repos/acme/web/builds/latest?ref=refs/heads/main'))).number, 5);
    const none = await call('GET', '/api/repos/acme/web/builds/latest?branch=nope');
    assert.equal(none.status, 404);
    assert.match(await message(none), /refs\/heads\/nope/);
    assert.equal((await call('GET', '/api/repos/acme/nope/builds/latest')).status, 404);
  });

  test('restart: a new build of the same commit and config, parent set, parameters kept and overridden', async () => {
    const original = await json(await call('POST', `/api/repos/acme/web/builds?branch=main&commit=${SHA}&A=1&B=2`, { config: PIPELINE }));
    const restarted = await call('POST', `/api/repos/acme/web/builds/${original.number}?B=3`);
    assert.equal(restarted.status, 200, await restarted.clone().text());
    const build = await restarted.json();
    assert.equal(build.number, original.number + 1);
    assert.equal(build.parent, original.number);
    assert.equal(build.after, SHA);
    assert.equal(build.event, 'custom');
    assert.deepEqual(build.params, { A: '1', B: '3' });
    const events = await (await call('GET', `/api/repos/acme/web/builds/${build.number}/events`)).json();
    const createdEvents = await (await call('GET', `/api/repos/acme/web/builds/${original.number}/events`)).json();
    assert.equal(events[0].data.config.sha256, createdEvents[0].data.config.sha256);
    assert.equal(events[0].data.parent, original.number);
    assert.equal((await call('POST', '/api/repos/acme/web/builds/999')).status, 404);
    assert.equal((await call('POST', '/api/repos/acme/web/builds/1', undefined, {})).status, 401);
  });

  test('restart of a blocked build is refused: approve it instead; decline ends a blocked build declined', async () => {
    await call('PATCH', '/api/repos/acme/web', { protected: true });
    const blocked = await json(await call('POST', '/api/repos/acme/web/builds', { config: PIPELINE }));
    await call('PATCH', '/api/repos/acme/web', { protected: false });
    assert.equal(blocked.status, 'blocked');
    const refused = await call('POST', `/api/repos/acme/web/builds/${blocked.number}`);
    assert.equal(refused.status, 409);
    assert.match(await message(refused), /approve/);
    // Drone's per-stage approve: the stage must exist; runlog approves the build whole.
    const noStage = await call('POST', `/api/repos/acme/web/builds/${blocked.number}/approve/9`);
    assert.equal(noStage.status, 404);
    assert.match(await message(noStage), /stage 9/);
    assert.equal((await call('POST', `/api/repos/acme/web/builds/${blocked.number}/approve/x`)).status, 400);
    const approved = await call('POST', `/api/repos/acme/web/builds/${blocked.number}/approve/1`);
    assert.equal(approved.status, 200);
    assert.equal((await approved.json()).status, 'pending');
    const again = await call('POST', `/api/repos/acme/web/builds/${blocked.number}/decline/1`);
    assert.equal(again.status, 409);
    // Declined: the build ends declined, the stage that would have run with it, and it is not restarted either.
    await call('PATCH', '/api/repos/acme/web', { protected: true });
    const other = await json(await call('POST', '/api/repos/acme/web/builds', { config: PIPELINE }));
    await call('PATCH', '/api/repos/acme/web', { protected: false });
    assert.equal(other.status, 'blocked');
    assert.equal((await call('POST', `/api/repos/acme/web/builds/${other.number}/decline/9`)).status, 404);
    const declined = await call('POST', `/api/repos/acme/web/builds/${other.number}/decline/1`);
    assert.equal(declined.status, 200, await declined.clone().text());
    const build = await declined.json();
    assert.equal(build.status, 'declined');
    assert.deepEqual(build.stages.map((stage: { name: string; status: string }) => [stage.name, stage.status]), [['default', 'declined'], ['deploy', 'skipped']]);
    const declinedRestart = await call('POST', `/api/repos/acme/web/builds/${other.number}`);
    assert.equal(declinedRestart.status, 409);
  });

  test('promote: a promote build to the target, its pipeline chosen by trigger; no target or no pipeline is a 400', async () => {
    const promoted = await call('POST', '/api/repos/acme/web/builds/5/promote?target=production&VERSION=1.2');
    assert.equal(promoted.status, 200, await promoted.clone().text());
    const build = await promoted.json();
    assert.equal(build.event, 'promote');
    assert.equal(build.deploy_to, 'production');
    assert.equal(build.parent, 5);
    assert.deepEqual(build.params, { VERSION: '1.2' });
    const byName = Object.fromEntries(build.stages.map((s: { name: string; status: string }) => [s.name, s.status]));
    assert.equal(byName.deploy, 'pending');
    assert.equal(byName.default, 'skipped');
    // drone-node's promoteBuild sends the target as a form body.
    const form = await call('POST', '/api/repos/acme/web/builds/5/promote', 'target=production', { ...auth, 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 200);
    const missing = await call('POST', '/api/repos/acme/web/builds/5/promote');
    assert.equal(missing.status, 400);
    assert.match(await message(missing), /target: required/);
    const nothing = await call('POST', '/api/repos/acme/web/builds/5/promote?target=staging');
    assert.equal(nothing.status, 400);
    assert.match(await message(nothing), /no pipeline .* runs for promote to 'staging'/);
    assert.equal((await call('POST', '/api/repos/acme/web/builds/5/promote?target=a%20b')).status, 400);
    const rollback = await call('POST', '/api/repos/acme/web/builds/5/rollback?target=production');
    assert.equal(rollback.status, 400, 'the deploy pipeline takes promote only');
  });

  test('log purge: the output goes, an event says who purged it, StepFinished keeps the sha256; a running step keeps its log', async () => {
    const build = await json(await call('POST', '/api/repos/acme/web/builds', { config: PIPELINE }));
    const runner = { id: 'r1', name: 'r1' };
    const at = () => new Date().toISOString();
    const leaseToken = 'lease-1';
    await handleBuildCommand(api.store, build.id, { type: 'ClaimStage', data: { stage: 1, attempt: 1, runner, leaseToken, at: at() } });
    await handleBuildCommand(api.store, build.id, { type: 'StartStage', data: { stage: 1, leaseToken, timeoutMinutes: 60, at: at() } });
    await handleBuildCommand(api.store, build.id, { type: 'StartStep', data: { stage: 1, step: 1, leaseToken, at: at() } });
    const text = 'cloning\ndone\n';
    await appendChunk(api.database, { buildId: build.id, stage: 1, step: 1 }, { offset: 0, data: text });
    const running = await call('DELETE', `/api/repos/acme/web/builds/${build.number}/logs/1/1`);
    assert.equal(running.status, 409);
    assert.match(await message(running), /still running/);
    const sha = createHash('sha256').update(text).digest('hex');
    const finished = await handleBuildCommand(api.store, build.id, {
      type: 'FinishStep',
      data: { stage: 1, step: 1, leaseToken, exitCode: 0, logSize: text.length, logSha256: sha, at: at() },
    });
    await api.waitFor(finished.checkpoint!);
    assert.equal((await (await call('GET', `/api/repos/acme/web/builds/${build.number}/logs/1/1`)).json()).length, 2);
    assert.equal((await call('DELETE', `/api/repos/acme/web/builds/${build.number}/logs/1/1`, undefined, {})).status, 401);
    const purged = await call('DELETE', `/api/repos/acme/web/builds/${build.number}/logs/1/1`);
    assert.equal(purged.status, 204);
    assert.deepEqual(await (await call('GET', `/api/repos/acme/web/builds/${build.number}/logs/1/1`)).json(), []);
    const events = await (await call('GET', `/api/repos/acme/web/builds/${build.number}/events`)).json();
    const purge = events.find((e: { type: string }) => e.type === 'StepLogPurged');
    assert.equal(purge.data.by, 'admin');
    assert.equal(events.find((e: { type: string }) => e.type === 'StepFinished').data.logSha256, sha);
    const view = await json(await call('GET', `/api/repos/acme/web/builds/${build.number}`));
    assert.equal(view.stages[0].steps[0].log_sha256, sha);
    assert.equal((await call('DELETE', `/api/repos/acme/web/builds/${build.number}/logs/1/99`)).status, 404);
    assert.equal((await call('DELETE', `/api/repos/acme/web/builds/${build.number}/logs/0/1`)).status, 400);
  });

  test('queue: lists waiting stages with platform and labels; pause and resume are audited events the dispatcher obeys', async () => {
    const list = await call('GET', '/api/queue');
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('x-queue-paused'), 'false');
    const items = await list.json();
    assert.ok(items.length > 0);
    assert.ok(items.every((item: { status: string }) => item.status === 'pending' || item.status === 'running'));
    assert.equal(items[0].repo_slug, 'acme/web');
    assert.equal(items[0].os, 'linux');
    assert.ok('labels' in items[0] && 'build_number' in items[0]);
    assert.equal((await call('GET', '/api/queue', undefined, {})).status, 401);
    assert.equal((await call('POST', '/api/queue/pause', undefined, {})).status, 401);

    const published: StageOffer[] = [];
    const queue = { publish: async (offer: StageOffer) => (published.push(offer), { duplicate: false }) } as unknown as StageQueue;
    assert.equal((await call('DELETE', '/api/queue')).status, 204, 'Drone: DELETE pauses');
    assert.equal((await call('POST', '/api/queue/pause')).status, 204, 'pausing a paused queue is fine');
    const paused = await call('GET', '/api/queue');
    assert.equal(paused.headers.get('x-queue-paused'), 'true');
    assert.equal(paused.headers.get('x-queue-paused-by'), 'admin');
    const dispatching = new AbortController();
    const logs: string[] = [];
    const dispatcher = runDispatcher({ database: api.database, queue, signal: dispatching.signal, pollMs: 20, log: (line) => logs.push(line) });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(published.length, 0, 'a paused queue publishes nothing');
      assert.ok(logs.some((line) => /paused by admin/.test(line)));
      assert.equal((await call('POST', '/api/queue')).status, 204, 'Drone: POST resumes');
      const deadline = Date.now() + 5000;
      while (published.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(published.length > 0, 'resumed: the waiting stages are published');
    } finally {
      dispatching.abort();
      await dispatcher;
    }
    const history = (await api.store.readStream('queue-default')).map((e) => [e.type, (e.data as { by: string }).by]);
    assert.deepEqual(history, [['QueuePaused', 'admin'], ['QueueResumed', 'admin']]);
  });

  test('permissions: restart and promote need write, log purge and approve need admin, the queue a server admin', async () => {
    const user = await json(await call('POST', '/api/users', { login: 'rita' }));
    const rita = { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' };
    await call('PUT', '/api/repos/acme/web/permissions/rita', { permission: 'read' });
    const asRita = (method: string, path: string) => call(method, path, undefined, rita);
    assert.equal((await asRita('GET', '/api/repos/acme/web/builds/latest')).status, 200);
    const readOnly = await asRita('POST', '/api/repos/acme/web/builds/1');
    assert.equal(readOnly.status, 403);
    assert.match(await message(readOnly), /needs write permission on acme\/web; you have read/);
    assert.equal((await asRita('POST', '/api/repos/acme/web/builds/5/promote?target=production')).status, 403);
    await call('PUT', '/api/repos/acme/web/permissions/rita', { permission: 'write' });
    const restarted = await asRita('POST', '/api/repos/acme/web/builds/1');
    assert.equal(restarted.status, 200);
    assert.equal((await restarted.json()).trigger, 'rita');
    const purge = await asRita('DELETE', '/api/repos/acme/web/builds/1/logs/1/1');
    assert.equal(purge.status, 403);
    assert.match(await message(purge), /needs admin permission/);
    assert.equal((await asRita('POST', '/api/repos/acme/web/builds/1/approve/1')).status, 403);
    const queue = await asRita('GET', '/api/queue');
    assert.equal(queue.status, 403);
    assert.match(await message(queue), /server admin/);
    assert.equal((await asRita('DELETE', '/api/queue')).status, 403);
    assert.equal((await asRita('GET', '/api/repos')).status, 403);
  });

  test('repos: the admin lists every repo, paged; DELETE takes Drone\'s ?remove', async () => {
    await call('POST', '/api/repos/acme/other', {});
    const all = await call('GET', '/api/repos?per_page=1&page=2');
    assert.equal(all.status, 200);
    assert.deepEqual((await all.json()).map((r: { slug: string }) => r.slug), ['acme/web']);
    assert.equal((await call('GET', '/api/repos?per_page=10000')).status, 200);
    assert.equal((await call('GET', '/api/repos', undefined, {})).status, 401);
    const bad = await call('DELETE', '/api/repos/acme/other?remove=maybe');
    assert.equal(bad.status, 400);
    assert.match(await message(bad), /remove/);
    const removed = await call('DELETE', '/api/repos/acme/other?remove=true');
    assert.equal(removed.status, 200);
    assert.equal((await removed.json()).active, false);
    assert.equal((await call('GET', '/api/repos/acme/other')).status, 404);
  });
});
