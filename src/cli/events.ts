// `runlog events <owner/name> <build>`: the build's history as a timeline, `--json` as NDJSON,
// `--follow` to keep printing until the build finishes. Reads a server when RUNLOG_SERVER is
// set, the database otherwise (history-source.ts).
import { parseArgs } from 'node:util';
import { parseBuildRef, UsageError } from '../audit/build-ref.ts';
import { reportFailure, usageFailure } from '../audit/cli-errors.ts';
import type { HistoryEvent } from '../audit/history-event.ts';
import { openHistorySource, type HistorySource } from '../audit/history-source.ts';
import { parseAge } from '../audit/prune.ts';
import { entryJson, formatEntry, planNamesOf, timelineEntry, TIMELINE_HEADER, type PlanNames } from '../audit/timeline.ts';

const usage = `usage: runlog events <owner/name> <build> [--json] [--follow [--interval 1s]]

Shows every event of a build: when it happened (UTC), its global position in the log,
the stage and step it concerns, who caused it (a user, or the runner that reported it)
and what it recorded. Positions can be passed to \`runlog replay --at\`.

  --json          one JSON object per event (NDJSON), with the stored event and its hash
  --follow, -f    keep printing new events until the build finishes (Ctrl-C to stop)
  --interval      how often --follow looks for new events (default 1s)

Reads RUNLOG_SERVER (with RUNLOG_TOKEN) when set, else the database
(RUNLOG_DATABASE_URL, or the embedded ./.runlog).
`;

export async function run(args: string[], io: { stdout?: NodeJS.WritableStream; signal?: AbortSignal } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, follow: { type: 'boolean', short: 'f' }, interval: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return usageFailure('events', (error as Error).message, usage);
  }
  if (parsed.values.help) {
    stdout.write(usage);
    return 0;
  }
  let source: HistorySource | undefined;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  io.signal?.addEventListener('abort', onSignal, { once: true });
  try {
    if (parsed.positionals.length > 2) throw new UsageError(`unexpected argument '${parsed.positionals[2]}': expected <owner/name> <build>`);
    const ref = parseBuildRef(parsed.positionals[0], parsed.positionals[1]);
    const intervalMs = parsed.values.interval === undefined ? 1000 : parseInterval(parsed.values.interval);
    source = await openHistorySource();
    const json = parsed.values.json === true;
    const seen: HistoryEvent[] = [];
    let names: PlanNames = planNamesOf([]);
    const print = (events: readonly HistoryEvent[]) => {
      if (seen.length === 0 && events.length > 0) names = planNamesOf(events);
      let text = '';
      if (!json && seen.length === 0 && events.length > 0) text += `${TIMELINE_HEADER.trimEnd()}\n`;
      for (const event of events) {
        const entry = timelineEntry(event, names);
        text += json ? `${JSON.stringify(entryJson(event, entry))}\n` : `${formatEntry(entry)}\n`;
        seen.push(event);
      }
      if (text) stdout.write(text);
    };
    print(await source.readEvents(ref));
    if (parsed.values.follow) {
      while (!stop.signal.aborted && !seen.some((event) => event.type === 'BuildFinished')) {
        await sleep(intervalMs, stop.signal);
        if (stop.signal.aborted) break;
        print(await source.readEvents(ref, seen[seen.length - 1]));
      }
    }
    return 0;
  } catch (error) {
    return reportFailure('events', error);
  } finally {
    process.off('SIGINT', onSignal);
    await source?.close();
  }
}

function parseInterval(text: string): number {
  if (/^\d+(\.\d+)?s$/.test(text)) return Number(text.slice(0, -1)) * 1000;
  if (/^\d+ms$/.test(text)) return Number(text.slice(0, -2));
  try {
    return parseAge(text);
  } catch {
    throw new UsageError(`--interval: expected a duration like 500ms, 2s or 1m, got ${JSON.stringify(text)}`);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
