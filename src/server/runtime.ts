import { createApp } from '../api/app.ts';
import type { Database } from '../events/database.ts';
import { createEventStore } from '../events/sql-event-store.ts';
import { projections } from '../projections/index.ts';
import { startProjector } from '../projections/projector.ts';
import { listen } from './listen.ts';

export const VERSION = '0.1.0';

export type ServerOptions = {
  database: Database;
  adminToken: string;
  port: number;
  hostname?: string;
  /** Public host for links and DRONE_SYSTEM_HOST; default localhost:<port>. */
  publicHost?: string;
  log?: (message: string) => void;
};

export type RunningServer = { port: number; url: string; close(): Promise<void> };

/**
 * The server's parts in one process: event store, projector (following the log into the
 * views), API. `close` stops them in the order that loses nothing: stop taking requests,
 * let the projector finish its batch, then close the database.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { database } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const store = createEventStore(database);
  const stop = new AbortController();
  const projector = startProjector({ database, store, projections, signal: stop.signal });
  let system = { host: options.publicHost ?? `localhost:${options.port}`, proto: 'http', version: VERSION };
  const app = createApp({
    database,
    store,
    adminToken: options.adminToken,
    get system() {
      return system;
    },
    waitForProjections: (checkpoint) => (checkpoint ? projector.waitFor(checkpoint) : Promise.resolve()),
    log,
  });
  const listener = await listen(app.fetch, options.port, options.hostname);
  if (!options.publicHost) system = { ...system, host: `localhost:${listener.port}` };
  let closing: Promise<void> | undefined;
  return {
    port: listener.port,
    url: `http://localhost:${listener.port}`,
    close: () =>
      (closing ??= (async () => {
        await listener.close();
        stop.abort();
        await projector.done.catch((error: unknown) => log(`runlog: projector stopped with ${String(error)}`));
        await database.close();
      })()),
  };
}
