// The projector, the writer and rebuild against real databases — Postgres (a fresh database
// per test) and PGlite — with build histories decided by the real decider.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { compareCheckpoints, type Checkpoint } from '../../src/events/checkpoint.ts';
import { openPglite, openPostgres, type Database, type Executor } from '../../src/events/database.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { isBuild } from '../../src/events/build-state.ts';
import { buildStreamId } from '../../src/events/build-events.ts';
import { projections } from '../../src/projections/index.ts';
import { startProjector, ProjectorStopped } from '../../src/projections/projector.ts';
import { createEventFeed } from '../../src/projections/event-feed.ts';
import { CheckpointConflict, liveTarget, reduceBatch, scratchTarget, writeBatch, flushRows, moveCheckpoints } from '../../src/projections/projection-writer.ts';
import { createScratchTables, dropScratch, rebuildProjections, replay, tablesOf } from '../../src/projections/rebuild.ts';
import { cmd, t } from '../events/fixtures.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { settled } from '../events/event-store.contract.ts';
import { appendInterleaved, finalStates, histories, repoHistories } from './histories.ts';
import { checkpointsOf, tableRows, viewRows } from './views.ts';

type Open = () => Promise<Database>;

async function withDatabase(open: Open, work: (database: Database, store: EventStore) => Promise<void>) {
  const database = await open();
  try {
    await work(database, createEventStore(database));
  } finally {
    await database.close();
  }
}

/** Rows the reducers give when the log is replayed from the start (up to `until`) into scratch tables. */
async function replayed(database: Database, store: EventStore, schema: string, until?: Checkpoint) {
  const target = scratchTarget(schema);
  await createScratchTables(database, schema, tablesOf(projections));
  try {
    await replay({ database, store, projections, target, batchSize: 7, ...(until ? { until } : {}) });
    return await viewRows(database, target, projections);
  } finally {
    await dropScratch(database, schema);
  }
}

const everything = () => [...repoHistories(), ...histories(0), ...histories(1)];

