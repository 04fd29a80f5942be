// Early offers: the dispatcher publishes a stage read straight from the log, with no projector
// running at all — so it cannot have come from the `queue` view. Real Postgres, the real
// in-process queue.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { runDispatcher } from '../../src/dispatch/dispatcher.ts';
import { createEarlyOffers } from '../../src/dispatch/early-offers.ts';
import { createMemoryQueue } from '../../src/dispatch/memory-queue.ts';
import { openPostgres, type Database } from '../../src/events/database.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { handleBuildCommand, readBuild } from '../../src/server/command-handler.ts';
import { createCustomBuild } from '../support/custom-build.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';

const pipeline = (extra = '') => `kind: pipeline
type: docker
name: default
clone:
  disable: true
node:
  pool: early
${extra}steps:
- name: s1
  image: runlog-test/busybox:latest
  commands: [true]
`;

describe('early offers: stages published from the log before any projection (Postgres, memory queue)', () => {
  let url: string;
  let database: Database;
  const make = (config: string) => createCustomBuild(database, { id: 'repo-early', name: 'early' }, config);

  before(async () => {
    url = await freshDatabaseUrl('runlog_early_offers');
    database = await openPostgres(url);
  });
  after(async () => {
    await database.close();
    await dropDatabase(url);
  });

  test('given stages queued after watch began, take gives each waiting one once with its queue row; a claimed one and what came before are left out', async () => {
    const store = createEventStore(database);
    const early = createEarlyOffers({ database, readBuild: async (buildId) => (await readBuild(store, buildId)).events });
    const before = await make(pipeline());
    let wakes = 0;
    const unwatch = await early.watch(() => (wakes += 1));
    try {
      assert.deepEqual(await early.take(), [], 'a stage queued before watch is the view pass’s');
      const waiting = await make(pipeline());
      const claimed = await make(pipeline());
      await handleBuildCommand(store, claimed.buildId, {
        type: 'ClaimStage',
        data: { stage: 1, attempt: 1, runner: { id: 'runner:x', name: 'x' }, leaseToken: 'lease-1', at: new Date().toISOString() },
      });
      for (let i = 0; i < 100 && wakes === 0; i++) await sleep(10);
      assert.ok(wakes > 0, 'an append wakes the watcher');

      const rows = await early.take();
      assert.deepEqual(
        rows.map((row) => [row.buildId, row.stage, row.attempt, row.os, row.arch, row.labels, row.concurrencyLimit, row.routeRunner]),
        [[waiting.buildId, 1, 1, 'linux', 'amd64', { pool: 'early' }, null, null]],
      );
      assert.ok(!rows.some((row) => row.buildId === before.buildId));
      assert.deepEqual(await early.take(), [], 'each queued stage once');
    } finally {
      await unwatch();
    }
  });

  test('given a dispatcher with early offers and no projector, then a new stage reaches a runner of its pool; one with a concurrency limit waits for the view', async () => {
    const store = createEventStore(database);
    const queue = createMemoryQueue();
    const stop = new AbortController();
    const dispatching = runDispatcher({
      database,
      queue,
      signal: stop.signal,
      // Long enough that only the early path can publish within this test.
      pollMs: 60_000,
      early: createEarlyOffers({ database, readBuild: async (buildId) => (await readBuild(store, buildId)).events }),
      log: () => {},
    });
    const pool = await queue.pool({ platform: { os: 'linux', arch: 'amd64' }, labels: { pool: 'early' }, type: 'docker' });
    try {
      await sleep(200); // the dispatcher's first pass over the (empty) view, and its watch
      const limited = await make(pipeline('concurrency:\n  limit: 1\n'));
      const free = await make(pipeline());
      const delivery = await pool.next(AbortSignal.timeout(5000));
      assert.ok(delivery, 'the stage was offered without a projector');
      assert.equal(delivery.offer.buildId, free.buildId);
      assert.equal(delivery.offer.attempt, 1);
      await delivery.ack();
      assert.equal(await pool.next(AbortSignal.timeout(500)), null, `build ${limited.number} (concurrency limit) is not offered early`);
    } finally {
      stop.abort();
      await dispatching;
      await pool.close();
      await queue.close();
    }
  });
});
