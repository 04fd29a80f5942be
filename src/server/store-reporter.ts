import { and, eq, sql } from 'drizzle-orm';
import { BuildCommand, type BuildCommandInput } from '../events/build-commands.ts';
import { buildStreamId } from '../events/build-events.ts';
import type { Database } from '../events/database.ts';
import { events as eventsTable } from '../events/event-table.ts';
import type { EventStore } from '../events/event-store.ts';
import { appendChunk, clearRestartedStepLogs } from '../logs/log-store.ts';
import { announceLog } from '../live/log-tail.ts';
import type { Reporter } from '../runner/reporter.ts';
import { handleBuildCommand, readBuild } from './command-handler.ts';

/**
 * The Reporter of a runner in the server's own process (`runlog serve`): commands go
 * through the same command handling as the API's, logs into `log_chunks`. The distributed
 * runner's RPC adapter does the same over HTTP.
 */
export function createStoreReporter(options: { database: Database; store: EventStore; buildId: string; runnerId: string }): Reporter {
  const { database, store, buildId } = options;
  return {
    history: async () => (await readBuild(store, buildId)).events,
    async command(input: BuildCommandInput) {
      const handled = await handleBuildCommand(store, buildId, BuildCommand.parse(input), { runnerId: options.runnerId });
      await clearRestartedStepLogs(database, buildId, handled.events, handled.stream);
      return handled.events;
    },
    async log(stage, step, chunk) {
      if ((await appendChunk(database, { buildId, stage, step }, chunk)) === 'stored') announceLog(database, { buildId, stage, step });
    },
    async cancelled() {
      // Polled every second per running stage: look for the one event, not the whole stream.
      const rows = await database.db
        .select({ one: sql`1` })
        .from(eventsTable)
        .where(and(eq(eventsTable.streamId, buildStreamId(buildId)), eq(eventsTable.type, 'CancelRequested')))
        .limit(1);
      return rows.length > 0;
    },
  };
}
