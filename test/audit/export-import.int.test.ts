// runlog export / import between Postgres and PGlite, both ways: the import reproduces the
// views and verifies, and exporting the imported log gives the same bytes. A damaged file is
// refused before anything is written.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { exportLog } from '../../src/audit/export.ts';
import { checkExportFile, ImportRefused, importLog } from '../../src/audit/import.ts';
import { verifyLog } from '../../src/audit/verify.ts';
import { formatVerifyReport } from '../../src/audit/verify-report.ts';
import { openPglite, openPostgres, type Database } from '../../src/events/database.ts';
import { eventHash, GENESIS_HASH } from '../../src/events/hash-chain.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { appendChunk } from '../../src/logs/log-store.ts';
import { projections } from '../../src/projections/index.ts';
import { liveTarget } from '../../src/projections/projection-writer.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { viewRows } from '../projections/views.ts';
import { buildId } from './audit-histories.ts';
import { recordedLog } from './recorded-log.ts';

async function exported(database: Database, options: { logs?: boolean; repo?: string } = {}): Promise<string> {
  let text = '';
  await exportLog({ database, logs: options.logs ?? true, selection: options.repo ? { repo: options.repo } : {}, write: (chunk) => void (text += chunk), batchSize: 7 });
  return text;
}

/** Two runner streams whose events were committed in the opposite order of their positions, as concurrent appends can be. */
async function appendOutOfPositionOrder(database: Database) {
  const row = (streamId: string, position: number) => {
    const event = { streamId, streamVersion: 1, type: 'RunnerRegistered', data: { id: streamId, at: '2026-01-02T00:00:00.000Z' }, metadata: { actor: 'system:test' } };
    return { ...event, position, hash: eventHash(GENESIS_HASH, event) };
  };
  for (const event of [row('runner-late', 9001), row('runner-early', 9000)]) {
    await database.transaction((tx) =>
      tx.query(sql`insert into events (global_position, stream_id, stream_version, type, data, metadata, prev_hash, hash)
                   values (${event.position}, ${event.streamId}, 1, ${event.type}, ${JSON.stringify(event.data)}::jsonb, ${JSON.stringify(event.metadata)}::jsonb, ${GENESIS_HASH}, ${event.hash})`),
    );
  }
  await database.query(sql`select setval(pg_get_serial_sequence('events', 'global_position'), 9001)`);
}

