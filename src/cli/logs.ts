// `runlog logs prune --older-than 90d`: removes old step output, keeps the events — each
// finished step's StepFinished still records the size and sha256 of the log it had.
import { parseArgs } from 'node:util';
import { UsageError } from '../audit/build-ref.ts';
import { reportFailure, usageFailure } from '../audit/cli-errors.ts';
import { openExistingDatabase } from '../audit/history-source.ts';
import { parseAge, pruneLogs } from '../audit/prune.ts';
import type { Database } from '../events/database.ts';

const usage = `usage: runlog logs prune --older-than <age> [--dry-run] [--include-unhashed]

Removes the stored output of every step whose log's newest chunk is older than <age>
(90d, 12h, 2w, ...). The events are kept: each step's StepFinished records its log's
size and sha256, so the history still proves what ran. A step's log goes whole or not at all.

  --older-than <age>    required
  --dry-run             count what would be removed, remove nothing
  --include-unhashed    also remove logs no event records a sha256 for (steps the server
                        ended for a lost runner); by default they are kept, being the only
                        record of that output

Uses the database (RUNLOG_DATABASE_URL, or the embedded ./.runlog).
`;

export async function run(args: string[], io: { stdout?: NodeJS.WritableStream; now?: () => Date } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'older-than': { type: 'string' },
        'dry-run': { type: 'boolean' },
        'include-unhashed': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageFailure('logs', (error as Error).message, usage);
  }
  if (parsed.values.help) {
    stdout.write(usage);
    return 0;
  }
  let database: Database | undefined;
  try {
    const [command, ...rest] = parsed.positionals;
    if (command !== 'prune') throw new UsageError(command === undefined ? `expected a command: prune\n\n${usage}` : `unknown command '${command}': expected prune`);
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
    const olderThan = parsed.values['older-than'];
    if (olderThan === undefined) throw new UsageError('--older-than <age> is required, like --older-than 90d');
    let age: number;
    try {
      age = parseAge(olderThan);
    } catch (error) {
      throw new UsageError(`--older-than: ${(error as Error).message}`);
    }
    const before = new Date((io.now ?? (() => new Date()))().getTime() - age);
    database = await openExistingDatabase();
    const dryRun = parsed.values['dry-run'] === true;
    const result = await pruneLogs({ database, before, dryRun, includeUnhashed: parsed.values['include-unhashed'] === true });
    const n = (value: number) => value.toLocaleString('en-US');
    const mib = (result.bytes / 1024 / 1024).toFixed(1);
    stdout.write(
      `${dryRun ? 'would remove' : 'removed'} ${n(result.chunks)} log chunks (${mib} MiB) of ${n(result.logs)} step logs last written before ${before.toISOString()}; ` +
        'the events keep each log\'s size and sha256\n',
    );
    if (result.keptUnhashed > 0) {
      stdout.write(`kept ${n(result.keptUnhashed)} old step logs that no event records a sha256 for (--include-unhashed removes them too)\n`);
    }
    return 0;
  } catch (error) {
    return reportFailure('logs', error);
  } finally {
    await database?.close();
  }
}
