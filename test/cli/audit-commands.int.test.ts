// The audit commands as a user runs them: runlog events, replay, verify, export, import and
// logs prune against a Postgres database (and a server through RUNLOG_SERVER). Most run
// in-process through their `run` (fast); a few are spawned to show exit codes and that bad
// input is a message, never a stack trace.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { createApp } from '../../src/api/app.ts';
import { BuildCommand } from '../../src/events/build-commands.ts';
import { openPostgres, type Database } from '../../src/events/database.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { appendChunk } from '../../src/logs/log-store.ts';
import { handleBuildCommand } from '../../src/server/command-handler.ts';
import { listen, type Listener } from '../../src/server/listen.ts';
import { cmd, t } from '../events/fixtures.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { buildId } from '../audit/audit-histories.ts';
import { recordedLog } from '../audit/recorded-log.ts';

type Result = { code: number | null; stdout: string; stderr: string };

/** Runs a command module's `run` in this process with `env` set, capturing what it writes. */
async function cli(command: string, args: string[], env: Record<string, string | undefined>): Promise<Result> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  for (const [key, value] of Object.entries(env)) value === undefined ? delete process.env[key] : (process.env[key] = value);
  let stdout = '';
  let stderr = '';
  const out = new Writable({ write: (chunk, _encoding, done) => void ((stdout += chunk), done()) });
  const writeErr = process.stderr.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    const module = (await import(`../../src/cli/${command}.ts`)) as { run(args: string[], io: { stdout: Writable }): Promise<number> };
    return { code: await module.run(args, { stdout: out }), stdout, stderr };
  } finally {
    process.stderr.write = writeErr;
    for (const [key, value] of Object.entries(saved)) value === undefined ? delete process.env[key] : (process.env[key] = value);
  }
}

