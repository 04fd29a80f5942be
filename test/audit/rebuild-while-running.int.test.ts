// `runlog projections rebuild` while builds run (Postgres): a writer appends builds, the live
// projector follows, rebuilds swap fresh views in, and readers keep reading the views. No
// reader may ever see a view missing, half built (a build without its stages) or going back
// in time (a build it saw gone, or at an older version), and afterwards verify finds the
// views exactly what the log says.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { verifyLog } from '../../src/audit/verify.ts';
import { formatVerifyReport } from '../../src/audit/verify-report.ts';
import { openPostgres, type Database } from '../../src/events/database.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { projections } from '../../src/projections/index.ts';
import { startProjector } from '../../src/projections/projector.ts';
import { rebuildProjections } from '../../src/projections/rebuild.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { appendInterleaved, histories, repoHistories } from '../projections/histories.ts';

describe('rebuild while builds are running', () => {
  const urls: string[] = [];
  after(async () => {
    for (const url of urls) await dropDatabase(url);
  });

  test('given a writer, the projector, readers and three rebuilds at once, then no reader sees a view missing, half built or going back', async () => {
    const url = await freshDatabaseUrl('runlog_audit_rebuild');
    urls.push(url);
    const database = await openPostgres(url, { max: 12 });
    const store = createEventStore(database);
    const stop = new AbortController();
    const projector = startProjector({ database, store, projections, signal: stop.signal, pollIntervalMs: 5, onError: () => {} });
    const done = new AbortController();
    try {
      await appendInterleaved(store, [...repoHistories(), ...histories(0)]);

      // The writer: a round of seven builds after another, until the rebuilds are over.
      let rounds = 1;
      const writer = (async () => {
        while (!done.signal.aborted) await appendInterleaved(store, histories(rounds++));
      })();

      // Readers: what they saw of each build (its version), and every problem.
      const problems: string[] = [];
      let reads = 0;
      const reader = async (n: number) => {
        const seen = new Map<string, number>();
        while (!done.signal.aborted) {
          try {
            // One statement: one snapshot of builds and stages together.
            const rows = await database.query<{ id: string; version: number; stages: string | number }>(
              sql`select b.id, b.version, (select count(*) from stages s where s.build_id = b.id) as stages from builds b`,
            );
            reads += 1;
            const now = new Map(rows.map((row) => [row.id, row.version]));
            for (const row of rows) if (Number(row.stages) === 0) problems.push(`reader ${n}: build ${row.id} without its stages`);
            for (const [id, version] of seen) {
              const current = now.get(id);
              if (current === undefined) problems.push(`reader ${n}: build ${id} (version ${version}) disappeared`);
              else if (current < version) problems.push(`reader ${n}: build ${id} went back from version ${version} to ${current}`);
            }
            for (const [id, version] of now) seen.set(id, Math.max(version, seen.get(id) ?? 0));
          } catch (error) {
            problems.push(`reader ${n}: ${(error as Error).message}`);
          }
        }
      };
      const readers = [reader(1), reader(2), reader(3)];

      for (let i = 0; i < 3; i++) {
        const rebuilt = await rebuildProjections({ database, store, projections, batchSize: 50 });
        assert.ok(rebuilt.events > 0);
      }
      done.abort();
      await Promise.all([writer, ...readers]);
      assert.deepEqual(problems.slice(0, 10), [], `${problems.length} problems in ${reads} reads`);
      assert.ok(reads > 20, `${reads} reads`);
      assert.ok(rounds > 2, `${rounds} rounds of builds written meanwhile`);

      // Once the projector has caught up, the views are exactly the log's.
      const last = await store.lastCheckpoint();
      await projector.waitFor(last!);
      const report = await verifyLog({ database, store });
      assert.equal(report.ok, true, formatVerifyReport(report));
    } finally {
      done.abort();
      stop.abort();
      await projector.done;
      await database.close();
    }
  });
});
