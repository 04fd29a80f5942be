// `runlog projections rebuild [name]`: replays the log into fresh views and swaps them in.
// Opens the database the way `serve`/`server` do (RUNLOG_DATABASE_URL, else the embedded
// ./.runlog/db), through the same helper, so they always mean the same database.
import { parseArgs } from 'node:util';
import { createEventStore } from '../events/sql-event-store.ts';
import { projections } from '../projections/index.ts';
import { rebuildProjections, type RebuildProgress } from '../projections/rebuild.ts';
import { ConfigError, openConfiguredDatabase } from '../server/config.ts';

const usage = `usage: runlog projections rebuild [name]

Replays the whole event log into fresh copies of the views and swaps them in atomically
(readers see the old views until the new ones are complete). Safe while a server runs.
Without a name, every projection is rebuilt. Names: ${projections.map((p) => p.name).join(', ')}
`;

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' }, 'batch-size': { type: 'string' } } });
  } catch (error) {
    process.stderr.write(`runlog projections: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const [command, ...names] = parsed.positionals;
  if (parsed.values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (command !== 'rebuild' || names.length > 1) {
    process.stderr.write(command && command !== 'rebuild' ? `runlog projections: unknown command '${command}'\n\n${usage}` : usage);
    return 2;
  }
  const chosen = names.length === 0 ? projections : projections.filter((p) => p.name === names[0]);
  if (chosen.length === 0) {
    process.stderr.write(`runlog projections: no projection named '${names[0]}'; the projections are: ${projections.map((p) => p.name).join(', ')}\n`);
    return 2;
  }
  const batchSize = parsed.values['batch-size'] === undefined ? undefined : Number(parsed.values['batch-size']);
  if (batchSize !== undefined && !(Number.isSafeInteger(batchSize) && batchSize > 0)) {
    process.stderr.write(`runlog projections: --batch-size must be a positive whole number, got '${parsed.values['batch-size']}'\n`);
    return 2;
  }

  let database;
  try {
    database = await openConfiguredDatabase();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`runlog projections: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = progressLine();
  try {
    const result = await rebuildProjections({
      database,
      store: createEventStore(database),
      projections: chosen,
      ...(batchSize ? { batchSize } : {}),
      onProgress: progress.update,
      signal: stop.signal,
    });
    progress.end();
    const at = result.checkpoint ? `${result.checkpoint.transactionId}:${result.checkpoint.globalPosition}` : 'the start (the log is empty)';
    process.stdout.write(
      `rebuilt ${chosen.map((p) => p.name).join(', ')} from ${count(result.events)} events in ${(result.elapsedMs / 1000).toFixed(1)} s ` +
        `(${count(Math.round(result.eventsPerSecond))} events/s); checkpoint ${at}\n`,
    );
    return 0;
  } catch (error) {
    progress.end();
    if (stop.signal.aborted) {
      process.stderr.write('runlog projections: rebuild interrupted; the live views are unchanged\n');
      return 130;
    }
    process.stderr.write(`runlog projections: rebuild failed, the live views are unchanged: ${(error as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await database.close();
  }
}

const count = (n: number) => n.toLocaleString('en-US');

/** One line rewritten in place on a terminal; a line every few seconds otherwise (CI logs). */
function progressLine() {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(p: RebuildProgress) {
      const now = performance.now();
      if (now - last < (tty ? 100 : 5000)) return;
      last = now;
      const percent = p.total > 0 ? ` (${Math.min(100, Math.floor((p.events / p.total) * 100))}%)` : '';
      const rate = p.elapsedMs > 0 ? Math.round(p.events / (p.elapsedMs / 1000)) : 0;
      const line = `rebuild: ${count(p.events)}/${count(p.total)} events${percent}, ${count(rate)} events/s`;
      process.stderr.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
      shown = true;
    },
    end() {
      if (tty && shown) process.stderr.write('\n');
    },
  };
}