function projectorSuite(open: Open, kind: 'postgres' | 'pglite') {
  it('the live projector writes exactly the rows a replay from the start writes, and rebuild swaps in the same', () =>
    withDatabase(open, async (database, store) => {
      const stop = new AbortController();
      const projector = startProjector({ database, store, projections, signal: stop.signal, batchSize: 3, pollIntervalMs: 10, onError: () => {} });
      try {
        // When builds are appended while the projector follows them (interleaved, one command per append)
        const all = everything();
        const last = await appendInterleaved(store, all);
        await projector.waitFor(last);

        // Then the live rows are exactly a replay's
        const live = await viewRows(database, liveTarget, projections);
        assert.deepEqual(live, await replayed(database, store, 'verify_test'));

        // and they say what the decider says
        const states = finalStates(all);
        const builds = live.builds as Array<{ id: string; status: string }>;
        assert.equal(builds.length, states.size);
        for (const build of builds) assert.equal(build.status, states.get(build.id)!.status, `build ${build.id}`);
        // and the queue holds exactly the stages queued and not claimed
        const expectedQueue = [...states]
          .flatMap(([id, s]) => (isBuild(s) ? s.stages.filter((st) => st.status === 'pending' && !st.claim).map((st) => `${id}/${st.number}/${st.attempt}`) : []))
          .sort();
        assert.deepEqual((live.queue as Array<{ build_id: string; stage: number; attempt: number }>).map((q) => `${q.build_id}/${q.stage}/${q.attempt}`).sort(), expectedQueue);
        assert.ok(expectedQueue.length >= 4, 'the histories leave stages queued');
        assert.deepEqual(
          live.repoCounters,
          [
            { repo_id: 'repo-1', last_number: 8, builds: 8 },
            { repo_id: 'repo-2', last_number: 7, builds: 6 },
          ],
        );

        // When every projection is rebuilt while the projector runs
        const before = await checkpointsOf(database, liveTarget, projections);
        const result = await rebuildProjections({ database, store, projections, batchSize: 5 });
        assert.equal(result.events, all.flatMap((h) => h.appends.flat()).length);
        // Then the views and checkpoints are as they were
        assert.deepEqual(await viewRows(database, liveTarget, projections), live);
        assert.deepEqual(await checkpointsOf(database, liveTarget, projections), before);
        // and the projector goes on on the swapped-in tables
        const claimed = await store.append(buildStreamId('00000000-0000-4000-8000-000000000006'), 3, [
          { type: 'StageClaimed', data: { stage: 1, attempt: 1, runner: { id: 'runner-9', name: 'r9' }, leaseToken: 'l', at: t(500) } },
        ]);
        await projector.waitFor({ transactionId: claimed.transactionId, globalPosition: claimed.globalPositions[0]! });
        const queue = (await tableRows(database, liveTarget, 'queue')) as Array<{ build_id: string; stage: number }>;
        assert.equal(queue.some((q) => q.build_id.endsWith('000000000006') && q.stage === 1), false);
      } finally {
        stop.abort();
        await projector.done;
      }
    }));

  it('a batch lands whole or not at all: failing at any statement leaves neither rows nor checkpoint', () =>
    withDatabase(open, async (database, store) => {
      await appendInterleaved(store, everything());
      await settled(database);
      const stored = await store.readAll(null, 1000);
      const events = await createEventFeed({ readStream: () => Promise.reject(new Error('not needed')) }).project(stored);
      const checkpoint = { transactionId: stored.at(-1)!.transactionId, globalPosition: stored.at(-1)!.globalPosition };
      const target = scratchTarget('atomic_test');
      const cursors = projections.map((projection) => ({ projection, after: null }));
      // How many statements a whole batch takes.
      const batch = reduceBatch(cursors, events);
      await createScratchTables(database, 'atomic_test', tablesOf(projections));
      const statements = await database.transaction(async (tx) => {
        await moveCheckpoints(tx, target, cursors, checkpoint);
        const n = (await flushRows(tx, target, batch)) + 1;
        throw Object.assign(new Error('rollback'), { statements: n });
      }).catch((error: { statements: number }) => error.statements);
      assert.ok(statements >= 8, `a batch over every table takes several statements (${statements})`);

      for (let failAt = 1; failAt <= statements; failAt++) {
        let count = 0;
        const failing: Database = {
          ...database,
          transaction: (work) =>
            database.transaction((tx) =>
              work({
                ...tx,
                query: async (statement) => {
                  // Numbered when sent: the writer sends a batch's row statements together.
                  const number = (count += 1);
                  const rows = await tx.query(statement);
                  if (number === failAt) throw new Error(`crash after statement ${failAt}`);
                  return rows as never;
                },
              } as Executor),
            ),
        };
        await assert.rejects(writeBatch(failing, { target, cursors, events, checkpoint }), /crash after statement/);
        for (const table of tablesOf(projections)) assert.deepEqual(await tableRows(database, target, table), [], `${table} after a crash at statement ${failAt}`);
        assert.deepEqual(Object.values(await checkpointsOf(database, target, projections)), projections.map(() => null));
      }
      // and a writer whose checkpoint is stale writes nothing
      await writeBatch(database, { target, cursors, events, checkpoint });
      const written = await viewRows(database, target, projections);
      await assert.rejects(writeBatch(database, { target, cursors, events, checkpoint }), CheckpointConflict);
      assert.deepEqual(await viewRows(database, target, projections), written);
      await dropScratch(database, 'atomic_test');
    }));

  it('waitFor: by checkpoint or global position; a waiter gives up on its signal; all are told when the projector stops', () =>
    withDatabase(open, async (database, store) => {
      const stop = new AbortController();
      const projector = startProjector({ database, store, projections, signal: stop.signal, pollIntervalMs: 10 });
      const [created] = histories(0).slice(5, 6);
      const result = await store.append(created!.streamId, 0, created!.appends[0]!.map((e) => ({ type: e.type, data: e.data })));
      await projector.waitFor(result.globalPositions.at(-1)!);
      assert.equal((await tableRows(database, liveTarget, 'queue')).length, 2, 'visible once waitFor resolved');
      assert.ok(compareCheckpoints(projector.checkpoint, { transactionId: result.transactionId, globalPosition: result.globalPositions.at(-1)! }) >= 0);
      await assert.rejects(projector.waitFor('999999'), /no event at global position/);
      const beyond = { transactionId: '999999999', globalPosition: '999999' };
      await assert.rejects(projector.waitFor(beyond, AbortSignal.timeout(50)), { name: 'TimeoutError' });
      const pending = projector.waitFor(beyond);
      stop.abort();
      await assert.rejects(pending, ProjectorStopped);
      await projector.done;
    }));

  if (kind === 'postgres') {
    it('kill -9 a projector process at random moments: the stored checkpoint always matches the rows', () =>
      withDatabase(open, async (database, store) => {
        const url = (database as Database & { url: string }).url;
        const last = await appendInterleaved(store, [...repoHistories(), ...histories(0), ...histories(1), ...histories(2)]);
        const child = fileURLToPath(new URL('./projector-child.ts', import.meta.url));
        let kills = 0;
        let midway = 0;
        for (let round = 0; round < 8; round++) {
          const proc = spawn(process.execPath, ['--import', 'tsx', child, url, String(1 + (round % 3))], { stdio: ['ignore', 'pipe', 'inherit'] });
          await new Promise<void>((resolve) => proc.stdout.once('data', () => resolve()));
          await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 400));
          proc.kill('SIGKILL');
          await new Promise((resolve) => proc.once('exit', resolve));
          kills += 1;
          // Every projection's rows are exactly a replay up to its stored checkpoint.
          await assertRowsMatchCheckpoints(database, store, `after kill ${kills}`);
          const at = Object.values(await checkpointsOf(database, liveTarget, projections));
          if (at.some((c) => c !== null && compareCheckpoints(c, last) < 0)) midway += 1;
          if (at.every((c) => compareCheckpoints(c, last) >= 0)) break;
        }
        // A projector that is not killed finishes the job from where the last one stopped.
        const stop = new AbortController();
        const projector = startProjector({ database, store, projections, signal: stop.signal, pollIntervalMs: 10 });
        await projector.waitFor(last);
        stop.abort();
        await projector.done;
        await assertRowsMatchCheckpoints(database, store, 'at the end');
        assert.ok(midway >= 1, `killed the projector ${kills} times, ${midway} of them part-way through the log`);
      }));

    it('two projectors on one database: each batch lands once, the rows are a replay’s', () =>
      withDatabase(open, async (database, store) => {
        const stop = new AbortController();
        const options = { database, store, projections, signal: stop.signal, batchSize: 2, pollIntervalMs: 5, onError: () => {} };
        const one = startProjector(options);
        const two = startProjector(options);
        try {
          const last = await appendInterleaved(store, everything());
          await Promise.all([one.waitFor(last), two.waitFor(last)]);
          assert.deepEqual(await viewRows(database, liveTarget, projections), await replayed(database, store, 'verify_two'));
        } finally {
          stop.abort();
          await Promise.all([one.done, two.done]);
        }
      }));
  }
}

