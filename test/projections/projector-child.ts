// A projector in a process of its own, for the kill test: follows the log of the Postgres
// database named on the command line in batches of one event, until it is killed.
import { openPostgres } from '../../src/events/database.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { projections } from '../../src/projections/index.ts';
import { startProjector } from '../../src/projections/projector.ts';

const database = await openPostgres(process.argv[2]!, { max: 2 });
const projector = startProjector({
  database,
  store: createEventStore(database),
  projections,
  signal: new AbortController().signal,
  batchSize: Number(process.argv[3] ?? 1),
  pollIntervalMs: 20,
});
process.stdout.write('ready\n');
await projector.done;
