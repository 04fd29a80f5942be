// `runlog replay <owner/name> <build> --at <position|time>`: the build as it stood at that
// moment, folded with the server's own decider; `--diff <a> <b>`: what changed between two
// moments. Reads a server when RUNLOG_SERVER is set, the database otherwise.
import { parseArgs } from 'node:util';
import { parseBuildRef, UsageError } from '../audit/build-ref.ts';
import { reportFailure, usageFailure } from '../audit/cli-errors.ts';
import { openHistorySource, type HistorySource } from '../audit/history-source.ts';
import { isAtOrBefore, parseMoment, type Moment } from '../audit/moment.ts';
import { parseAge } from '../audit/prune.ts';
import { diffSnapshots, formatDiff, formatSnapshot, snapshotAt, snapshotOf } from '../audit/replay.ts';
import { formatEntry, planNamesOf, timelineEntry } from '../audit/timeline.ts';

const usage = `usage: runlog replay <owner/name> <build> [--at <position|time>] [--json]
       runlog replay <owner/name> <build> --diff <a> <b> [--json]

Folds the build's events up to a moment with the same decider the server uses, and shows
the build, each stage and step as they stood then: statuses, who held each stage, its
deadline and inactivity clock as the runner saw them, and which rule would fire next.

  --at <moment>       a global position (from \`runlog events\`) or a time with its zone
                      (2026-01-01T12:00:00Z); default: now, after every event
  --diff <a> <b>      what changed from moment a to moment b, and the events in between
  --inactivity <age>  the runners' inactivity limit (default 15m)
  --json              the state (or the changes) as JSON

Reads RUNLOG_SERVER (with RUNLOG_TOKEN) when set, else the database
(RUNLOG_DATABASE_URL, or the embedded ./.runlog).
`;

export async function run(args: string[], io: { stdout?: NodeJS.WritableStream } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        at: { type: 'string' },
        diff: { type: 'string' },
        inactivity: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageFailure('replay', (error as Error).message, usage);
  }
  if (parsed.values.help) {
    stdout.write(usage);
    return 0;
  }
  let source: HistorySource | undefined;
  try {
    const [repo, build, ...rest] = parsed.positionals;
    const ref = parseBuildRef(repo, build);
    const { at, diff } = parsed.values;
    if (at !== undefined && diff !== undefined) throw new UsageError('give either --at <moment> or --diff <a> <b>, not both');
    if (diff === undefined && rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
    if (diff !== undefined && rest.length !== 1) throw new UsageError('--diff takes two moments: --diff <a> <b> (positions or times)');
    const options = parsed.values.inactivity === undefined ? {} : { inactivityLimitMs: inactivity(parsed.values.inactivity) };
    const moments: Moment[] = diff === undefined ? (at === undefined ? [] : [parseMoment(at)]) : [parseMoment(diff), parseMoment(rest[0]!)];

    source = await openHistorySource();
    const events = await source.readEvents(ref);
    const json = parsed.values.json === true;
    if (moments.length < 2) {
      const snapshot = moments[0] ? snapshotAt(events, moments[0], options) : snapshotOf(events, events.length, now(events), options);
      stdout.write(json ? `${JSON.stringify(snapshot, null, 2)}\n` : formatSnapshot(snapshot));
      return 0;
    }
    const [from, to] = moments as [Moment, Moment];
    const a = snapshotAt(events, from, options);
    const b = snapshotAt(events, to, options);
    const names = planNamesOf(events);
    const between = events.filter((event) => !isAtOrBefore(event, from) && isAtOrBefore(event, to));
    const changes = diffSnapshots(a, b);
    if (json) stdout.write(`${JSON.stringify({ from: a, to: b, events: between.map((e) => timelineEntry(e, names)), changes }, null, 2)}\n`);
    else stdout.write(formatDiff(a, b, changes, between.map((e) => formatEntry(timelineEntry(e, names)))));
    return 0;
  } catch (error) {
    return reportFailure('replay', error);
  } finally {
    await source?.close();
  }
}

/** Without --at the clocks read now (a running stage's next rule counts down from the present). */
const now = (events: readonly unknown[]) => (events.length === 0 ? null : new Date().toISOString());

function inactivity(text: string): number {
  try {
    return parseAge(text);
  } catch (error) {
    throw new UsageError(`--inactivity: ${(error as Error).message}`);
  }
}
