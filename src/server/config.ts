import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openPglite, openPostgres, type Database } from '../events/database.ts';

/**
 * Where runlog keeps its data. `RUNLOG_DATABASE_URL` (Postgres) wins; without it the
 * embedded PGlite database lives in `<RUNLOG_DATA or ./.runlog>/db`. Every command that
 * opens the database (serve, server, projections, verify, events) asks here, so they all
 * agree on which database they mean.
 */
export type DatabaseTarget = { kind: 'postgres'; url: string } | { kind: 'pglite'; dir: string };

export const dataDir = (env = process.env) => resolve(env.RUNLOG_DATA ?? '.runlog');

export function databaseTarget(env = process.env): DatabaseTarget {
  const url = env.RUNLOG_DATABASE_URL;
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new ConfigError(`RUNLOG_DATABASE_URL must be a postgres:// URL, got '${url.slice(0, 40)}'`);
    }
    return { kind: 'postgres', url };
  }
  return { kind: 'pglite', dir: join(dataDir(env), 'db') };
}

export async function openConfiguredDatabase(env = process.env): Promise<Database> {
  const target = databaseTarget(env);
  if (target.kind === 'postgres') return openPostgres(target.url);
  mkdirSync(target.dir, { recursive: true });
  return openPglite(target.dir);
}

/** A setting that cannot work; the CLI prints the message and exits 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function portFrom(flag: string | undefined, env = process.env): number {
  const text = flag ?? env.RUNLOG_PORT ?? '8080';
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`port must be a number from 0 to 65535, got '${text}' (--port or RUNLOG_PORT)`);
  }
  return port;
}
