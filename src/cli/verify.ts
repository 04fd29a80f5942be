// `runlog verify [<owner/name> <build>]`: proves the log intact — every stream's hash chain,
// every stream head the views or an export's manifest remember, and every view row against
// the log replayed into scratch tables. Exit 0 only when all of it holds.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findBuildStream, parseBuildRef, UsageError, describeRef } from '../audit/build-ref.ts';
import { reportFailure, usageFailure } from '../audit/cli-errors.ts';
import { checkExportFile, ImportRefused } from '../audit/import.ts';
import { openExistingDatabase } from '../audit/history-source.ts';
import { createProgress } from '../audit/progress.ts';
import { verifyBuild, verifyLog, type ManifestHeads, type VerifyPhase } from '../audit/verify.ts';
import { formatVerifyReport, verifyReportJson } from '../audit/verify-report.ts';
import type { Database } from '../events/database.ts';
import { createEventStore } from '../events/sql-event-store.ts';

const usage = `usage: runlog verify [<owner/name> <build>] [--json] [--no-views] [--manifest <export file>]

Checks that the event log is intact and the views are what it says:
  - every stream's hash chain: each edited, deleted or reordered event, by stream and version;
  - stream heads: a deleted last event, against the version the views saw (and the manifest);
  - the views: the log replayed into scratch tables and compared row by row with the live ones.
With a build, only that build's stream and rows. Exit code 0 only when everything is intact,
1 when something is not, 2 for a wrong command line or configuration.

  --json                 the report as JSON
  --no-views             check the chains only (faster)
  --manifest <file>      also check stream heads against an export's manifest
  --max-differences <n>  view rows listed at most (default 1000; all are counted)
  --quiet, -q            no progress

Reads the database (RUNLOG_DATABASE_URL, or the embedded ./.runlog). Safe while a server runs.
`;

const phases: Record<VerifyPhase, string> = { views: 'verify: replaying the log', rest: 'verify: checking the rest of the log', log: 'verify', suspects: 'verify: naming broken events' };

export async function run(args: string[], io: { stdout?: NodeJS.WritableStream } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        'no-views': { type: 'boolean' },
        manifest: { type: 'string' },
        'max-differences': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageFailure('verify', (error as Error).message, usage);
  }
  if (parsed.values.help) {
    stdout.write(usage);
    return 0;
  }
  let database: Database | undefined;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  const progress = createProgress({ quiet: parsed.values.quiet === true });
  try {
    const { positionals } = parsed;
    if (positionals.length !== 0 && positionals.length !== 2) throw new UsageError('expected no argument (the whole log) or <owner/name> <build>');
    const ref = positionals.length === 2 ? parseBuildRef(positionals[0], positionals[1]) : undefined;
    const maxText = parsed.values['max-differences'];
    const maxDifferences = maxText === undefined ? undefined : Number(maxText);
    if (maxDifferences !== undefined && !(Number.isSafeInteger(maxDifferences) && maxDifferences >= 0)) {
      throw new UsageError(`--max-differences: expected a whole number, got '${maxText}'`);
    }
    const manifest = parsed.values.manifest === undefined ? undefined : await manifestOf(parsed.values.manifest);
    database = await openExistingDatabase();
    const store = createEventStore(database);
    const views = parsed.values['no-views'] !== true;
    let report;
    if (ref) {
      const streamId = await findBuildStream(database, ref);
      if (!streamId) throw new UsageError(`no build ${describeRef(ref)} in the log`);
      report = await verifyBuild({ database, store, streamId, views, ...(manifest ? { manifest } : {}) });
    } else {
      report = await verifyLog({
        database,
        store,
        views,
        signal: stop.signal,
        ...(manifest ? { manifest } : {}),
        ...(maxDifferences !== undefined ? { maxDifferences } : {}),
        onProgress: (p) => progress.update(phases[p.phase], p.events, p.phase === 'suspects' ? 0 : p.total),
      });
    }
    progress.end();
    stdout.write(parsed.values.json ? `${JSON.stringify(verifyReportJson(report), null, 2)}\n` : formatVerifyReport(report));
    return report.ok ? 0 : 1;
  } catch (error) {
    progress.end();
    if (stop.signal.aborted) {
      process.stderr.write('runlog verify: interrupted; nothing was checked to the end\n');
      return 130;
    }
    return reportFailure('verify', error);
  } finally {
    process.off('SIGINT', onSignal);
    await database?.close();
  }
}

/** The manifest of an export file, read without trusting the rest of it: its heads are what the log must still hold. */
async function manifestOf(path: string): Promise<ManifestHeads> {
  if (!existsSync(path)) throw new UsageError(`--manifest: no file ${path}`);
  try {
    return (await checkExportFile(path)).manifest;
  } catch (error) {
    if (error instanceof ImportRefused) throw new UsageError(`--manifest: ${error.message}${error.problems.length > 0 ? ` (${error.problems.slice(0, 3).map((p) => p.detail).join('; ')})` : ''}`);
    throw error;
  }
}
