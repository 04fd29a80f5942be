import { randomBytes } from 'node:crypto';
import { connect as connectNats, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { createApp } from '../api/app.ts';
import { createBuildFeed } from '../live/build-feed.ts';
import { createLogTail } from '../live/log-tail.ts';
import type { Database } from '../events/database.ts';
import { createEventStore } from '../events/sql-event-store.ts';
import { projections } from '../projections/index.ts';
import { startProjector } from '../projections/projector.ts';
import { runDispatcher } from '../dispatch/dispatcher.ts';
import { createEarlyOffers } from '../dispatch/early-offers.ts';
import { createQueueHints } from '../dispatch/queue-hints.ts';
import { createJetStreamQueue } from '../dispatch/jetstream-queue.ts';
import { createMemoryQueue } from '../dispatch/memory-queue.ts';
import { natsNamespace, type NatsNamespace } from '../dispatch/nats-namespace.ts';
import { publishCancelHint } from '../dispatch/cancel-hints.ts';
import { createRpcApp } from '../rpc/routes.ts';
import { pickEngine, type EngineChoice } from '../runner/pick-engine.ts';
import { runEmbeddedRunner } from './embedded-runner.ts';
import { runCronScheduler } from '../cron/cron-scheduler.ts';
import type { SecretKey } from '../secrets/sealed-value.ts';
import { runAsLeader } from './leader.ts';
import { listen } from './listen.ts';
import type { StageOffer } from '../dispatch/stage-queue.ts';
import { retentionFromEnv } from '../runner/workspace-keeper.ts';
import { handleBuildCommand, readBuild } from './command-handler.ts';
import { runReaper } from './reaper.ts';
import { markWebhookStart, runSystemWebhooks, type WebhookConfig } from '../webhooks/system-webhooks.ts';
import { markCommitStatusStart, runCommitStatuses } from '../forge/status-follower.ts';
import { repoSecretKey } from '../forge/repo-secrets.ts';
import { markNotifyStart, runBuildEndNotifier, type NotifyConfig, type NotifyLog } from '../notify/build-end-notifier.ts';

export const VERSION = '0.1.0';

export type ServerOptions = {
  database: Database;
  adminToken: string;
  /** RUNLOG_SECRET_KEY: seals secrets in the API, opens them for claimed stages. */
  secretKey?: SecretKey;
  port: number;
  hostname?: string;
  /** Public host for links and DRONE_SYSTEM_HOST; default localhost:<port>. */
  publicHost?: string;
  log?: (message: string) => void;
  /** `runlog serve`'s built-in runner, fed by the in-process queue; absent: no runner in this process. */
  embeddedRunner?: {
    engine: EngineChoice;
    capacity: number;
    name?: string;
    workspaceRetentionMs?: number;
    /**
     * What the engine labels its containers and folders with, and sweeps at start: one
     * installation's own (`runlog serve` derives it from its database). Absent: one of this
     * process's own, so a server never kills the steps of another running on the host.
     */
    scope?: string;
  };
  /** How long a restart's offer waits for the runner keeping its workspace before any runner may take it (default 30 s). */
  routeWaitMs?: number;
  /** `runlog server` with RUNLOG_NATS_URL: dispatch on JetStream to `runlog runner`s, their RPC under /rpc, and the reaper. */
  distributed?: { natsUrl: string; rpcSecret: string; leaseTtlSeconds: number; namespace?: NatsNamespace };
  /** The Postgres URL behind `database`: with it, the dispatcher and the reaper run only in the replica holding the leader lock. */
  databaseUrl?: string;
  /** RUNLOG_WEBHOOK_ENDPOINT: system webhooks, sent by this process (serve) or by the leader replica (server). */
  webhooks?: WebhookConfig;
  /** RUNLOG_SMTP_URL, RUNLOG_NOTIFY_*: build-end email (repo webhooks need nothing here); sent by this process (serve) or the leader replica (server). */
  notify?: NotifyConfig;
  /** Structured JSON request logs (pino); absent: none. */
  logger?: Logger;
  /** Commit statuses to the repos' forges (always on; this only tunes them): pauses between tries, default 1, 4, 16 s. */
  commitStatuses?: { retryDelaysMs?: readonly number[] };
};

export type RunningServer = { port: number; url: string; engine?: string; close(): Promise<void> };

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
  // The dispatcher publishes what this projector queues as soon as it is committed.
  const queueHints = createQueueHints();
  const projector = startProjector({ database, store, projections, signal: stop.signal, onApplied: (events) => queueHints.notice(events) });
  const live = { feed: createBuildFeed({ database, store, log }), logs: createLogTail({ database, log }) };
  let system = { host: options.publicHost ?? `localhost:${options.port}`, proto: 'http', version: VERSION };
  const app = createApp({
    database,
    store,
    adminToken: options.adminToken,
    secretKey: options.secretKey,
    get system() {
      return system;
    },
    waitForProjections: (checkpoint) => (checkpoint ? projector.waitFor(checkpoint) : Promise.resolve()),
    log,
    live,
    ...(options.logger ? { logger: options.logger } : {}),
    onCancelRequested: (buildId) => {
      if (nats) publishCancelHint(nats.connection, nats.namespace.cancelPrefix, buildId);
    },
  });
  const background: Promise<unknown>[] = [];
  const cronOptions = {
    database,
    store,
    log,
    get system() {
      return system;
    },
  };
  // `runlog server` with NATS: one connection for the stage queue and the cancel hints.
  let nats: { connection: NatsConnection; namespace: NatsNamespace } | undefined;
  if (options.distributed) {
    const namespace = options.distributed.namespace ?? natsNamespace();
    const connection = await connectNats({ servers: options.distributed.natsUrl, name: 'runlog-server', maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    nats = { connection, namespace };
  }
  // A restart's offer routed to the runner keeping its workspace and not taken in time goes to the whole pool.
  const requeue = async (offer: StageOffer, reason: string) => {
    const command = { type: 'RequeueStage' as const, data: { stage: offer.stage, attempt: offer.attempt, reason, at: new Date().toISOString() } };
    await handleBuildCommand(store, offer.buildId, command, { actor: 'dispatcher' });
  };
  const routeWaitMs = options.routeWaitMs;
  const earlyOffers = () => createEarlyOffers({ database, readBuild: async (buildId) => (await readBuild(store, buildId)).events });
  let engineKind: string | undefined;
  if (options.embeddedRunner) {
    const queue = createMemoryQueue();
    const name = options.embeddedRunner.name ?? 'embedded';
    const scope = options.embeddedRunner.scope ?? `${name}-${randomBytes(4).toString('hex')}`;
    const engine = await pickEngine(options.embeddedRunner.engine, scope);
    engineKind = engine.kind;
    background.push(
      runDispatcher({ database, queue, signal: stop.signal, hints: queueHints, early: earlyOffers(), log, requeue, routeWaitMs }),
      runEmbeddedRunner({
        database,
        store,
        queue,
        engine,
        capacity: options.embeddedRunner.capacity,
        signal: stop.signal,
        name,
        scope,
        secretKey: options.secretKey,
        log,
        workspaceRetentionMs: options.embeddedRunner.workspaceRetentionMs ?? retentionFromEnv(),
      }).finally(() => queue.close()),
    );
  }
  const webhooks = options.webhooks;
  if (webhooks) await markWebhookStart(database, store);
  const sendWebhooks = (signal: AbortSignal) =>
    webhooks ? runSystemWebhooks({ database, store, config: webhooks, signal, version: VERSION, log }) : Promise.resolve();
  if (!options.distributed) background.push(sendWebhooks(stop.signal));
  await markCommitStatusStart(database, store);
  const sendStatuses = (signal: AbortSignal) =>
    runCommitStatuses({
      database,
      store,
      secretKey: repoSecretKey(options.secretKey, options.adminToken),
      system: () => system,
      signal,
      log,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.commitStatuses?.retryDelaysMs ? { retryDelaysMs: options.commitStatuses.retryDelaysMs } : {}),
    });
  if (!options.distributed) background.push(sendStatuses(stop.signal));
  // Build-end notifications always follow the log: a repo's webhook needs no server setting.
  await markNotifyStart(database, store);
  const notifyLog: NotifyLog = options.logger
    ? (level, fields, message) => options.logger![level]({ ...fields, component: 'notify' }, message)
    : (_level, _fields, message) => log(`runlog: ${message}`);
  const sendNotifications = (signal: AbortSignal) =>
    runBuildEndNotifier({
      database,
      store,
      config: options.notify ?? { recipients: [], on: ['failure', 'change'] },
      signal,
      repoSecretKey: repoSecretKey(options.secretKey, options.adminToken),
      system: () => system,
      waitForProjections: (checkpoint, waitSignal) => projector.waitFor(checkpoint, waitSignal),
      log: notifyLog,
      version: VERSION,
    });
  if (!options.distributed) background.push(sendNotifications(stop.signal));
  if (options.distributed && nats) {
    const { rpcSecret, leaseTtlSeconds } = options.distributed;
    const { namespace } = nats;
    const queue = await createJetStreamQueue({ connection: nats.connection, stream: namespace.stream, subjectPrefix: namespace.stagesPrefix });
    app.route('/rpc', createRpcApp({ database, store, secret: rpcSecret, leaseTtlSeconds, secretKey: options.secretKey, log }));
    const singletons = (signal: AbortSignal) =>
      Promise.all([
        runDispatcher({ database, queue, signal, hints: queueHints, early: earlyOffers(), log, requeue, routeWaitMs }),
        // A lease is looked at a few times per TTL, so it is reaped soon after it lapses.
        runReaper({ database, store, signal, everyMs: Math.min(1000, (leaseTtlSeconds * 1000) / 3), log }),
        sendWebhooks(signal),
        sendStatuses(signal),
        sendNotifications(signal),
        runCronScheduler({ ...cronOptions, signal }),
      ]);
    const url = options.databaseUrl;
    background.push((url ? runAsLeader({ url, signal: stop.signal, work: singletons, log }) : singletons(stop.signal)).finally(() => queue.close()));
  }
  // Without JetStream there is no leader to elect: this process fires the cron jobs (`runlog serve`).
  if (!options.distributed) background.push(runCronScheduler({ ...cronOptions, signal: stop.signal }));
  const listener = await listen(app.fetch, options.port, options.hostname);
  if (!options.publicHost) system = { ...system, host: `localhost:${listener.port}` };
  let closing: Promise<void> | undefined;
  return {
    port: listener.port,
    url: `http://localhost:${listener.port}`,
    engine: engineKind,
    close: () =>
      (closing ??= (async () => {
        await listener.close();
        stop.abort();
        await Promise.all([live.feed.close(), live.logs.close()]);
        // Running stages are stopped and handed back before the database closes.
        await Promise.allSettled(background);
        await nats?.connection.drain().catch(() => {});
        await projector.done.catch((error: unknown) => log(`runlog: projector stopped with ${String(error)}`));
        await database.close();
      })()),
  };
}
