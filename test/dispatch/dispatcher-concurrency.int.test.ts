// The repo's `concurrency.limit` (Drone): the dispatcher offers no more stages of a pipeline
// name than the limit leaves room for, counting those offered and not yet claimed as well as
// those a runner holds. Real Postgres and projector, the real in-process queue, no runner.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { runDispatcher } from '../../src/dispatch/dispatcher.ts';
import { createEarlyOffers } from '../../src/dispatch/early-offers.ts';
import { createQueueHints } from '../../src/dispatch/queue-hints.ts';
import { createMemoryQueue } from '../../src/dispatch/memory-queue.ts';
import { openPostgres, type Database } from '../../src/events/database.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { projections } from '../../src/projections/index.ts';
import { startProjector } from '../../src/projections/projector.ts';
import { handleBuildCommand, readBuild } from '../../src/server/command-handler.ts';
import { createCustomBuild } from '../support/custom-build.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';

const limitedPipeline = `kind: pipeline
type: docker
name: deploy
clone:
  disable: true
concurrency:
  limit: 1
node:
  pool: limited
steps:
- name: s1
  image: runlog-test/busybox:latest
  commands: [true]
`;

describe('dispatcher: the repo concurrency limit (Postgres, memory queue)', () => {
  let url: string;
  let database: Database;

  before(async () => {
    url = await freshDatabaseUrl('runlog_dispatch_concurrency');
    database = await openPostgres(url);
  });
  after(async () => {
    await database.close();
    await dropDatabase(url);
  });

  test('given two builds of a pipeline limited to 1, then the second is offered only once the first has ended — not while the first waits unclaimed, nor while it runs', async () => {
    const store = createEventStore(database);
    const stop = new AbortController();
    // Wired as the server wires it: stages the projector queued are hinted, and the log is followed for early offers.
    const hints = createQueueHints();
    const projector = startProjector({ database, store, projections, signal: stop.signal, onError: () => {}, onApplied: (events) => hints.notice(events) });
    const queue = createMemoryQueue();
    const early = createEarlyOffers({ database, readBuild: async (buildId) => (await readBuild(store, buildId)).events });
    const dispatching = runDispatcher({ database, queue, signal: stop.signal, hints, early, pollMs: 100, log: () => {} });
    const pool = await queue.pool({ platform: { os: 'linux', arch: 'amd64' }, labels: { pool: 'limited' }, type: 'docker' });
    const make = () => createCustomBuild(database, { id: 'repo-limited', name: 'limited' }, limitedPipeline);
    const command = (buildId: string, type: string, data: Record<string, unknown>) =>
      handleBuildCommand(store, buildId, { type, data: { stage: 1, ...data, at: new Date().toISOString() } } as Parameters<typeof handleBuildCommand>[2]);
    try {
      await sleep(200); // the dispatcher's first pass over the (empty) view, and its watch
      const first = await make();
      const offered = await pool.next(AbortSignal.timeout(5000));
      assert.equal(offered?.offer.buildId, first.buildId, 'the older build goes first');
      // Acked as a runner acks it, but not claimed yet: it still holds the only place.
      await offered.ack();
      const second = await make();
      assert.equal(await pool.next(AbortSignal.timeout(600)), null, 'no second offer while the first waits for its claim (hinted at once, then half a dozen passes)');

      await command(first.buildId, 'ClaimStage', { attempt: 1, runner: { id: 'runner:a', name: 'a' }, leaseToken: 'lease-a' });
      await command(first.buildId, 'StartStage', { leaseToken: 'lease-a', timeoutMinutes: 60, workspace: 'fresh' });
      assert.equal(await pool.next(AbortSignal.timeout(600)), null, 'no second offer while the first runs');

      await command(first.buildId, 'FinishStage', { leaseToken: 'lease-a', status: 'failure' });
      const next = await pool.next(AbortSignal.timeout(5000));
      assert.equal(next?.offer.buildId, second.buildId, 'the second build is offered once the first ended');
      await next.ack();
    } finally {
      stop.abort();
      await dispatching;
      await projector.done;
      await pool.close();
      await queue.close();
    }
  });
});
