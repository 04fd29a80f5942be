// Throw-away Postgres databases for integration tests, on the server that
// scripts/services.sh starts (RUNLOG_TEST_DATABASE_URL).
import postgres from 'postgres';

function serverUrl(): string {
  const url = process.env.RUNLOG_TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'RUNLOG_TEST_DATABASE_URL is not set: run `scripts/services.sh start` and then `source .runlog-test/env` ' +
        '(or run the whole suite with `npm test`, which does both)',
    );
  }
  return url;
}

async function asAdmin<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(serverUrl(), { max: 1, onnotice: () => {} });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** CREATEs a uniquely named, empty database and returns its URL. */
export async function freshDatabaseUrl(prefix = 'runlog_test'): Promise<string> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 10)}`.toLowerCase();
  await asAdmin((sql) => sql.unsafe(`create database "${name}"`));
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** DROPs the database a `freshDatabaseUrl` made, closing whatever connections are left on it. */
export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  await asAdmin((sql) => sql.unsafe(`drop database if exists "${name.replace(/"/g, '""')}" with (force)`));
}
