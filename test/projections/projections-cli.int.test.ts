// `runlog projections rebuild [name]` as a user runs it: against Postgres
// (RUNLOG_DATABASE_URL), with a wrong name, and with a wrong command.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { sql } from 'drizzle-orm';
import { openPostgres } from '../../src/events/database.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { projections } from '../../src/projections/index.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { REPO_ROOT } from '../support/serve-process.ts';
import { appendInterleaved, histories, repoHistories } from './histories.ts';

// Every registered view, in the order the CLI names them.
const NAMES = projections.map((projection) => projection.name).join(', ');

function runlog(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [`${REPO_ROOT}bin/runlog.js`, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('runlog projections', () => {
  it('rebuild replays the log into the views and says how fast', async () => {
    const url = await freshDatabaseUrl('runlog_projections_cli');
    const database = await openPostgres(url);
    try {
      const events = [...repoHistories(), ...histories(0)];
      await appendInterleaved(createEventStore(database), events);
      const all = await runlog(['projections', 'rebuild'], { RUNLOG_DATABASE_URL: url });
      assert.equal(all.code, 0, all.stderr);
      const count = events.flatMap((h) => h.appends.flat()).length;
      assert.match(all.stdout, new RegExp(`^rebuilt ${NAMES} from ${count} events in [0-9.]+ s \\([0-9,]+ events/s\\); checkpoint [0-9]+:[0-9]+\\n$`));
      const [row] = await database.query<{ builds: number }>(sql`select count(*)::int as builds from builds`);
      assert.equal(row!.builds, 7);

      const one = await runlog(['projections', 'rebuild', 'queue'], { RUNLOG_DATABASE_URL: url });
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /^rebuilt queue from/);
    } finally {
      await database.close();
      await dropDatabase(url);
    }
  });

  it('an unknown projection is refused with the list of names (exit 2); so is an unknown command', async () => {
    const wrong = await runlog(['projections', 'rebuild', 'nope'], { RUNLOG_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    assert.equal(wrong.code, 2);
    assert.equal(wrong.stderr, `runlog projections: no projection named 'nope'; the projections are: ${NAMES}\n`);
    const command = await runlog(['projections', 'rebuilt']);
    assert.equal(command.code, 2);
    assert.match(command.stderr, /unknown command 'rebuilt'[\s\S]*usage: runlog projections rebuild \[name\]/);
  });
});
