import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { natsNamespaceFromEnv } from '../dispatch/nats-namespace.ts';
import { openPglite, openPostgres } from '../events/database.ts';
import { ConfigError, dataDir, databaseTarget, portFrom } from '../server/config.ts';
import { leaseTtlSeconds } from '../server/leases.ts';
import { startServer } from '../server/runtime.ts';
import { newSecretKeyText, parseSecretKey, SecretKeyError, type SecretKey } from '../secrets/sealed-value.ts';
import { webhookConfigFromEnv } from '../webhooks/system-webhooks.ts';
import { notifyConfigFromEnv } from '../notify/build-end-notifier.ts';
import pino from 'pino';

/** `runlog serve`: the embedded default (PGlite in ./.runlog, no external service). */
export const run = (args: string[]) => serveCommand(args, 'serve');

/**
 * `serve` and `server` differ only in where the database is: `serve` uses PGlite in the
 * data folder unless RUNLOG_DATABASE_URL is set; `server` requires RUNLOG_DATABASE_URL.
 */
export async function serveCommand(args: string[], mode: 'serve' | 'server'): Promise<number> {
  try {
    const { values } = parseArgs({ args, options: { port: { type: 'string' }, host: { type: 'string' } }, strict: true });
    const port = portFrom(values.port);
    const target = databaseTarget();
    if (mode === 'server' && target.kind !== 'postgres') {
      throw new ConfigError('runlog server needs RUNLOG_DATABASE_URL=postgres://...; for the embedded database use runlog serve');
    }
    const started = Date.now();
    const firstStart = target.kind === 'pglite' && !existsSync(join(target.dir, 'PG_VERSION'));
    if (target.kind === 'pglite') {
      mkdirSync(target.dir, { recursive: true });
      if (firstStart) process.stderr.write(`runlog: creating the embedded database in ${target.dir} (first start takes a few seconds)\n`);
    }
    const database = target.kind === 'postgres' ? await openPostgres(target.url) : await openPglite(target.dir);
    const adminToken = adminTokenFor(mode);
    const secretKey = secretKeyFor(mode);
    const server = await startServer({
      database,
      adminToken: adminToken.token,
      ...(secretKey.key ? { secretKey: secretKey.key } : {}),
      port,
      publicHost: values.host ?? process.env.RUNLOG_HOST,
      databaseUrl: target.kind === 'postgres' ? target.url : undefined,
      ...(mode === 'serve' ? embeddedRunnerFromEnv(target.kind === 'postgres' ? target.url : target.dir) : distributedFromEnv()),
      ...webhooksFromEnv(),
      notify: notifyFromEnv(),
      routeWaitMs: routeWaitFromEnv(),
      // One JSON line per request on stderr, each with its request id.
      logger: pino({ base: { service: `runlog-${mode}` } }, pino.destination(2)),
    });
    const where = target.kind === 'postgres' ? 'postgres' : target.dir;
    process.stdout.write(
      `runlog ${mode} listening on ${server.url} (database: ${where}, runner: ${server.engine ?? 'none'}, ready in ${Date.now() - started} ms)\n` +
        `secret key: ${secretKey.source}\n` +
        (adminToken.source === 'env' ? 'admin token: from RUNLOG_ADMIN_TOKEN\n' : `admin token: ${adminToken.token} (saved in ${adminToken.source})\n`),
    );
    await shutdownOnSignal(server.close);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`runlog ${mode}: ${(error as Error).message}\n`);
      return 2;
    }
    if ((error as { code?: string }).code === 'EADDRINUSE') {
      process.stderr.write(`runlog ${mode}: the port is taken; choose another with --port or RUNLOG_PORT\n`);
      return 1;
    }
    throw error;
  }
}

/**
 * RUNLOG_RESTART_ROUTE_WAIT: seconds a restart from a step waits for the runner keeping its
 * workspace before any runner of the pool may run the stage from the start (default 30).
 */
function routeWaitFromEnv(env = process.env): number {
  const text = env.RUNLOG_RESTART_ROUTE_WAIT || '30';
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 3600) {
    throw new ConfigError(`RUNLOG_RESTART_ROUTE_WAIT must be a number of seconds from 1 to 3600, got '${text.slice(0, 40)}'`);
  }
  return seconds * 1000;
}

