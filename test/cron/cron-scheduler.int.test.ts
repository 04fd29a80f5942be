import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { cronTick, handleCronCommand } from '../../src/cron/cron-scheduler.ts';
import { openPglite, type Database } from '../../src/events/database.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { projections } from '../../src/projections/index.ts';
import { startProjector } from '../../src/projections/projector.ts';
import { startServer } from '../../src/server/runtime.ts';

const TOKEN = 'cron-test-admin-token';
const PIPELINE = 'kind: pipeline\ntype: exec\nname: default\nsteps:\n- name: a\n  commands: [echo hi]\n';
const system = { host: 'ci.example.test', proto: 'http', version: 'test' };

async function cronBuilds(database: Database) {
  return database.query<{ id: string; cron: string }>(sql`select id::text as id, cron from builds where event = 'cron' order by number`);
}
async function firedSlots(database: Database) {
  return database.query<{ scheduled: string; build: string | null }>(sql`select data->>'scheduled' as scheduled, data->>'buildId' as build from events where type = 'CronFired' order by global_position`);
}

describe('cron scheduler', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  test('with a fake clock: fires once per slot, one catch-up run for slots missed while down, and a crash between the record and the build is repaired', async () => {
    const database = await openPglite();
    const store = createEventStore(database);
    const stop = new AbortController();
    const projector = startProjector({ database, store, projections, signal: stop.signal });
    try {
      const { createApp } = await import('../../src/api/app.ts');
      let clock = new Date('2026-01-01T10:00:30Z');
      const app = createApp({ database, store, adminToken: TOKEN, system, now: () => clock, waitForProjections: (c) => (c ? projector.waitFor(c) : Promise.resolve()), log: () => {} });
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await app.request(path, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
        const text = await response.text();
        return { status: response.status, json: text ? JSON.parse(text) : undefined };
      };
      assert.equal((await call('POST', '/api/repos/acme/web', {})).status, 200);
      const created = await call('POST', '/api/repos/acme/web/cron', { name: 'nightly', expr: '@hourly' });
      assert.equal(created.status, 200);
      assert.equal(created.json.next, Date.parse('2026-01-01T11:00:00Z') / 1000);
      assert.equal(created.json.branch, 'main');
      const repoId = created.json.repo_id;
      const settle = async () => projector.waitFor((await store.lastCheckpoint())!);
      const tick = async (iso: string) => {
        clock = new Date(iso);
        await cronTick({ database, store, system, now: () => clock });
        await settle();
      };

      await tick('2026-01-01T11:00:01Z');
      assert.deepEqual(await firedSlots(database), [{ scheduled: '2026-01-01T11:00:00.000Z', build: null }], 'no build on main yet: recorded as skipped');
      assert.equal((await call('POST', '/api/repos/acme/web/builds', { config: PIPELINE })).status, 200);

      await tick('2026-01-01T11:59:59Z');
      assert.equal((await firedSlots(database)).length, 1, 'not due yet');
      await tick('2026-01-01T12:00:00Z');
      await tick('2026-01-01T12:00:02Z');
      assert.equal((await firedSlots(database)).length, 2, 'one slot, one fire, however many ticks');
      assert.equal((await cronBuilds(database)).length, 1);
      assert.equal((await cronBuilds(database))[0]!.cron, 'nightly');

      // Down from 12:30 to 15:30: 13:00, 14:00 and 15:00 were missed; one catch-up run, then 16:00.
      await tick('2026-01-01T15:30:00Z');
      const slots = await firedSlots(database);
      assert.deepEqual(slots.map((s) => s.scheduled), ['2026-01-01T11:00:00.000Z', '2026-01-01T12:00:00.000Z', '2026-01-01T13:00:00.000Z']);
      assert.equal((await call('GET', '/api/repos/acme/web/cron/nightly')).json.next, Date.parse('2026-01-01T16:00:00Z') / 1000);

      // A crash after CronFired, before its build: the next tick (a restart) creates that build, once.
      clock = new Date('2026-01-01T16:00:01Z');
      await handleCronCommand(store, repoId, { type: 'FireCron', data: { repoId, name: 'nightly', scheduled: '2026-01-01T16:00:00.000Z', at: clock.toISOString() } });
      await settle();
      assert.equal((await cronBuilds(database)).length, 2);
      await tick('2026-01-01T16:00:05Z');
      await tick('2026-01-01T16:00:06Z');
      const builds = await cronBuilds(database);
      assert.equal(builds.length, 3);
      assert.deepEqual(new Set(builds.map((b) => b.id)), new Set((await firedSlots(database)).flatMap((s) => (s.build ? [s.build] : []))));

      // Routes: errors say what is wrong; disabled jobs do not fire.
      assert.match((await call('POST', '/api/repos/acme/web/cron', { name: 'bad', expr: '* * *' })).json.message, /expr: expected 6 fields/);
      assert.equal((await call('POST', '/api/repos/acme/web/cron', { name: 'nightly', expr: '@daily' })).status, 409);
      assert.equal((await call('GET', '/api/repos/acme/web/cron/none')).status, 404);
      assert.equal((await call('PATCH', '/api/repos/acme/web/cron/nightly', { disabled: true })).json.next, 0);
      await tick('2026-01-01T18:00:00Z');
      assert.equal((await firedSlots(database)).length, 4);
      assert.deepEqual((await call('GET', '/api/repos/acme/web/cron')).json.map((c: { name: string }) => c.name), ['nightly']);
      assert.equal((await call('DELETE', '/api/repos/acme/web/cron/nightly')).status, 204);
      assert.equal((await app.request('/api/repos/acme/web/cron')).status, 401);
    } finally {
      stop.abort();
      await projector.done;
      await database.close();
    }
  });

  test('runlog serve fires a one-second job, and after a restart no slot is fired twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runlog-cron-'));
    dirs.push(dir);
    const start = async () => startServer({ database: await openPglite(dir), adminToken: TOKEN, port: 0, hostname: '127.0.0.1', log: () => {} });
    let server = await start();
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
      const text = await response.text();
      return { status: response.status, json: text ? JSON.parse(text) : undefined };
    };
    const cronCount = async () => ((await call('GET', '/api/repos/acme/tick/builds?per_page=100')).json as { event: string }[]).filter((b) => b.event === 'cron').length;
    const waitFor = async (what: string, ok: () => Promise<boolean>) => {
      const deadline = Date.now() + 15_000;
      while (!(await ok())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    try {
      await call('POST', '/api/repos/acme/tick', {});
      assert.equal((await call('POST', '/api/repos/acme/tick/builds', { config: PIPELINE })).status, 200);
      assert.equal((await call('POST', '/api/repos/acme/tick/cron', { name: 'every-second', expr: '* * * * * *' })).status, 200);
      await waitFor('a cron build', async () => (await cronCount()) >= 1);
      await server.close();
      server = await start();
      const before = await cronCount();
      await waitFor('more cron builds after the restart', async () => (await cronCount()) > before);
      await call('PATCH', '/api/repos/acme/tick/cron/every-second', { disabled: true });
      await server.close();
      const database = await openPglite(dir);
      try {
        const slots = await firedSlots(database);
        assert.equal(new Set(slots.map((s) => s.scheduled)).size, slots.length, 'no slot fired twice');
        const builds = await database.query<{ n: number }>(sql`select count(*)::int as n from events where type = 'BuildCreated' and data->'trigger'->>'event' = 'cron'`);
        assert.equal(builds[0]!.n, slots.filter((s) => s.build).length, 'one build per fired slot');
      } finally {
        await database.close();
      }
    } finally {
      await server.close();
    }
  });
});
