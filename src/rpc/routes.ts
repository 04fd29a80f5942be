import { createHash, timingSafeEqual } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { findStage, isBuild, type BuildState } from '../events/build-state.ts';
import { buildStreamId } from '../events/build-events.ts';
import type { Database } from '../events/database.ts';
import { IllegalCommand } from '../events/decider-errors.ts';
import { events as eventsTable } from '../events/event-table.ts';
import type { EventStore } from '../events/event-store.ts';
import { appendChunk, clearRestartedStepLogs } from '../logs/log-store.ts';
import { announceLog } from '../live/log-tail.ts';
import { ApiError, errorResponse } from '../api/errors.ts';
import { parseBody } from '../api/bodies.ts';
import { handleBuildCommand, readBuild } from '../server/command-handler.ts';
import { dropLease, findLease, renewLease } from '../server/leases.ts';
import { claimStage } from './claim.ts';
import type { SecretKey } from '../secrets/sealed-value.ts';
import { recordRunnerReport, touchRunner } from '../server/runners.ts';
import { BuildIdParam, ClaimBody, CommandBody, HeartbeatBody, LogBody, RunnerReport } from './protocol.ts';

export type RpcDeps = {
  database: Database;
  store: EventStore;
  /** RUNLOG_RPC_SECRET: the one credential runners hold (they never see the database). */
  secret: string;
  leaseTtlSeconds: number;
  /** Opens the secrets a claimed stage is given (RUNLOG_SECRET_KEY). */
  secretKey?: SecretKey;
  now?: () => Date;
  log?: (message: string) => void;
};

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * The runner RPC (DESIGN.md "Components"): a Hono app mounted at `/rpc`. Every route needs
 * `Authorization: Bearer <secret>`, compared by sha256 in constant time. Runner commands
 * carry their lease token and the decider fences stale ones (403 `stale_lease`); a
 * heartbeat is refused the same way once the lease is gone or held by another token.
 */
export function createRpcApp(deps: RpcDeps): Hono {
  const { database, store } = deps;
  const now = deps.now ?? (() => new Date());
  const expected = digest(deps.secret);
  const app = new Hono();
  app.onError((error, c) => errorResponse(error, c, deps.log));

  app.use('*', async (c, next) => {
    const token = c.req.header('authorization')?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
    if (!token) return c.json({ message: 'the runner RPC needs Authorization: Bearer <RUNLOG_RPC_SECRET>', code: 'unauthorized' }, 401);
    if (!timingSafeEqual(digest(token), expected)) return c.json({ message: 'wrong RPC secret: check RUNLOG_RPC_SECRET', code: 'unauthorized' }, 401);
    await next();
  });

  const buildIdOf = (value: string | undefined) => {
    const parsed = BuildIdParam.safeParse(value);
    if (!parsed.success) throw new ApiError(400, `buildId: expected a UUID, got '${String(value).slice(0, 40)}'`);
    return parsed.data;
  };

  app.post('/runners/report', async (c) => {
    const report = parseBody(RunnerReport, await c.req.text());
    await recordRunnerReport(database, report, now());
    return c.json({ ok: true });
  });

  app.post('/claim', async (c) => {
    const body = parseBody(ClaimBody, await c.req.text());
    // The runner's last-seen time is bookkeeping beside the claim: written at the same time,
    // and a failure to write it is logged rather than failing a claim already recorded.
    const [answer] = await Promise.all([
      claimStage({ database, store, leaseTtlSeconds: deps.leaseTtlSeconds, now, secretKey: deps.secretKey, log: deps.log }, body),
      touchRunner(database, body.runner, now()).catch((error: unknown) => deps.log?.(`runlog rpc: could not record that runner ${body.runner.id} was seen: ${error instanceof Error ? error.message : String(error)}`)),
    ]);
    return c.json(answer);
  });

  app.post('/builds/:buildId/command', async (c) => {
    const buildId = buildIdOf(c.req.param('buildId'));
    const { command } = parseBody(CommandBody, await c.req.text());
    const leaseToken = (command.data as { leaseToken: string }).leaseToken;
    const stage = (command.data as { stage: number }).stage;
    // The runner holding the stage, from the build's own claim (the lease row says the same, at the cost of a query).
    const holder = (state: BuildState) => ({ runnerId: isBuild(state) ? findStage(state, stage)?.claim?.runner.id : undefined });
    const handled = await handleBuildCommand(store, buildId, command, holder);
    await clearRestartedStepLogs(database, buildId, handled.events, handled.stream);
    // The stage ended or was handed back: this token's lease is over (the reaper must not expire it).
    const live = isBuild(handled.state) ? findStage(handled.state, stage)?.claim : undefined;
    if (live?.leaseToken !== leaseToken) await dropLease(database, { buildId, stage, leaseToken });
    return c.json({ events: handled.events });
  });

  app.post('/builds/:buildId/logs', async (c) => {
    const buildId = buildIdOf(c.req.param('buildId'));
    const body = parseBody(LogBody, await c.req.text());
    // Fencing for output: a runner whose stage another token holds now writes nothing more.
    const lease = await findLease(database, { buildId, stage: body.stage });
    if (lease && lease.leaseToken !== body.leaseToken) throw new IllegalCommand('stale_lease', `stage ${body.stage} is held by another lease: this runner lost its claim`);
    const result = await appendChunk(database, { buildId, stage: body.stage, step: body.step }, { offset: body.offset, data: body.data });
    if (result === 'stored') announceLog(database, { buildId, stage: body.stage, step: body.step });
    return c.json({ result });
  });

  app.get('/builds/:buildId/history', async (c) => {
    const buildId = buildIdOf(c.req.param('buildId'));
    return c.json({ events: (await readBuild(store, buildId)).events });
  });

  app.post('/builds/:buildId/heartbeat', async (c) => {
    const buildId = buildIdOf(c.req.param('buildId'));
    const body = parseBody(HeartbeatBody, await c.req.text());
    const expiresAt = await renewLease(database, { buildId, stage: body.stage, leaseToken: body.leaseToken }, deps.leaseTtlSeconds);
    if (!expiresAt) throw new IllegalCommand('stale_lease', `stage ${body.stage} has no live lease for this token: this runner lost its claim`);
    return c.json({ expiresAt: expiresAt.toISOString() });
  });

  app.get('/builds/:buildId/cancelled', async (c) => {
    const buildId = buildIdOf(c.req.param('buildId'));
    // Fencing at the poll too: a runner back from a pause learns at once that another token holds its stage.
    const stage = Number(c.req.query('stage'));
    const leaseToken = c.req.query('lease');
    if (leaseToken && Number.isInteger(stage) && stage > 0) {
      const lease = await findLease(database, { buildId, stage });
      if (lease && lease.leaseToken !== leaseToken) throw new IllegalCommand('stale_lease', `stage ${stage} is held by another lease: this runner lost its claim`);
    }
    // Polled every second per running stage: look for the one event, not the whole stream.
    const rows = await database.db
      .select({ one: sql`1` })
      .from(eventsTable)
      .where(and(eq(eventsTable.streamId, buildStreamId(buildId)), eq(eventsTable.type, 'CancelRequested')))
      .limit(1);
    return c.json({ cancelled: rows.length > 0 });
  });

  app.notFound((c) => c.json({ message: `no RPC route for ${c.req.method} ${c.req.path}` }, 404));
  return app;
}
