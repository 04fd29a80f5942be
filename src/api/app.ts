import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { Database } from '../events/database.ts';
import type { Checkpoint, EventStore } from '../events/event-store.ts';
import type { SystemInfo } from '../pipeline/trigger.ts';
import { repoSecretKey, type RepoSecretKey } from '../forge/repo-secrets.ts';
import { authenticate, type Caller } from './auth.ts';
import { registerBuildRoutes } from './build-routes.ts';
import { registerHistoryRoutes } from './history-routes.ts';
import { ApiError, errorResponse } from './errors.ts';
import { registerLatestBuildRoute } from './latest-build-route.ts';
import { registerLogRoutes } from './log-routes.ts';
import { registerQueueRoutes } from './queue-routes.ts';
import { registerRebuildRoutes } from './rebuild-routes.ts';
import { registerRestartRoutes } from './restart-routes.ts';
import { registerStreamRoutes, type Live } from './stream-routes.ts';
import { registerBadgeRoutes } from './badge-routes.ts';
import { createBuildFeed } from '../live/build-feed.ts';
import { createLogTail } from '../live/log-tail.ts';
import { checkAccess, requireServerAdmin } from './access.ts';
import { accessLevel } from '../access/repo-access.ts';
import { registerRepoRoutes } from './repo-routes.ts';
import { registerUserRoutes } from './user-routes.ts';
import { registerPermissionRoutes } from './permission-routes.ts';
import { registerSecretRoutes } from './secret-routes.ts';
import { registerCronRoutes } from './cron-routes.ts';
import type { SecretKey } from '../secrets/sealed-value.ts';
import type { Logger } from 'pino';
import { requestLog, type HttpCounters } from './request-log.ts';
import { renderMetrics } from './metrics.ts';
import { registerOpenApiRoutes } from './openapi.ts';
import { registerWebRoutes } from '../web/routes.ts';
import { registerHookRoutes } from './hook-routes.ts';
import { createConfigSource, type ConfigSource } from '../forge/config-source.ts';
import type { FetchLike } from '../forge/forge-api.ts';

/** What the API needs; `createApp` builds it from these and nothing else (tests call it without a socket). */
export type AppDeps = {
  database: Database;
  store: EventStore;
  adminToken: string;
  /** Seals secret values (RUNLOG_SECRET_KEY); absent: secrets cannot be added or changed. */
  secretKey?: SecretKey;
  system: SystemInfo;
  /** Resolves once the projections have applied the log up to `checkpoint` (read-after-write). */
  waitForProjections(checkpoint: Checkpoint | undefined): Promise<void>;
  now?: () => Date;
  log?: (message: string) => void;
  /** The process's shared live followers (SSE); made on demand when absent (tests). Whoever passes them closes them. */
  live?: Live;
  /** Told once a `CancelRequested` of `buildId` is appended: `runlog server` publishes the NATS cancel hint. */
  onCancelRequested?: (buildId: string) => void;
  /** Structured JSON logs (an access line per request, with its request id); absent: none. */
  logger?: Logger;
  /** Reads `.drone.yml` at a commit (forge API or git); default: src/forge/config-source.ts with `forgeFetch`. */
  configSource?: ConfigSource;
  /** fetch for forge API calls (tests point it nowhere else than loopback anyway); default: global fetch. */
  forgeFetch?: FetchLike;
};
/** The deps with the defaults `createApp` fills in: `repoSecretKey` seals the webhook secret and forge token (src/forge/repo-secrets.ts: secretKey, else one derived from the admin token — hooks work without RUNLOG_SECRET_KEY); `configSource` is shared by hooks and manual builds. */
export type ResolvedDeps = AppDeps & { repoSecretKey: RepoSecretKey; configSource: ConfigSource };

export type Env = { Variables: { caller: Caller } };
export type App = Hono<Env>;

export function createApp(given: AppDeps): App {
  // One config source (and so one cache by sha) for hooks and manual builds.
  const configSource = given.configSource ?? createConfigSource({ ...(given.forgeFetch ? { fetch: given.forgeFetch } : {}) });
  const deps: ResolvedDeps = Object.assign(Object.create(given) as AppDeps, { repoSecretKey: repoSecretKey(given.secretKey, given.adminToken), configSource });
  const app: App = new Hono<Env>();
  const httpCounters: HttpCounters = new Map();
  app.use('*', requestLog(deps.logger, httpCounters));
  app.onError((error, c) => errorResponse(error, c, deps.log));
  app.notFound((c) => c.json({ message: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.get('/healthz', async (c) => {
    await deps.database.query(sqlOne);
    return c.json({ status: 'ok', database: deps.database.kind, version: deps.system.version });
  });

  app.use('/api/*', authenticate(deps.adminToken, deps.database));
  app.use('/metrics', authenticate(deps.adminToken, deps.database));
  app.get('/metrics', async (c) => {
    requireServerAdmin(c.get('caller'));
    return c.body(await renderMetrics(deps.database, httpCounters), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
  });
  registerHookRoutes(app, deps); // /hook is outside /api: the forge signs it, no API token
  registerRepoRoutes(app, deps);
  registerLatestBuildRoute(app, deps); // before `GET .../builds/{number}`, which would take 'latest' for a bad number
  registerHistoryRoutes(app, deps); // before the build routes: `?at=` answers GET .../builds/{number} first
  registerBuildRoutes(app, deps);
  registerBadgeRoutes(app, deps);
  registerStreamRoutes(app, deps, deps.live ?? { feed: createBuildFeed(deps), logs: createLogTail(deps) });
  registerRebuildRoutes(app, deps);
  registerRestartRoutes(app, deps);
  registerLogRoutes(app, deps);
  registerQueueRoutes(app, deps);
  registerUserRoutes(app, deps);
  registerPermissionRoutes(app, deps);
  registerSecretRoutes(app, deps);
  registerCronRoutes(app, deps);
  registerOpenApiRoutes(app); // last: it documents every route registered before it
  registerWebRoutes(app, { log: deps.log }); // after the API: the page answers only the paths nothing else took, and is not in the OpenAPI document
  return app;
}

const sqlOne = sql`select 1`;

/**
 * A server admin (the admin token or an admin user). Kept for routes that predate repo
 * permissions: a repo route should use `requireRepo(db, c, 'read' | 'write' | 'admin')`
 * (access.ts), which also lets users with a granted permission in.
 */
export function requireAdmin(caller: Caller): { login: string } {
  return requireServerAdmin(caller);
}

/**
 * Reads by visibility alone: public for anyone, internal for any signed-in user, private
 * for a server admin. Kept for older call sites; `requireRepo(db, c, 'read')` also honours
 * the permissions an admin granted.
 */
export function requireReader(caller: Caller, visibility: string): void {
  checkAccess(caller, accessLevel(caller, visibility, undefined), 'read', 'this repository');
}
