// The runlog API as the integration tests start it: the app in-process (`app.request`, no
// socket) or the whole server on a loopback port, each over a database of its own.
import { createApp, type App, type AppDeps } from '../../src/api/app.ts';
import { openPglite, openPostgres, type Database } from '../../src/events/database.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { projections } from '../../src/projections/index.ts';
import { startProjector, type Projector } from '../../src/projections/projector.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/runtime.ts';
import { dropDatabase, freshDatabaseUrl } from './postgres.ts';

export const adminHeaders = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

/** One step on the exec engine, and no clone (the tests' repos have nothing to clone): a build that ends in well under a second. */
export const execPipeline = (command = 'echo hello') => `kind: pipeline
type: exec
name: default
clone:
  disable: true
steps:
- name: hello
  commands:
  - ${command}
`;

/** `postgres`: a fresh Postgres database named with this prefix; absent: PGlite in memory. */
type DatabaseChoice = { postgres?: string };

async function ownDatabase({ postgres }: DatabaseChoice): Promise<{ database: Database; drop(): Promise<void> }> {
  if (!postgres) return { database: await openPglite(), drop: async () => {} };
  const url = await freshDatabaseUrl(postgres);
  return { database: await openPostgres(url), drop: () => dropDatabase(url) };
}

export type ApiApp = {
  app: App;
  /** What `app` was made of: `createApp({ ...deps, … })` makes another over the same database and projector. */
  deps: AppDeps;
  database: Database;
  store: EventStore;
  waitFor: Projector['waitFor'];
  /** Stops the projector before the database closes (and is dropped), so no batch is cut off. */
  close(): Promise<void>;
};

/** The API app with a projector following the log; reads after writes wait for it, as in the server. */
export async function startApiApp(options: DatabaseChoice & Partial<AppDeps> & { adminToken: string }): Promise<ApiApp> {
  const { postgres, ...given } = options;
  const { database, drop } = await ownDatabase({ postgres });
  const store = createEventStore(database);
  const stop = new AbortController();
  const projector = startProjector({ database, store, projections, signal: stop.signal });
  const deps: AppDeps = {
    database,
    store,
    system: { host: 'ci.example.test', proto: 'https', version: 'test' },
    waitForProjections: (checkpoint) => (checkpoint ? projector.waitFor(checkpoint) : Promise.resolve()),
    log: () => {},
    ...given,
  };
  return {
    app: createApp(deps),
    deps,
    database,
    store,
    waitFor: (position, signal) => projector.waitFor(position, signal),
    close: async () => {
      stop.abort();
      await projector.done;
      await database.close();
      await drop();
    },
  };
}

export type ApiServer = RunningServer & { database: Database };

/** The whole server on a loopback port, its built-in runner on the exec engine; `close` also drops its database. */
export async function startApiServer(options: DatabaseChoice & Partial<ServerOptions> & { adminToken: string }): Promise<ApiServer> {
  const { postgres, ...given } = options;
  const { database, drop } = await ownDatabase({ postgres });
  let server: RunningServer;
  try {
    server = await startServer({ database, port: 0, hostname: '127.0.0.1', embeddedRunner: { engine: 'exec', capacity: 2 }, log: () => {}, ...given });
  } catch (error) {
    await database.close();
    await drop();
    throw error;
  }
  return {
    ...server,
    database,
    close: async () => {
      await server.close();
      await drop();
    },
  };
}
