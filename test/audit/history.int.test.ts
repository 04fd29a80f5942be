// Replay equals what the views showed: every build history (cancel, timeout, inactivity,
// lease expiry and requeue included) is appended one event at a time while the real
// projector follows; after each event the views' rows and the API's answer for that build
// are recorded. Then, for every recorded position, the replay (CLI core), the in-memory view
// rows and `GET .../builds/{n}?at=<position>` must equal what was recorded then.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { createApp, type App } from '../../src/api/app.ts';
import { buildViewRows } from '../../src/audit/build-views.ts';
import { fromStored } from '../../src/audit/history-event.ts';
import { eventsUpTo } from '../../src/audit/moment.ts';
import { snapshotAt } from '../../src/audit/replay.ts';
import { openPostgres, type Database } from '../../src/events/database.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { projections } from '../../src/projections/index.ts';
import { startProjector, type Projector } from '../../src/projections/projector.ts';
import { builds, queue, stages, steps } from '../../src/projections/tables.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { appendAll, auditHistories, auditRepoHistories } from './audit-histories.ts';

interface Recorded {
  readonly streamId: string;
  readonly position: string;
  readonly rows: Record<string, unknown[]>;
  readonly api: Record<string, unknown>;
  readonly path: string;
}

const plain = (value: unknown) => JSON.parse(JSON.stringify(value));