describe('export and import between Postgres and PGlite', () => {
  const folder = mkdtempSync(join(tmpdir(), 'runlog-export-test-'));
  const urls: string[] = [];
  let source: Database;
  let pglite: Database;
  const postgresDatabase = async () => {
    const url = await freshDatabaseUrl('runlog_audit_export');
    urls.push(url);
    return openPostgres(url, { max: 4 });
  };

  before(async () => {
    source = await postgresDatabase();
    await recordedLog(source);
    for (const [step, text] of [[1, 'compiling\n'], [2, 'FAIL: TestThing\nexit status 2\n']] as const) {
      await appendChunk(source, { buildId: buildId(1), stage: 1, step }, { offset: 0, data: text });
    }
    await appendChunk(source, { buildId: buildId(1), stage: 1, step: 2 }, { offset: Buffer.byteLength('FAIL: TestThing\nexit status 2\n'), data: 'ünïcode ✓\n' });
    await appendOutOfPositionOrder(source);
    pglite = await openPglite();
  });
  after(async () => {
    await source?.close();
    await pglite?.close();
    for (const url of urls) await dropDatabase(url);
    rmSync(folder, { recursive: true, force: true });
  });

  test('given a Postgres log, when exported, imported into PGlite and exported again, then the files are byte-identical and the views the same', async () => {
    const first = await exported(source);
    const lines = first.trimEnd().split('\n');
    assert.match(lines[0]!, /^\{"runlog_export":1,"selection":\{\}\}$/);
    assert.match(lines.at(-1)!, /^\{"end":\{"events":107,"streams":13,"logs":3\}\}$/);
    // The log order, not the position order: the late commit with the lower position comes last.
    const runnerLines = lines.filter((line) => line.includes('"RunnerRegistered"'));
    assert.deepEqual(runnerLines.map((line) => JSON.parse(line).position), ['9001', '9000']);

    const file = join(folder, 'from-postgres.ndjson');
    writeFileSync(file, first);
    const result = await importLog({ database: pglite, path: file, batchSize: 5 });
    assert.equal(result.verified.ok, true, formatVerifyReport(result.verified));
    assert.equal(result.end.events, 107);
    assert.equal(result.rebuilt.events, 107);

    const again = await exported(pglite);
    assert.equal(again, first);
    assert.deepEqual(await viewRows(pglite, liveTarget, projections), await viewRows(source, liveTarget, projections));
    // New appends continue after the imported positions.
    const appended = await createEventStore(pglite).append('runner-new', 0, [{ type: 'RunnerRegistered', data: { at: '2026-01-03T00:00:00.000Z' } }]);
    assert.equal(appended.globalPositions[0], '9002');
    await pglite.query(sql`delete from events where stream_id = 'runner-new'`);
  });

  test('given the PGlite log, when imported into an empty Postgres and exported again, then the file is byte-identical again', async () => {
    const fromPglite = await exported(pglite);
    const file = join(folder, 'from-pglite.ndjson');
    writeFileSync(file, fromPglite);
    const target = await postgresDatabase();
    try {
      const result = await importLog({ database: target, path: file });
      assert.equal(result.verified.ok, true, formatVerifyReport(result.verified));
      assert.equal(await exported(target), fromPglite);
      assert.equal((await verifyLog({ database: target, store: createEventStore(target) })).ok, true);
    } finally {
      await target.close();
    }
  });

  test('given one repo exported, then the file holds its stream and its builds only, and imports on its own', async () => {
    const text = await exported(source, { repo: 'octo/two', logs: false });
    const streams = new Set(text.trimEnd().split('\n').slice(1).map((line) => JSON.parse(line)).filter((line) => line.stream).map((line) => line.stream));
    assert.deepEqual([...streams].sort(), ['repo-repo-2', ...[2, 4, 6, 8].map((n) => `build-${buildId(n)}`)].sort());
    const file = join(folder, 'octo-two.ndjson');
    writeFileSync(file, text);
    const target = await postgresDatabase();
    try {
      const result = await importLog({ database: target, path: file });
      assert.equal(result.verified.ok, true, formatVerifyReport(result.verified));
      const [{ n }] = (await target.query<{ n: string }>(sql`select count(*)::text as n from builds`)) as [{ n: string }];
      assert.equal(n, '4');
    } finally {
      await target.close();
    }
  });

  test('given a time range, then the file holds the streams begun in it with their builds\' repos, whole', async () => {
    // Build 1 was recorded a year earlier (recorded_at is not hashed: the chain stays intact).
    await source.query(sql`update events set recorded_at = recorded_at - interval '365 days' where stream_id = ${`build-${buildId(1)}`}`);
    let text = '';
    const cutoff = new Date(Date.now() - 100 * 86_400_000).toISOString();
    const end = await exportLog({ database: source, selection: { until: cutoff }, write: (chunk) => void (text += chunk) });
    const streams = new Set(text.trimEnd().split('\n').map((line) => JSON.parse(line)).filter((line) => line.stream).map((line) => line.stream));
    assert.deepEqual([...streams].sort(), [`build-${buildId(1)}`, 'repo-repo-1'].sort(), 'the build, and its repo whole although it began later');
    assert.equal(end.streams, 2);
    let after = '';
    await exportLog({ database: source, selection: { since: cutoff, repo: 'octo/one' }, write: (chunk) => void (after += chunk) });
    const later = new Set(after.trimEnd().split('\n').map((line) => JSON.parse(line)).filter((line) => line.stream).map((line) => line.stream));
    assert.ok(!later.has(`build-${buildId(1)}`) && later.has(`build-${buildId(3)}`) && later.has('repo-repo-1') && !later.has(`build-${buildId(2)}`));
  });

  test('given a damaged file or a database that is not empty, then nothing is imported and the problem is named', async () => {
    const text = readFileSync(join(folder, 'from-postgres.ndjson'), 'utf8');
    const lines = text.trimEnd().split('\n');
    const refused = async (name: string, content: string, pattern: RegExp) => {
      const file = join(folder, `${name}.ndjson`);
      writeFileSync(file, content);
      await assert.rejects(checkExportFile(file), (error: unknown) => {
        assert.ok(error instanceof ImportRefused, String(error));
        const all = `${error.message}\n${error.problems.map((p) => `${p.kind} ${p.streamId ?? ''} ${p.streamVersion ?? ''} ${p.detail}`).join('\n')}`;
        assert.match(all, pattern);
        return true;
      }, name);
    };
    await refused('truncated', lines.slice(0, 40).join('\n'), /no end line: the file is truncated/);
    await refused('not-an-export', 'hello\n', /line 1: not JSON/);
    // The last event of build 7 removed (no hole in its chain): the manifest still names its head.
    const build7 = `build-${buildId(7)}`;
    const lastOf7 = lines.map((line, i) => [line, i] as const).filter(([line]) => line.includes(`"stream":"${build7}"`) && line.startsWith('{"position"')).at(-1)![1];
    const head7 = JSON.parse(lines[lastOf7]!).version;
    await refused('deleted-tail', lines.filter((_, i) => i !== lastOf7).join('\n'), new RegExp(`deleted ${build7} ${head7} the manifest records version ${head7}`));
    // An event's data edited in the file.
    const editAt = lines.findIndex((line) => line.includes('"exitCode":2,'));
    await refused('edited', lines.map((line, i) => (i === editAt ? line.replace('"exitCode":2,', '"exitCode":0,') : line)).join('\n'), /edited build-\S+ \d+ content does not match its hash/);

    await assert.rejects(importLog({ database: pglite, path: join(folder, 'from-postgres.ndjson') }), /already holds events or logs: import only into an empty database/);
  });
});