/** Each projection's live rows equal a replay of the log up to that projection's stored checkpoint. */
async function assertRowsMatchCheckpoints(database: Database, store: EventStore, when: string) {
  const checkpoints = await checkpointsOf(database, liveTarget, projections);
  // Projections at one checkpoint are replayed together (they move together, so usually all are).
  const groups = new Map<string, typeof projections[number][]>();
  for (const projection of projections) {
    const id = JSON.stringify(checkpoints[projection.name]);
    groups.set(id, [...(groups.get(id) ?? []), projection]);
  }
  for (const [id, group] of groups) {
    const until = JSON.parse(id) as Checkpoint | null;
    const target = scratchTarget('kill_test');
    await createScratchTables(database, 'kill_test', tablesOf(group));
    try {
      if (until) await replay({ database, store, projections: group, target, batchSize: 50, until });
      assert.deepEqual(await viewRows(database, liveTarget, group), await viewRows(database, target, group), `${group.map((p) => p.name)} at ${id} ${when}`);
    } finally {
      await dropScratch(database, 'kill_test');
    }
  }
}

describe('projector on Postgres', () => {
  projectorSuite(async () => {
    const url = await freshDatabaseUrl('runlog_projections');
    const database = await openPostgres(url);
    return {
      ...database,
      url,
      close: async () => {
        await database.close();
        await dropDatabase(url);
      },
    } as Database;
  }, 'postgres');
});

let pglite: Promise<Database> | undefined;
after(async () => {
  if (pglite) await (await pglite).close();
});

describe('projector on PGlite', () => {
  // Opening PGlite takes seconds: one for the file, emptied after each test.
  projectorSuite(async () => {
    pglite ??= openPglite();
    const database = await pglite;
    return {
      ...database,
      close: async () => {
        await database.query(sql`truncate events, checkpoints, repos, builds, stages, steps, queue, repo_counters restart identity`);
      },
    };
  }, 'pglite');
});