/** RUNLOG_WEBHOOK_ENDPOINT and RUNLOG_WEBHOOK_SECRET: outbound system webhooks. */
function webhooksFromEnv() {
  try {
    const webhooks = webhookConfigFromEnv();
    return webhooks ? { webhooks } : {};
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** RUNLOG_SMTP_URL, RUNLOG_SMTP_FROM, RUNLOG_NOTIFY_EMAIL, RUNLOG_NOTIFY_ON: build-end email. */
function notifyFromEnv() {
  try {
    return notifyConfigFromEnv();
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/**
 * The built-in runner of `serve`: RUNLOG_ENGINE (auto, docker, exec or none) and RUNLOG_CAPACITY
 * (parallel stages). Its engine scope comes from the database, so a restart sweeps what a
 * crashed run of the same installation left, and never another installation's steps.
 */
function embeddedRunnerFromEnv(database: string) {
  const engine = process.env.RUNLOG_ENGINE || 'auto';
  if (!['auto', 'docker', 'exec', 'none'].includes(engine)) throw new ConfigError(`RUNLOG_ENGINE must be auto, docker, exec or none, got '${engine}'`);
  const capacity = Number(process.env.RUNLOG_CAPACITY || 2);
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 64) throw new ConfigError(`RUNLOG_CAPACITY must be a whole number from 1 to 64, got '${process.env.RUNLOG_CAPACITY}'`);
  const scope = `embedded-${createHash('sha256').update(database).digest('hex').slice(0, 12)}`;
  return engine === 'none' ? {} : { embeddedRunner: { engine: engine as 'auto' | 'docker' | 'exec', capacity, scope } };
}

/** `server` with RUNLOG_NATS_URL hands stages to `runlog runner`s over JetStream; they reach it with RUNLOG_RPC_SECRET. */
function distributedFromEnv() {
  const natsUrl = process.env.RUNLOG_NATS_URL;
  if (!natsUrl) return {};
  const rpcSecret = process.env.RUNLOG_RPC_SECRET ?? '';
  if (rpcSecret.length < 16) throw new ConfigError('RUNLOG_NATS_URL is set, so runners need RUNLOG_RPC_SECRET: a random string of at least 16 characters');
  try {
    return { distributed: { natsUrl, rpcSecret, leaseTtlSeconds: leaseTtlSeconds(), namespace: natsNamespaceFromEnv() } };
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/**
 * RUNLOG_ADMIN_TOKEN when set; else (serve only) the token saved in the data folder,
 * generated on first start so a fresh machine needs no setup.
 */
/**
 * RUNLOG_SECRET_KEY seals repo secrets. `serve` without it generates one into
 * <data>/secret.key (mode 0600) on first start and reads it after, like the admin token;
 * `server` without it runs with secrets off (adding one answers 503 saying what to set),
 * because a key generated on one replica would not open secrets sealed on another; its repos'
 * webhook secrets and forge tokens are then sealed with a key derived from the admin token,
 * which every replica has (src/forge/repo-secrets.ts).
 */
function secretKeyFor(mode: 'serve' | 'server'): { key?: SecretKey; source: string } {
  try {
    const fromEnv = process.env.RUNLOG_SECRET_KEY;
    if (fromEnv) return { key: parseSecretKey(fromEnv), source: 'RUNLOG_SECRET_KEY' };
    if (mode === 'server') return { source: 'none: secrets cannot be added, and webhook secrets and forge tokens are sealed with a key derived from RUNLOG_ADMIN_TOKEN (set RUNLOG_SECRET_KEY)' };
    const file = join(dataDir(), 'secret.key');
    if (existsSync(file)) return { key: parseSecretKey(readFileSync(file, 'utf8')), source: file };
    const text = newSecretKeyText();
    writeFileSync(file, `${text}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return { key: parseSecretKey(text), source: file };
  } catch (error) {
    if (error instanceof SecretKeyError) throw new ConfigError(error.message);
    throw error;
  }
}

function adminTokenFor(mode: 'serve' | 'server'): { token: string; source: string } {
  const fromEnv = process.env.RUNLOG_ADMIN_TOKEN;
  if (fromEnv) return { token: fromEnv, source: 'env' };
  if (mode === 'server') throw new ConfigError('runlog server needs RUNLOG_ADMIN_TOKEN (a long random string) for its admin API');
  const file = join(dataDir(), 'admin-token');
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), source: file };
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, source: file };
}

/** Waits for Ctrl-C or SIGTERM, then closes cleanly; a second signal exits at once. */
function shutdownOnSignal(close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write('runlog: shutting down\n');
      close().then(resolve, (error: unknown) => {
        process.stderr.write(`runlog: shutdown failed: ${String(error)}\n`);
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
