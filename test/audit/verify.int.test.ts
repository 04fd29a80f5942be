// runlog verify against real databases (Postgres and PGlite): an untouched log passes; an
// event edited with SQL, one deleted, two swapped (in their versions and in the log order), a
// deleted last event — each is named by stream and version, and the views that no longer
// match the log are listed row by row.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { verifyBuild, verifyLog, type VerifyReport } from '../../src/audit/verify.ts';
import { formatVerifyReport } from '../../src/audit/verify-report.ts';
import { openPglite, openPostgres, type Database } from '../../src/events/database.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { buildId } from './audit-histories.ts';
import { recordedLog } from './recorded-log.ts';

const stream = (n: number) => `build-${buildId(n)}`;

/** Swaps a column's values between two events of a stream, through a free value (the unique keys are checked per row). */
async function swap(database: Database, streamId: string, a: number, b: number, column: 'stream_version' | 'global_position') {
  const col = sql.raw(column);
  const [x] = await database.query<{ v: string }>(sql`select ${col}::text as v from events where stream_id = ${streamId} and stream_version = ${a}`);
  const [y] = await database.query<{ v: string }>(sql`select ${col}::text as v from events where stream_id = ${streamId} and stream_version = ${b}`);
  await database.transaction(async (tx) => {
    await tx.query(sql`update events set ${col} = 1000000 where stream_id = ${streamId} and ${col} = ${x!.v}::bigint`);
    await tx.query(sql`update events set ${col} = ${x!.v}::bigint where stream_id = ${streamId} and ${col} = ${y!.v}::bigint`);
    await tx.query(sql`update events set ${col} = ${y!.v}::bigint where stream_id = ${streamId} and ${col} = 1000000`);
  });
}

const problem = (report: VerifyReport, kind: string, streamId: string) => report.chains.problems.filter((p) => p.kind === kind && p.streamId === streamId);

function suite(kind: string, open: () => Promise<Database>, cleanup: () => Promise<void> = async () => {}) {
  describe(`verify on ${kind}`, () => {
    // One database for the suite (opening PGlite costs seconds): the untouched log first, then tampered.
    let database: Database;
    let store: EventStore;
    before(async () => {
      database = await open();
      store = await recordedLog(database);
    });
    after(async () => {
      await database.close();
      await cleanup();
    });

    test('given an untouched log, then every chain and every view row is intact', async () => {
      {
        const report = await verifyLog({ database, store });
        assert.equal(report.ok, true, formatVerifyReport(report));
        assert.equal(report.chains.streams, 11);
        assert.ok(report.views!.tables.find((t) => t.table === 'steps')!.liveRows > 10);
        const one = await verifyBuild({ database, store, streamId: stream(3) });
        assert.equal(one.ok, true, formatVerifyReport(one));
        assert.equal(one.chains.events, 16);
      }
    });

    test('given an edit, a deletion, two swaps and a deleted last event, then verify names each by stream and version and lists the views that differ', async () => {
      {
        // Build 1's failing test step now "passes": its data edited in place.
        await database.query(sql`update events set data = jsonb_set(jsonb_set(data, '{exitCode}', '0'), '{status}', '"success"')
                                 where stream_id = ${stream(1)} and type = 'StepFinished' and (data->>'exitCode')::int = 2`);
        const [edited] = await database.query<{ v: number }>(sql`select stream_version as v from events where stream_id = ${stream(1)} and type = 'StepFinished' and (data->>'exitCode')::int = 0 and (data->>'step')::int = 2`);
        // Build 3's lease expiry erased.
        await database.query(sql`delete from events where stream_id = ${stream(3)} and type = 'StageLeaseExpired'`);
        const [deleted] = await database.query<{ v: number }>(sql`select min(stream_version) + 0 as v from events e where stream_id = ${stream(3)} and not exists (select 1 from events f where f.stream_id = e.stream_id and f.stream_version = e.stream_version + 1)`);
        // Build 5: versions 4 and 5 trade places; build 8: versions 6 and 7 trade places in the log.
        await swap(database, stream(5), 4, 5, 'stream_version');
        await swap(database, stream(8), 6, 7, 'global_position');
        // Build 7's last event (BuildFinished) deleted: no hole in the chain, but the builds view saw it.
        const [{ head }] = (await database.query<{ head: number }>(sql`select max(stream_version) as head from events where stream_id = ${stream(7)}`)) as [{ head: number }];
        await database.query(sql`delete from events where stream_id = ${stream(7)} and stream_version = ${head}`);

        const report = await verifyLog({ database, store });
        const text = formatVerifyReport(report);
        assert.equal(report.ok, false);
        assert.deepEqual(problem(report, 'edited', stream(1)).map((p) => p.streamVersion), [edited!.v], text);
        assert.deepEqual(problem(report, 'deleted', stream(3)).map((p) => p.streamVersion), [deleted!.v + 1], text);
        assert.deepEqual(problem(report, 'reordered', stream(5)).map((p) => p.streamVersion), [4, 5], text);
        assert.deepEqual(problem(report, 'reordered', stream(8)).map((p) => p.streamVersion), [6], text);
        assert.deepEqual(report.heads.map((h) => [h.kind, h.streamId, h.streamVersion]), [['deleted', stream(7), head]], text);
        // The only streams named are the ones tampered with.
        assert.deepEqual([...new Set(report.chains.problems.map((p) => p.streamId))].sort(), [stream(1), stream(3), stream(5), stream(8)].sort());
        // Views: build 1's step 2 is a failure in the live view, a success by the (edited) log.
        const step = report.views!.differences.find((d) => d.table === 'steps' && d.key.build_id === buildId(1) && d.key.number === 2)!;
        assert.deepEqual(step.columns.find((c) => c.column === 'status'), { column: 'status', live: 'failure', rebuilt: 'success' }, text);
        assert.match(text, /EDITED +build-\S+ version \d+: content does not match its hash/);
        assert.match(text, /DELETED +build-\S+ version \d+: the builds view saw version \d+, the log ends at version \d+/);
        assert.match(text, /result: NOT intact/);

        // One build at a time says the same.
        const one = await verifyBuild({ database, store, streamId: stream(7) });
        assert.equal(one.ok, false);
        assert.deepEqual(one.heads.map((h) => h.streamVersion), [head]);
        assert.equal((await verifyBuild({ database, store, streamId: stream(4) })).ok, true);
      }
    });
  });
}

suite('PGlite', () => openPglite());

const urls: string[] = [];
suite(
  'Postgres',
  async () => {
    const url = await freshDatabaseUrl('runlog_audit_verify');
    urls.push(url);
    return openPostgres(url, { max: 4 });
  },
  async () => {
    for (const url of urls) await dropDatabase(url);
  },
);