describe('replay at every position equals the views at that moment', () => {
  let database: Database;
  let store: EventStore;
  let app: App;
  let projector: Projector;
  const stop = new AbortController();
  const recorded: Recorded[] = [];
  let url: string;

  // Postgres: the fold does not depend on the database, and opening PGlite costs seconds (verify runs on both).
  before(async () => {
    url = await freshDatabaseUrl('runlog_audit_history');
    database = await openPostgres(url, { max: 4 });
    store = createEventStore(database);
    projector = startProjector({ database, store, projections, signal: stop.signal, pollIntervalMs: 5, onError: () => {} });
    app = createApp({
      database,
      store,
      adminToken: 'token',
      system: { host: 'ci.test', proto: 'https', version: 'test' },
      waitForProjections: (checkpoint) => (checkpoint ? projector.waitFor(checkpoint) : Promise.resolve()),
      log: () => {},
    });
    const histories = auditHistories();
    await appendAll(store, [...auditRepoHistories(), ...histories], {
      oneEventPerAppend: true,
      afterEach: async ({ streamId, checkpoint }) => {
        await projector.waitFor(checkpoint);
        if (!streamId.startsWith('build-')) return;
        const id = streamId.slice('build-'.length);
        const rows = {
          builds: await database.db.select().from(builds).where(eq(builds.id, id)),
          stages: await database.db.select().from(stages).where(eq(stages.buildId, id)).orderBy(stages.number),
          steps: await database.db.select().from(steps).where(eq(steps.buildId, id)).orderBy(steps.stage, steps.number),
          queue: await database.db.select().from(queue).where(eq(queue.buildId, id)).orderBy(queue.stage),
        };
        const build = rows.builds[0]!;
        const path = `/api/repos/${build.repoId === 'repo-1' ? 'octo/one' : 'octo/two'}/builds/${build.number}`;
        const response = await app.request(path);
        assert.equal(response.status, 200);
        recorded.push({ streamId, position: checkpoint.globalPosition, rows: plain(rows), api: await response.json(), path });
      },
    });
  });
  after(async () => {
    stop.abort();
    await projector.done;
    await database.close();
    await dropDatabase(url);
  });

  test('given every recorded moment, then the replayed statuses, the view rows and ?at= are what the views showed', async () => {
    const streams = new Map<string, ReturnType<typeof fromStored>[]>();
    const kinds = new Set<string>();
    for (const moment of recorded) {
      let events = streams.get(moment.streamId);
      if (!events) streams.set(moment.streamId, (events = (await store.readStream(moment.streamId)).map(fromStored)));
      const at = { kind: 'position' as const, position: moment.position };
      const upTo = eventsUpTo(events, at);
      kinds.add(upTo[upTo.length - 1]!.type);
      const where = `${moment.streamId} at ${moment.position} (${upTo[upTo.length - 1]!.type})`;

      // The replay (what `runlog replay` shows) folds to the statuses the views had.
      const snapshot = snapshotAt(events, at);
      const [build] = moment.rows.builds as Array<{ status: string }>;
      assert.equal(snapshot.build!.status, build!.status, where);
      assert.deepEqual(
        snapshot.stages.map((s) => ({ number: s.number, status: s.status, attempt: s.attempt, runnerId: s.lastRunner })),
        (moment.rows.stages as Array<{ number: number; status: string; attempt: number; runnerId: string | null }>).map((s) => ({ number: s.number, status: s.status, attempt: s.attempt, runnerId: s.runnerId })),
        where,
      );
      assert.deepEqual(
        snapshot.stages.flatMap((s) => s.steps.map((step) => [s.number, step.number, step.status, step.exitCode])),
        (moment.rows.steps as Array<{ stage: number; number: number; status: string; exitCode: number | null }>).map((s) => [s.stage, s.number, s.status, s.exitCode]),
        where,
      );
      // A stage in the queue view is exactly a pending stage nobody holds.
      assert.deepEqual(
        snapshot.stages.filter((s) => s.status === 'pending' && s.heldBy === null).map((s) => s.number),
        (moment.rows.queue as Array<{ stage: number }>).map((q) => q.stage),
        where,
      );

      // The in-memory rows are the rows, column for column.
      assert.deepEqual(plain(buildViewRows(upTo)), moment.rows, where);

      // And the API at that position answers what it answered then.
      const response = await app.request(`${moment.path}?at=${moment.position}`);
      assert.equal(response.status, 200, where);
      const { replay, ...json } = await response.json();
      assert.deepEqual(json, moment.api, where);
      assert.equal(replay.upTo.position, moment.position);
    }
    for (const type of ['CancelRequested', 'StageCancelled', 'StageTimedOut', 'StageInactive', 'StageLeaseExpired', 'StageRequeued', 'StageResumed', 'BuildApproved', 'BuildDeclined', 'BuildFinished']) {
      assert.ok(kinds.has(type), `a moment right after ${type} was compared`);
    }
    assert.ok(recorded.length > 100, `${recorded.length} moments`);
  });

  test('given a time instead of a position, then ?at= answers the build as of the last event by then', async () => {
    const response = await app.request('/api/repos/octo/one/builds/3?at=2026-01-01T00:30:00Z');
    assert.equal(response.status, 200);
    const json = await response.json();
    assert.equal(json.status, 'running');
    assert.equal(json.stages[0].steps[1].status, 'running');
    assert.equal(json.replay.stages[0].clock.next.rule, 'inactivity');
    assert.equal((await (await app.request('/api/repos/octo/one/builds/3?at=2026-01-01T02:00:00Z')).json()).status, 'killed');
  });

  test('given bad or early moments, then 400 says what is accepted and 404 says the build came later', async () => {
    const bad = await app.request('/api/repos/octo/one/builds/3?at=yesterday');
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).message, /^at: expected a global position/);
    const early = await app.request('/api/repos/octo/one/builds/3?at=1');
    assert.equal(early.status, 404);
    assert.match((await early.json()).message, /octo\/one#3 at position 1 \(it was created later\)/);
  });

  test('given a build\'s events, then they page by position, as JSON or NDJSON, and bad paging is a 400', async () => {
    const all = await (await app.request('/api/repos/octo/one/builds/2/events')).json();
    assert.equal(all.length, 16);
    assert.equal(all[1].prev_hash, all[0].hash);
    assert.equal(all[0].stream, 'build-00000000-0000-4000-8000-000000000003');
    const first = await app.request('/api/repos/octo/one/builds/2/events?limit=5');
    assert.equal(first.headers.get('x-next-after'), all[4].position);
    assert.match(first.headers.get('link')!, /after=\d+&?.*; rel="next"|limit=5.*after=\d+>; rel="next"/);
    const second = await (await app.request(`/api/repos/octo/one/builds/2/events?limit=5&after=${all[4].position}`)).json();
    assert.deepEqual(second, all.slice(5, 10));
    const ndjson = await app.request(`/api/repos/octo/one/builds/2/events?after=${all[13].position}`, { headers: { accept: 'application/x-ndjson' } });
    assert.match(ndjson.headers.get('content-type')!, /application\/x-ndjson/);
    assert.deepEqual((await ndjson.text()).trimEnd().split('\n').map((line) => JSON.parse(line)), all.slice(14));
    assert.equal((await app.request('/api/repos/octo/one/builds/2/events?after=x1')).status, 400);
    assert.equal((await app.request('/api/repos/octo/one/builds/2/events?limit=0')).status, 400);
    assert.equal((await app.request('/api/repos/octo/one/builds/2/events?format=xml')).status, 400);
    assert.equal((await app.request('/api/repos/octo/one/builds/99/events')).status, 404);
  });
});