/** `node bin/runlog.js <args>` as a user runs it: the real exit code and output streams. */
function spawned(args: string[], env: Record<string, string>): Promise<Result> {
  const bin = fileURLToPath(new URL('../../bin/runlog.js', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const noStack = (result: Result) => assert.doesNotMatch(result.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');

describe('runlog events, replay, verify, export, import, logs prune', () => {
  const folder = mkdtempSync(join(tmpdir(), 'runlog-audit-cli-'));
  const urls: string[] = [];
  let url: string;
  let database: Database;
  let store: EventStore;
  let env: Record<string, string | undefined>;

  before(async () => {
    url = await freshDatabaseUrl('runlog_audit_cli');
    urls.push(url);
    database = await openPostgres(url, { max: 4 });
    store = await recordedLog(database);
    env = { RUNLOG_DATABASE_URL: url, RUNLOG_SERVER: undefined, RUNLOG_TOKEN: undefined };
  });
  after(async () => {
    await database.close();
    for (const u of urls) await dropDatabase(u);
    rmSync(folder, { recursive: true, force: true });
  });

  test('runlog events: a timeline with names and who, or NDJSON; a build that is not there is a usage error', async () => {
    const text = await cli('events', ['octo/one', '1'], env);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^TIME \(UTC\) +POSITION +EVENT +STAGE › STEP +BY +DETAILS$/);
    assert.match(text.stdout, /StepFinished +build › test +runner runner-1 +failure, exit code 2/);
    const json = await cli('events', ['octo/one', '1', '--json'], env);
    const events = json.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    assert.equal(events.length, lines.length - 1);
    assert.deepEqual(events.map((e) => e.version), events.map((_, i) => i + 1));
    assert.equal(events[1].prev_hash, events[0].hash);
    assert.equal(events.find((e) => e.type === 'StageSkipped').stage_name, 'deploy');
    const missing = await cli('events', ['octo/one', '99'], env);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, 'runlog events: no build octo/one#99 in the log\n');
    assert.equal((await cli('events', ['octo'], env)).code, 2);
  });

  test('runlog events --follow: prints what comes until the build finishes', async () => {
    const following = cli('events', ['octo/two', '2', '--follow', '--interval', '50ms'], env);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Build octo/two#2 (stage 2 running) is cancelled; the reaper stops its running stage.
    await handleBuildCommand(store, buildId(4), BuildCommand.parse(cmd.cancel(t(50))), { actor: 'user:carol' });
    await handleBuildCommand(store, buildId(4), BuildCommand.parse(cmd.cancelStage(2, t(51), null)), { actor: 'system:reaper' });
    const result = await following;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /CancelRequested +user:carol +cancel requested by carol\n/);
    assert.match(result.stdout, /BuildFinished +system:reaper +build killed\n$/);
  });

  test('runlog replay: the build at a position, a diff between two, and a clear error for a bad moment', async () => {
    const events = (await cli('events', ['octo/one', '2', '--json'], env)).stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    const requeued = events.find((e) => e.type === 'StageRequeued').position;
    const started = events.find((e) => e.type === 'StepStarted').position;
    const at = await cli('replay', ['octo/one', '2', '--at', started], env);
    assert.equal(at.code, 0, at.stderr);
    assert.match(at.stdout, /^octo\/one#2 at position \d+ \(2026-01-01 00:00:03\.000 UTC\)/);
    assert.match(at.stdout, /1 default +running +1 +r1 \(runner-1\) since 2026-01-01 00:00:01\.000 +2026-01-01 01:00:02\.000/);
    const json = JSON.parse((await cli('replay', ['octo/one', '2', '--at', requeued, '--json'], env)).stdout);
    assert.equal(json.stages[0].status, 'pending');
    assert.equal(json.stages[0].attempt, 2);
    assert.equal(json.stages[0].heldBy, null);
    const diff = await cli('replay', ['octo/one', '2', '--diff', started, requeued], env);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /3 events in between:\n.*StageLeaseExpired.*\n.*StepFinished .*the runner was lost.*\n.*StageRequeued/);
    assert.match(diff.stdout, /stage 1 \(default\):\n  status: running → pending\n  attempt: 1 → 2/);
    const bad = await cli('replay', ['octo/one', '2', '--at', 'yesterday'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^runlog replay: expected a global position \(like 1042, from `runlog events`\) or a time with its zone/);
    assert.equal((await cli('replay', ['octo/one', '2', '--diff', started], env)).code, 2);
  });

  test('runlog events and replay through RUNLOG_SERVER answer what the database answers', async () => {
    const app = createApp({ database, store, adminToken: 'cli-token', system: { host: 'ci.test', proto: 'http', version: 'test' }, waitForProjections: async () => {}, log: () => {} });
    const listener: Listener = await listen(app.fetch, 0, '127.0.0.1');
    try {
      const server = { RUNLOG_SERVER: `http://127.0.0.1:${listener.port}`, RUNLOG_TOKEN: 'cli-token', RUNLOG_DATABASE_URL: undefined };
      const local = await cli('events', ['octo/one', '3', '--json'], env);
      const remote = await cli('events', ['octo/one', '3', '--json'], server);
      assert.equal(remote.code, 0, remote.stderr);
      assert.equal(remote.stdout, local.stdout);
      const replayed = await cli('replay', ['octo/one', '3', '--at', '2026-01-01T00:30:00Z', '--json'], server);
      assert.equal(JSON.parse(replayed.stdout).stages[0].clock.next.rule, 'inactivity');
      const refused = await cli('events', ['octo/one', '3'], { ...server, RUNLOG_TOKEN: 'wrong' });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /refused the request \(401: invalid token.*\); set RUNLOG_TOKEN to a valid token/);
    } finally {
      await listener.close();
    }
  });

  test('runlog verify: exit 0 when intact, 1 naming the edited event once one is, 2 for a wrong command line', async () => {
    const intact = await cli('verify', [], env);
    assert.equal(intact.code, 0, intact.stdout + intact.stderr);
    assert.match(intact.stdout, /chains: 11 streams, \d+ events checked: intact\n/);
    assert.match(intact.stdout, /result: intact/);
    assert.match(intact.stderr, /verify: replaying the log/, 'progress lines when stderr is not a terminal');
    assert.equal(JSON.parse((await cli('verify', ['--json', '-q'], env)).stdout).ok, true);
    assert.equal((await cli('verify', ['octo/two', '3'], env)).code, 0);

    const [{ metadata }] = (await database.query<{ metadata: string }>(sql`select metadata::text from events where stream_id = ${`build-${buildId(6)}`} and stream_version = 1`)) as [{ metadata: string }];
    await database.query(sql`update events set metadata = '{"actor":"user:mallory"}' where stream_id = ${`build-${buildId(6)}`} and stream_version = 1`);
    const tampered = await spawned(['verify', '--no-views'], { RUNLOG_DATABASE_URL: url });
    assert.equal(tampered.code, 1, tampered.stderr);
    assert.match(tampered.stdout, new RegExp(`EDITED +build-${buildId(6)} version 1: content does not match its hash`));
    noStack(tampered);
    const one = await cli('verify', ['octo/two', '3', '--json'], env);
    assert.equal(one.code, 1);
    assert.deepEqual(JSON.parse(one.stdout).chains.problems.map((p: { kind: string; streamVersion: number }) => [p.kind, p.streamVersion]), [['edited', 1]]);
    await database.query(sql`update events set metadata = ${metadata}::jsonb where stream_id = ${`build-${buildId(6)}`} and stream_version = 1`);
    assert.equal((await cli('verify', ['octo/two', '3', '-q'], env)).code, 0, 'put back as it was, it verifies again');

    const usage = await cli('verify', ['octo/one'], env);
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr, 'runlog verify: expected no argument (the whole log) or <owner/name> <build>\n');
    const noDatabase = await cli('verify', [], { RUNLOG_DATABASE_URL: undefined, RUNLOG_DATA: join(folder, 'nowhere') });
    assert.equal(noDatabase.code, 2);
    assert.match(noDatabase.stderr, /^runlog verify: no runlog database at .*nowhere\/db: run this where `runlog serve` keeps its \.runlog folder/);
    noStack(noDatabase);
  });

  test('runlog export and import: a file into an empty database, verified; a second import refused; a missing file is a usage error', async () => {
    const file = join(folder, 'export.ndjson');
    const exported = await cli('export', ['--output', file, '--logs', '-q'], env);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stderr, /^exported \d+ events of 11 streams and 0 log chunks to /);
    const target = await freshDatabaseUrl('runlog_audit_cli_import');
    urls.push(target);
    const imported = await cli('import', [file, '-q'], { RUNLOG_DATABASE_URL: target });
    assert.equal(imported.code, 0, imported.stdout + imported.stderr);
    assert.match(imported.stdout, /^imported \d+ events of 11 streams; views rebuilt from \d+ events/);
    assert.match(imported.stdout, /result: intact/);
    const again = await cli('import', [file, '-q'], { RUNLOG_DATABASE_URL: target });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds events or logs/);
    const missing = await cli('import', [join(folder, 'nope.ndjson')], { RUNLOG_DATABASE_URL: target });
    assert.equal(missing.code, 2);
    const bad = await cli('export', ['--since', 'last week'], env);
    assert.equal(bad.code, 2);
  });

  test('runlog import into the embedded database (a RUNLOG_DATA folder), and a folder another process holds is refused', async () => {
    const file = join(folder, 'export.ndjson');
    const data = join(folder, 'embedded');
    const embedded = { RUNLOG_DATABASE_URL: undefined, RUNLOG_DATA: data };
    const imported = await cli('import', [file, '-q'], embedded);
    assert.equal(imported.code, 0, imported.stdout + imported.stderr);
    assert.match(imported.stdout, /result: intact/);
    writeFileSync(join(data, 'db', 'postmaster.pid'), '-42\n');
    const busy = await cli('verify', [], embedded);
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, /is open in another process \(runlog serve\?\): ask that server instead with RUNLOG_SERVER=/);
  });

  test('runlog logs prune: old logs go whole, the events and logs without a recorded sha256 stay', async () => {
    const old = new Date(Date.now() - 100 * 86_400_000);
    // Build 1's two steps finished with a sha256; build 2's step 1 was ended by the server (no sha256).
    await appendChunk(database, { buildId: buildId(1), stage: 1, step: 1 }, { offset: 0, data: 'old output\n' });
    await appendChunk(database, { buildId: buildId(1), stage: 1, step: 2 }, { offset: 0, data: 'old output\n' });
    await appendChunk(database, { buildId: buildId(2), stage: 1, step: 1 }, { offset: 0, data: 'only record\n' });
    await database.query(sql`update log_chunks set created = ${old.toISOString()}::timestamptz`);
    await appendChunk(database, { buildId: buildId(1), stage: 1, step: 2 }, { offset: 11, data: 'recent tail\n' });
    const [{ n: eventsBefore }] = (await database.query<{ n: string }>(sql`select count(*)::text as n from events`)) as [{ n: string }];

    const dry = await cli('logs', ['prune', '--older-than', '90d', '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^would remove 1 log chunks \(0\.0 MiB\) of 1 step logs last written before /);
    assert.match(dry.stdout, /kept 1 old step logs that no event records a sha256 for/);
    const pruned = await cli('logs', ['prune', '--older-than', '90d'], env);
    assert.match(pruned.stdout, /^removed 1 log chunks/);
    const left = await database.query<{ build_id: string; step: number }>(sql`select build_id::text, step from log_chunks order by build_id, step, "offset"`);
    assert.deepEqual(left.map((row) => [row.build_id, row.step]), [[buildId(1), 2], [buildId(1), 2], [buildId(2), 1]], 'a log with a recent chunk stays whole');
    const [{ n: eventsAfter }] = (await database.query<{ n: string }>(sql`select count(*)::text as n from events`)) as [{ n: string }];
    assert.equal(eventsAfter, eventsBefore);
    assert.equal((await cli('verify', ['-q'], env)).code, 0, 'the log still verifies');

    assert.equal((await cli('logs', ['prune'], env)).code, 2);
    const badAge = await cli('logs', ['prune', '--older-than', 'ninety days'], env);
    assert.equal(badAge.code, 2);
    assert.match(badAge.stderr, /--older-than: expected an age like 90d/);
  });
});
