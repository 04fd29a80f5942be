import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import type { App } from '../../src/api/app.ts';
import type { Database } from '../../src/events/database.ts';
import { isIllegalCommand } from '../../src/events/decider-errors.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { builds } from '../../src/projections/tables.ts';
import type { ClaimAnswer } from '../../src/rpc/claim.ts';
import { createRpcClient, RpcError } from '../../src/rpc/client.ts';
import { createRpcApp } from '../../src/rpc/routes.ts';
import { startHeartbeat } from '../../src/runner/heartbeat.ts';
import { createRpcReporter } from '../../src/runner/rpc-reporter.ts';
import { findLease } from '../../src/server/leases.ts';
import { leases } from '../../src/server/leases-table.ts';
import { runReaper } from '../../src/server/reaper.ts';
import { adminHeaders, startApiApp, type ApiApp } from '../support/api-server.ts';

const ADMIN = 'reporter-admin';
const SECRET = 'reporter-secret-0123456789';
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

describe('the runner side of the RPC: client, heartbeat and reporter against the real routes', () => {
  let api: ApiApp;
  let database: Database;
  let store: EventStore;
  let app: App;
  // Ends what the test leaves running (the resumed heartbeat) with the suite.
  const stop = new AbortController();
  let failuresLeft = 0;
  // The routes without a socket; `failuresLeft` makes the next calls fail as a dropped connection would.
  const appFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    if (failuresLeft > 0) {
      failuresLeft -= 1;
      throw new TypeError('fetch failed');
    }
    return app.request(String(input), init);
  }) as typeof fetch;

  before(async () => {
    api = await startApiApp({ postgres: 'runlog_rpc_reporter', adminToken: ADMIN });
    ({ app, database, store } = api);
    app.route('/rpc', createRpcApp({ database, store, secret: SECRET, leaseTtlSeconds: 30, log: () => {} }));
    const headers = adminHeaders(ADMIN);
    assert.equal((await app.request('/api/repos/acme/web', { method: 'POST', headers, body: '{}' })).status, 200);
    assert.equal((await app.request('/api/repos/acme/web/builds', { method: 'POST', headers, body: JSON.stringify({ config: PIPELINE }) })).status, 200);
  });
  after(async () => {
    stop.abort();
    await api.close();
  });

  test('given network failures, a wrong secret and a lapsed lease, the runner retries, is refused in words, and learns it lost the stage', async () => {
    const [build] = await database.db.select({ id: builds.id }).from(builds).where(eq(builds.number, 1));
    assert.ok(build);
    const wrong = createRpcClient({ server: 'http://rpc.test', secret: 'nope', fetch: appFetch });
    await assert.rejects(wrong.get(`/builds/${build.id}/history`), (error: unknown) => error instanceof RpcError && error.status === 401);

    const client = createRpcClient({ server: 'http://rpc.test/', secret: SECRET, fetch: appFetch, retryForMs: 5000 });
    failuresLeft = 2;
    const answer = await client.post<ClaimAnswer>('/claim', { buildId: build.id, stage: 1, attempt: 1, runner: { id: 'runner:t', name: 't' } });
    assert.equal(failuresLeft, 0, 'the claim went through after two dropped connections');
    const beats = new AbortController();
    const heartbeat = startHeartbeat({ client, buildId: build.id, stage: 1, leaseToken: answer.leaseToken, everyMs: 50, signal: beats.signal });
    // The claim answers with the build's history, so the runner starts without reading it again.
    const read = (await client.get<{ events: unknown[] }>(`/builds/${build.id}/history`)).events;
    assert.deepEqual(answer.history, read, 'the claim carries the history a read gives');
    const reporter = createRpcReporter({ client, buildId: build.id, stage: 1, leaseToken: answer.leaseToken, heartbeat, history: answer.history });
    try {
      failuresLeft = 1_000; // the first history() makes no call (a call would fail and be retried for 5 s)
      assert.deepEqual((await reporter.history()).map((e) => e.type), ['BuildCreated', 'StageQueued', 'StageClaimed']);
      failuresLeft = 0;
      assert.deepEqual((await reporter.history()).map((e) => e.type), ['BuildCreated', 'StageQueued', 'StageClaimed'], 'later ones read it anew');
      const started = await reporter.command({ type: 'StartStage', data: { stage: 1, leaseToken: answer.leaseToken, timeoutMinutes: 60, at: new Date().toISOString() } });
      assert.deepEqual(started.map((e) => e.type), ['StageStarted']);
      await reporter.log(1, 1, { offset: 0, data: 'x' });
      assert.equal(await reporter.cancelled(), false);
      const before = (await findLease(database, { buildId: build.id, stage: 1 }))?.expiresAt;
      await sleep(200);
      const renewed = (await findLease(database, { buildId: build.id, stage: 1 }))?.expiresAt;
      assert.ok(before && renewed && renewed > before, 'the heartbeat pushed the lease forward');

      // The runner goes quiet long enough for the reaper (a paused process, a partition).
      beats.abort();
      await database.db.update(leases).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(leases.buildId, build.id));
      const reaping = new AbortController();
      const reaper = runReaper({ database, store, signal: reaping.signal, everyMs: 50, log: () => {} });
      for (let i = 0; i < 400 && (await findLease(database, { buildId: build.id, stage: 1 })); i++) await sleep(50);
      reaping.abort();
      await reaper;

      const resumed = startHeartbeat({ client, buildId: build.id, stage: 1, leaseToken: answer.leaseToken, everyMs: 20, signal: stop.signal });
      const fenced = createRpcReporter({ client, buildId: build.id, stage: 1, leaseToken: answer.leaseToken, heartbeat: resumed });
      for (let i = 0; i < 500 && !resumed.lost; i++) await sleep(20);
      assert.equal(resumed.lost, true, 'the heartbeat was refused');
      await assert.rejects(fenced.cancelled(), (error: unknown) => isIllegalCommand(error) && error.code === 'stale_lease');
      await assert.rejects(
        fenced.command({ type: 'StartStep', data: { stage: 1, step: 1, leaseToken: answer.leaseToken, at: new Date().toISOString() } }),
        (error: unknown) => isIllegalCommand(error) && error.code === 'stale_lease',
      );
    } finally {
      beats.abort();
      heartbeat.stop();
    }
  });
});
