// `runlog import <file>`: an export into an empty database — Postgres or the embedded PGlite,
// either way round — then the views rebuilt from it and everything verified against the
// file's manifest. How a user moves from `runlog serve` to a Postgres server with history.
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { UsageError } from '../audit/build-ref.ts';
import { reportFailure, usageFailure } from '../audit/cli-errors.ts';
import { ImportRefused, importLog } from '../audit/import.ts';
import { createProgress } from '../audit/progress.ts';
import { formatVerifyReport } from '../audit/verify-report.ts';
import type { Database } from '../events/database.ts';
import { databaseTarget, openConfiguredDatabase } from '../server/config.ts';
import { assertNotInUse } from '../audit/history-source.ts';

const usage = `usage: runlog import <file | ->

Loads a \`runlog export\` file into an EMPTY database (RUNLOG_DATABASE_URL, or the embedded
./.runlog, created if needed): every event with its position, time and hash as exported,
then the views rebuilt from them, then \`runlog verify\` against the file's manifest. A file
whose chains or manifest do not hold is refused before anything is written.

  -            read the file from stdin
  --quiet, -q  no progress

Stop any server using the target database first.
`;

const phaseLabels = {
  check: 'import: checking the file',
  write: 'import: writing events',
  wait: 'import: waiting for a transaction elsewhere in the cluster to end before the views are built',
  rebuild: 'import: building the views',
  verify: 'import: verifying',
} as const;

export async function run(args: string[], io: { stdout?: NodeJS.WritableStream } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    return usageFailure('import', (error as Error).message, usage);
  }
  if (parsed.values.help) {
    stdout.write(usage);
    return 0;
  }
  let database: Database | undefined;
  let spool: string | undefined;
  const progress = createProgress({ quiet: parsed.values.quiet === true });
  try {
    if (parsed.positionals.length !== 1) throw new UsageError('expected one export file (or - for stdin)');
    let path = parsed.positionals[0]!;
    if (path === '-') {
      // Two passes over the file (check, then write): stdin is kept in a temporary file.
      spool = mkdtempSync(join(tmpdir(), 'runlog-import-'));
      path = join(spool, 'export.ndjson');
      await pipeline(process.stdin, createWriteStream(path));
    } else if (!existsSync(path)) throw new UsageError(`no file ${path}`);
    const target = databaseTarget();
    if (target.kind === 'pglite') assertNotInUse(target.dir);
    database = await openConfiguredDatabase();
    const result = await importLog({ database, path, onProgress: (p) => progress.update(phaseLabels[p.phase], p.events, p.total, p.phase === 'wait' ? 's' : undefined) });
    progress.end();
    const n = (value: number) => value.toLocaleString('en-US');
    stdout.write(
      `imported ${n(result.end.events)} events of ${n(result.end.streams)} streams${result.end.logs > 0 ? ` and ${n(result.end.logs)} log chunks` : ''}; ` +
        `views rebuilt from ${n(result.rebuilt.events)} events (${n(Math.round(result.rebuilt.eventsPerSecond))} events/s)\n`,
    );
    stdout.write(formatVerifyReport(result.verified));
    return result.verified.ok ? 0 : 1;
  } catch (error) {
    progress.end();
    if (error instanceof ImportRefused) {
      process.stderr.write(`runlog import: ${error.message}\n`);
      for (const problem of error.problems.slice(0, 100)) {
        const where = [problem.line !== undefined ? `line ${problem.line}` : '', problem.streamId ?? '', problem.streamVersion !== undefined ? `version ${problem.streamVersion}` : '']
          .filter(Boolean)
          .join(' ');
        process.stderr.write(`  ${problem.kind.toUpperCase().padEnd(9)}  ${where}${where ? ': ' : ''}${problem.detail}\n`);
      }
      if (error.problems.length > 100) process.stderr.write(`  … and ${error.problems.length - 100} more\n`);
      return 1;
    }
    return reportFailure('import', error);
  } finally {
    await database?.close();
    if (spool) rmSync(spool, { recursive: true, force: true });
  }
}
