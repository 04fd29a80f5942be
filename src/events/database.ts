// The Database port: one handle over either a Postgres server (the `postgres` driver) or an
// embedded PGlite, with drizzle on top. Everything that differs between the two lives here —
// result shapes, LISTEN, migrations, closing — so the event store and the projection writer
// are written once.
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';

/** drizzle over either driver (a transaction is one too). */
export type Drizzle = PgDatabase<PgQueryResultHKT>;

/** Where SQL runs: the database itself or one transaction of it. */
export interface Executor {
  readonly db: Drizzle;
  /**
   * Runs raw SQL and returns its rows. Values come as each driver parses them (int8 is a
   * string on Postgres, a number on PGlite; timestamps differ too): cast in SQL (`::text`) or
   * select through drizzle's columns where the type matters.
   */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(statement: SQL): Promise<Row[]>;
}

/**
 * An open database with runlog's migrations applied.
 *
 * Lifecycle: `open*` connects and migrates (concurrent openers of one Postgres database wait
 * for each other's migration); `close()` ends every connection and listener, after which
 * nothing may be called. Concurrency: Postgres is a pool (default 10 connections); PGlite is
 * one connection, so its transactions run one at a time and queries outside them wait.
 */
export interface Database extends Executor {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `work` in one READ COMMITTED transaction: commit when it resolves, rollback when it throws. */
  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T>;
  /**
   * LISTENs on `channel` until the returned function is called. `onNotify` also runs (with
   * '') after the Postgres listener reconnects, because notifications sent while it was
   * down are lost: treat every call as "look again", never as the data itself.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Sends a notification in its own statement (never inside a caller's transaction). */
  notify(channel: string, payload?: string): Promise<void>;
  close(): Promise<void>;
}

/** Resolved from this module, not the cwd, so it works from anywhere and on Node, Bun and Deno. */
const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Key of the session advisory lock that serialises migrations of one database ('rlog' + 'migr'). */
const MIGRATION_LOCK = sql`pg_advisory_lock(1919709031, 1835624306)`;

export interface PostgresOptions {
  /** Pool size; default 10. */
  readonly max?: number;
}

/** Opens a Postgres database from a `postgres://` URL and applies pending migrations. */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<Database> {
  await migratePostgresDatabase(url);
  const client = postgres(url, { max: options.max ?? 10, onnotice: () => {} });
  const db = drizzlePostgres(client) as unknown as Drizzle;
  const executor = (handle: Drizzle): Executor => ({
    db: handle,
    // postgres-js returns a RowList (an array with extras); copy to a plain array.
    query: async <Row,>(statement: SQL) => [...((await handle.execute(statement)) as unknown as Row[])],
  });
  // This process's listeners by channel. A notification sent from this process reaches them
  // at once, not after a trip through Postgres and the LISTEN connection (the projector
  // following the appends of the API and the runner RPC in the same process, say). They
  // hear the Postgres one as well: every call only means "look again".
  const local = new Map<string, Set<(payload: string) => void>>();
  return {
    kind: 'postgres',
    ...executor(db),
    transaction: (work) => db.transaction((tx) => work(executor(tx as unknown as Drizzle))),
    async listen(channel, onNotify) {
      // The driver keeps one dedicated LISTEN connection and reconnects it; onlisten runs on
      // every (re)connect, when missed notifications must be made up for by looking again.
      let connected = false;
      const subscription = await client.listen(
        channel,
        (payload) => onNotify(payload),
        () => {
          if (connected) onNotify('');
          connected = true;
        },
      );
      const here = (payload: string) => onNotify(payload);
      const listeners = local.get(channel) ?? new Set();
      local.set(channel, listeners.add(here));
      return () => {
        listeners.delete(here);
        if (listeners.size === 0 && local.get(channel) === listeners) local.delete(channel);
        return subscription.unlisten();
      };
    },
    async notify(channel, payload = '') {
      for (const listener of local.get(channel) ?? []) queueMicrotask(() => listener(payload));
      await client`select pg_notify(${channel}, ${payload})`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

async function migratePostgresDatabase(url: string): Promise<void> {
  // One connection of its own, so the session lock and the migration share it; ending the
  // session releases the lock even if the migration fails.
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const db = drizzlePostgres(client);
    await db.execute(sql`select ${MIGRATION_LOCK}`);
    await migratePostgres(db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client.end({ timeout: 5 });
  }
}

/**
 * Opens an embedded PGlite database and applies pending migrations: in memory when `source`
 * is absent, in the folder `source` (created on first use; one process at a time), or an
 * already created PGlite instance, which the Database then owns and closes. PGlite and its
 * drizzle driver are imported here, on first use: `runlog server` (Postgres) never loads them.
 */
export async function openPglite(source?: string | PGlite): Promise<Database> {
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  const client = source instanceof PGlite ? source : await PGlite.create(source === undefined ? {} : { dataDir: source });
  try {
    const db = drizzlePglite(client);
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    const executor = (handle: Drizzle): Executor => ({
      db: handle,
      query: async <Row,>(statement: SQL) => ((await handle.execute(statement)) as unknown as { rows: Row[] }).rows,
    });
    return {
      kind: 'pglite',
      ...executor(db as unknown as Drizzle),
      transaction: (work) => db.transaction((tx) => work(executor(tx as unknown as Drizzle))),
      async listen(channel, onNotify) {
        const unlisten = await client.listen(channel, (payload) => onNotify(payload));
        return () => unlisten();
      },
      async notify(channel, payload = '') {
        await client.query('select pg_notify($1, $2)', [channel, payload]);
      },
      close: () => client.close(),
    };
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
}

/**
 * Opens what `target` names: a `postgres://` or `postgresql://` URL, else a PGlite folder;
 * no target means an in-memory PGlite (for tests and `runlog exec`).
 */
export function openDatabase(target?: string): Promise<Database> {
  if (target !== undefined && /^postgres(ql)?:\/\//.test(target)) return openPostgres(target);
  return openPglite(target);
}

/**
 * The SQLSTATE of a database error, looking through the wrappers drizzle puts around driver
 * errors (both drivers set `code`): e.g. '23505' for a unique violation.
 */
export function sqlStateOf(error: unknown): string | undefined {
  for (let cause = error, depth = 0; cause !== null && typeof cause === 'object' && depth < 5; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}
