import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/api/app.ts';
import type { Database } from '../../src/events/database.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { builds } from '../../src/projections/tables.ts';
import { createRpcApp } from '../../src/rpc/routes.ts';
import { readBuild } from '../../src/server/command-handler.ts';
import { findLease } from '../../src/server/leases.ts';
import { leases } from '../../src/server/leases-table.ts';
import { runReaper } from '../../src/server/reaper.ts';
import { adminHeaders, startApiApp, type ApiApp } from '../support/api-server.ts';
import { eq, sql } from 'drizzle-orm';

const ADMIN = 'rpc-admin-token';
const SECRET = 'rpc-secret-of-the-tests';
const admin = adminHeaders(ADMIN);
const rpc = { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' };
const PIPELINE = `kind: pipeline
type: docker
name: default
clone:
  disable: true
steps:
- name: one
  image: runlog-test/busybox:latest
  commands: [echo one]
`;
const runner = { id: 'runner:test', name: 'test' };

describe('runner RPC (Hono app on Postgres, no socket)', () => {
  let api: ApiApp;
  let database: Database;
  let store: EventStore;
  let app: App;

  before(async () => {
    api = await startApiApp({ postgres: 'runlog_rpc', adminToken: ADMIN });
    ({ app, database, store } = api);
    app.route('/rpc', createRpcApp({ database, store, secret: SECRET, leaseTtlSeconds: 30, log: () => {} }));
    assert.equal((await call('POST', '/api/repos/acme/web', {}, admin)).status, 200);
  });
  after(() => api.close());

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = rpc) =>
    app.request(path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });

  let builtCount = 0;
  async function newBuild(): Promise<string> {
    const created = await call('POST', '/api/repos/acme/web/builds', { config: PIPELINE }, admin);
    assert.equal(created.status, 200, await created.clone().text());
    builtCount += 1;
    const [row] = await database.db.select({ id: builds.id }).from(builds).where(eq(builds.number, builtCount));
    assert.ok(row, 'the build is in the view');
    return row.id;
  }
  const claim = (buildId: string, attempt = 1) => call('POST', '/rpc/claim', { buildId, stage: 1, attempt, runner });

  test('given no secret or a wrong one, when a runner calls, then 401', async () => {
    const none = await call('POST', '/rpc/claim', {}, { 'content-type': 'application/json' });
    assert.equal(none.status, 401);
    assert.match((await none.json()).message, /RUNLOG_RPC_SECRET/);
    assert.equal((await call('POST', '/rpc/claim', {}, { authorization: 'Bearer nope' })).status, 401);
    assert.equal((await call('POST', '/rpc/claim', {}, { authorization: `Bearer ${ADMIN}` })).status, 401, 'the admin token is not the RPC secret');
  });

  test('given bad bodies, when a runner calls, then 400 naming the field', async () => {
    const buildId = await newBuild();
    const badStage = await call('POST', '/rpc/claim', { buildId, stage: 'one', attempt: 1, runner });
    assert.equal(badStage.status, 400);
    assert.match((await badStage.json()).message, /^stage: /);
    const badId = await call('POST', '/rpc/claim', { buildId: 'x', stage: 1, attempt: 1, runner });
    assert.match((await badId.json()).message, /buildId/);
    const notJson = await call('POST', '/rpc/claim', '{');
    assert.equal(notJson.status, 400);
    const noToken = await call('POST', `/rpc/builds/${buildId}/command`, { command: { type: 'StartStep', data: { stage: 1, step: 1, at: new Date().toISOString() } } });
    assert.equal(noToken.status, 400);
    assert.match((await noToken.json()).message, /leaseToken/);
    const apiCommand = await call('POST', `/rpc/builds/${buildId}/command`, { command: { type: 'RequestCancel', data: { by: 'x', at: new Date().toISOString() } } });
    assert.equal(apiCommand.status, 400);
    assert.match((await apiCommand.json()).message, /a runner may send only/);
    const badLog = await call('POST', `/rpc/builds/${buildId}/logs`, { stage: 1, step: 1, leaseToken: 't', offset: -1, data: '' });
    assert.equal(badLog.status, 400);
    assert.match((await badLog.json()).message, /^offset: /);
    assert.equal((await call('POST', `/rpc/builds/not-a-uuid/heartbeat`, { stage: 1, leaseToken: 't' })).status, 400);
  });

  test('given a queued stage, when a runner claims it, then it gets the stage, a lease, and a second claim is refused', async () => {
    const buildId = await newBuild();
    const claimed = await claim(buildId);
    assert.equal(claimed.status, 200, await claimed.clone().text());
    const answer = await claimed.json();
    assert.equal(answer.attempt, 1);
    assert.equal(answer.leaseTtlSeconds, 30);
    assert.deepEqual(answer.secrets, {});
    assert.equal(answer.run.buildId, buildId);
    assert.equal(answer.run.repo, 'acme/web');
    assert.equal(answer.run.stage.number, 1);
    assert.equal(typeof answer.run.trusted, 'boolean');
    assert.ok(answer.limits.timeoutMinutes > 0);
    const lease = await findLease(database, { buildId, stage: 1 });
    assert.equal(lease?.leaseToken, answer.leaseToken);
    assert.equal(lease?.runnerId, runner.id);
    const again = await claim(buildId);
    assert.equal(again.status, 409);
    assert.equal((await again.json()).code, 'stage_already_claimed');
  });

  test('given a claim, when a runner sends commands, heartbeats and logs, then a stale token is fenced with 403', async () => {
    const buildId = await newBuild();
    const { leaseToken } = await (await claim(buildId)).json();
    const at = () => new Date().toISOString();
    const stale = await call('POST', `/rpc/builds/${buildId}/command`, { command: { type: 'StartStage', data: { stage: 1, leaseToken: 'not-mine', timeoutMinutes: 60, at: at() } } });
    assert.equal(stale.status, 403);
    assert.equal((await stale.json()).code, 'stale_lease');
    const started = await call('POST', `/rpc/builds/${buildId}/command`, { command: { type: 'StartStage', data: { stage: 1, leaseToken, timeoutMinutes: 60, at: at() } } });
    assert.equal(started.status, 200, await started.clone().text());
    assert.deepEqual((await started.json()).events.map((e: { type: string }) => e.type), ['StageStarted']);
    await call('POST', `/rpc/builds/${buildId}/command`, { command: { type: 'StartStep', data: { stage: 1, step: 1, leaseToken, at: at() } } });

    assert.equal((await call('POST', `/rpc/builds/${buildId}/heartbeat`, { stage: 1, leaseToken })).status, 200);
    const staleBeat = await call('POST', `/rpc/builds/${buildId}/heartbeat`, { stage: 1, leaseToken: 'not-mine' });
    assert.equal(staleBeat.status, 403);
    assert.equal((await staleBeat.json()).code, 'stale_lease');

    const chunk = { stage: 1, step: 1, leaseToken, offset: 0, data: 'hello\n' };
    assert.deepEqual(await (await call('POST', `/rpc/builds/${buildId}/logs`, chunk)).json(), { result: 'stored' });
    assert.deepEqual(await (await call('POST', `/rpc/builds/${buildId}/logs`, chunk)).json(), { result: 'duplicate' }, 'a resend is dropped');
    assert.equal((await call('POST', `/rpc/builds/${buildId}/logs`, { ...chunk, offset: 100 })).status, 409, 'a gap is refused');
    assert.equal((await call('POST', `/rpc/builds/${buildId}/logs`, { ...chunk, offset: 6, leaseToken: 'not-mine' })).status, 403);
    const logs = await (await call('GET', '/api/repos/acme/web/builds/3/logs/1/1', undefined, admin)).json();
    assert.deepEqual(logs.map((line: { out: string }) => line.out).join(''), 'hello\n');

    const history = await (await call('GET', `/rpc/builds/${buildId}/history`)).json();
    assert.deepEqual(history.events.map((e: { type: string }) => e.type).slice(-3), ['StageClaimed', 'StageStarted', 'StepStarted']);
    assert.deepEqual(await (await call('GET', `/rpc/builds/${buildId}/cancelled`)).json(), { cancelled: false });
    assert.equal((await call('DELETE', '/api/repos/acme/web/builds/3', undefined, admin)).status, 200);
    assert.deepEqual(await (await call('GET', `/rpc/builds/${buildId}/cancelled`)).json(), { cancelled: true });
  });

  test('given a lease that lapsed, when the reaper runs, then the stage is requeued as attempt 2 and the old token is fenced', async () => {
    const buildId = await newBuild();
    const { leaseToken } = await (await claim(buildId)).json();
    await database.db.update(leases).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(leases.buildId, buildId));
    const reaping = new AbortController();
    const reaper = runReaper({ database, store, signal: reaping.signal, everyMs: 50, log: () => {} });
    try {
      for (let i = 0; i < 100 && (await findLease(database, { buildId, stage: 1 })); i++) await sleep(50);
    } finally {
      reaping.abort();
      await reaper;
    }
    const types = (await readBuild(store, buildId)).events.map((e) => e.type);
    assert.deepEqual(types.slice(-2), ['StageLeaseExpired', 'StageRequeued']);
    const beat = await call('POST', `/rpc/builds/${buildId}/heartbeat`, { stage: 1, leaseToken });
    assert.equal(beat.status, 403);
    const command = await call('POST', `/rpc/builds/${buildId}/command`, { command: { type: 'StartStage', data: { stage: 1, leaseToken, timeoutMinutes: 60, at: new Date().toISOString() } } });
    assert.equal(command.status, 403);
    assert.equal((await claim(buildId, 1)).status, 409, 'the old attempt is stale');
    assert.equal((await claim(buildId, 2)).status, 200, 'the new attempt can be claimed');
  });
});
