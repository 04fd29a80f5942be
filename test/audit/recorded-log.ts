// A database holding every audit history, appended one command at a time with the server's
// metadata, and its views caught up by the real projector.
import type { Database } from '../../src/events/database.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { projections } from '../../src/projections/index.ts';
import { startProjector } from '../../src/projections/projector.ts';
import { appendAll, auditHistories, auditRepoHistories } from './audit-histories.ts';

/** A log of every audit history with its views caught up, then the projector stopped. */
export async function recordedLog(database: Database): Promise<EventStore> {
  const store = createEventStore(database);
  const stop = new AbortController();
  const projector = startProjector({ database, store, projections, signal: stop.signal, pollIntervalMs: 10, onError: () => {} });
  let last: { transactionId: string; globalPosition: string } | undefined;
  await appendAll(store, [...auditRepoHistories(), ...auditHistories()], { afterEach: async ({ checkpoint }) => void (last = checkpoint) });
  await projector.waitFor(last!);
  stop.abort();
  await projector.done;
  return store;
}

