// `runlog export`: the event log (or part of it) as an NDJSON file with a manifest of every
// stream's head, to audit elsewhere or to move to another database with `runlog import`.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { UsageError } from '../audit/build-ref.ts';
import { reportFailure, usageFailure } from '../audit/cli-errors.ts';
import { exportLog } from '../audit/export.ts';
import { openExistingDatabase } from '../audit/history-source.ts';
import { parseMoment } from '../audit/moment.ts';
import { createProgress } from '../audit/progress.ts';
import type { Database } from '../events/database.ts';

const usage = `usage: runlog export [--repo <owner/name>] [--since <time>] [--until <time>] [--logs] [--output <file>]

Writes the event log as NDJSON: a header, every event in log order (position, stream,
version, type, data, metadata, time, prev_hash, hash), and a manifest of every stream's
head and hash. Exporting the same log again gives the same bytes. Whole streams only:

  --repo <owner/name>  the repo's stream and its builds'
  --since, --until     streams begun in [since, until) (times with a zone, like
                       2026-01-01T00:00:00Z), with the repos of their builds
  --logs               include the log chunks of the exported builds
  --output, -o <file>  write to a file instead of stdout
  --quiet, -q          no progress

Reads the database (RUNLOG_DATABASE_URL, or the embedded ./.runlog) in one consistent
snapshot, safe while a server runs. \`runlog import <file>\` loads it into an empty database.
`;

export async function run(args: string[], io: { stdout?: NodeJS.WritableStream } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      options: {
        repo: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        logs: { type: 'boolean' },
        output: { type: 'string', short: 'o' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageFailure('export', (error as Error).message, usage);
  }
  if (parsed.values.help) {
    stdout.write(usage);
    return 0;
  }
  let database: Database | undefined;
  const progress = createProgress({ quiet: parsed.values.quiet === true || (parsed.values.output === undefined && process.stderr.isTTY !== true) });
  try {
    const { repo, since, until, output } = parsed.values;
    if (repo !== undefined && !/^[^/\s]+\/[^/\s]+$/.test(repo)) throw new UsageError(`--repo: expected owner/name, got ${JSON.stringify(repo)}`);
    const time = (flag: string, text: string | undefined) => {
      if (text === undefined) return undefined;
      const moment = parseMoment(text);
      if (moment.kind !== 'time') throw new UsageError(`--${flag}: expected a time with its zone, like 2026-01-01T00:00:00Z, got ${JSON.stringify(text)}`);
      return moment.time;
    };
    const selection = { repo, since: time('since', since), until: time('until', until) };
    database = await openExistingDatabase();
    const sink = output === undefined ? stdout : createWriteStream(output);
    const write = async (text: string) => {
      if (!sink.write(text)) await once(sink, 'drain');
    };
    const end = await exportLog({ database, selection, logs: parsed.values.logs === true, write, onProgress: (p) => progress.update('export', p.events, p.total) });
    progress.end();
    if (output !== undefined) {
      sink.end();
      await once(sink, 'finish');
      process.stderr.write(`exported ${end.events.toLocaleString('en-US')} events of ${end.streams.toLocaleString('en-US')} streams${parsed.values.logs ? ` and ${end.logs.toLocaleString('en-US')} log chunks` : ''} to ${output}\n`);
    }
    return 0;
  } catch (error) {
    progress.end();
    return reportFailure('export', error);
  } finally {
    await database?.close();
  }
}
