import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { subscribeCancelHints } from '../dispatch/cancel-hints.ts';
import { createJetStreamQueue } from '../dispatch/jetstream-queue.ts';
import { natsNamespaceFromEnv } from '../dispatch/nats-namespace.ts';
import type { StageOffer } from '../dispatch/stage-queue.ts';
import { createRpcClient } from '../rpc/client.ts';
import { rpcFetchForRuntime } from '../rpc/http-transport.ts';
import type { ClaimAnswer } from '../rpc/claim.ts';
import { startHeartbeat } from '../runner/heartbeat.ts';
import { pickEngine } from '../runner/pick-engine.ts';
import { hostPlatform } from '../runner/platform.ts';
import { createRpcReporter } from '../runner/rpc-reporter.ts';
import type { RunnerReportInput } from '../rpc/protocol.ts';
import { startPresence } from '../runner/presence.ts';
import { createWorkspaceKeeper, retentionFromEnv } from '../runner/workspace-keeper.ts';
import { runRunnerLoop, type ClaimedStage } from '../runner/runner-loop.ts';

/** A setting the runner cannot start without; printed, exit 2. */
class UsageError extends Error {}

const USAGE = `usage: runlog runner --server URL --nats URL --secret S [--name N] [--capacity N] [--labels k=v,...]
                     [--engine docker|exec|noop] [--os OS] [--arch ARCH] [--variant V] [--kernel K]
  --server, --nats and --secret may come from RUNLOG_SERVER, RUNLOG_NATS_URL and RUNLOG_RPC_SECRET.`;

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').filter((part) => part.trim() !== '')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--labels: expected key=value pairs separated by commas, got '${pair}'`);
    labels[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return labels;
}

function settings(args: string[]) {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      server: { type: 'string' },
      nats: { type: 'string' },
      secret: { type: 'string' },
      name: { type: 'string' },
      capacity: { type: 'string' },
      labels: { type: 'string' },
      engine: { type: 'string' },
      os: { type: 'string' },
      arch: { type: 'string' },
      variant: { type: 'string' },
      kernel: { type: 'string' },
    },
  });
  const server = values.server ?? process.env.RUNLOG_SERVER;
  const nats = values.nats ?? process.env.RUNLOG_NATS_URL;
  const secret = values.secret ?? process.env.RUNLOG_RPC_SECRET;
  if (!server) throw new UsageError('the server to report to is missing: --server http://host:port or RUNLOG_SERVER');
  if (!/^https?:\/\//.test(server)) throw new UsageError(`--server must be an http:// or https:// URL, got '${server}'`);
  if (!nats) throw new UsageError('the NATS server to take work from is missing: --nats nats://host:4222 or RUNLOG_NATS_URL');
  if (!secret) throw new UsageError('the RPC secret is missing: --secret or RUNLOG_RPC_SECRET (the server has the same one)');
  const capacity = Number(values.capacity ?? '1');
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 64) throw new UsageError(`--capacity must be a whole number from 1 to 64, got '${values.capacity}'`);
  const engine = values.engine ?? 'docker';
  // noop runs nothing (benchmarks only: see src/runner/noop/engine.ts).
  if (engine !== 'docker' && engine !== 'exec' && engine !== 'noop') throw new UsageError(`--engine must be docker, exec or noop, got '${engine}'`);
  let namespace;
  try {
    namespace = natsNamespaceFromEnv();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const host = hostPlatform();
  const platform = { os: values.os ?? host.os, arch: values.arch ?? host.arch, variant: values.variant ?? host.variant, kernel: values.kernel ?? host.kernel };
  return { server, nats, secret, name: values.name ?? hostname(), capacity, labels: parseLabels(values.labels ?? ''), engine, platform, namespace } as const;
}

/**
 * `runlog runner`: takes the stages of its pools from JetStream, claims each through the
 * server's RPC, runs it on its engine and reports over RPC, heartbeating each held stage
 * every third of its lease's TTL. SIGTERM (or Ctrl-C) stops the running stages and hands
 * them back (the stage runner sends `ExpireLease`, so they are requeued at once), then exits 0.
 */
export async function run(args: string[]): Promise<number> {
  let config: ReturnType<typeof settings>;
  try {
    config = settings(args);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`runlog runner: ${(error as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  const log = (message: string) => process.stderr.write(`${message}\n`);
  const stop = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals += 1;
    if (signals > 1) process.exit(130);
    log('runlog runner: stopping; handing back running stages');
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let retentionMs: number;
  try {
    retentionMs = retentionFromEnv();
  } catch (error) {
    process.stderr.write(`runlog runner: RUNLOG_WORKSPACE_RETENTION: ${(error as Error).message}\n`);
    return 2;
  }
  const client = createRpcClient({ server: config.server, secret: config.secret, fetch: rpcFetchForRuntime() });
  const runner = { id: `runner:${config.name}`, name: config.name };
  const engine = await pickEngine(config.engine, config.name);
  await engine.sweep({ runner: config.name }).catch((error: unknown) => log(`runlog runner: sweep failed: ${String(error)}`));
  const nats = await connect({ servers: config.nats, name: `runlog-runner-${config.name}`, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const queue = await createJetStreamQueue({ connection: nats, stream: config.namespace.stream, subjectPrefix: config.namespace.stagesPrefix });
  const beats = new Map<string, { stop(): void }>();
  // Cancel hints wake the cancel poll of every running stage of the build at once.
  const wakes = new Map<string, Set<() => void>>();
  const hints = subscribeCancelHints(nats, config.namespace.cancelPrefix, (buildId) => {
    for (const wake of wakes.get(buildId) ?? []) wake();
  });
  const cancelHint = (buildId: string) => (wake: () => void) => {
    const set = wakes.get(buildId) ?? new Set();
    wakes.set(buildId, set.add(wake));
    return () => {
      set.delete(wake);
      if (set.size === 0) wakes.delete(buildId);
    };
  };

  async function claim(offer: StageOffer): Promise<ClaimedStage> {
    const answer = await client.post<ClaimAnswer>('/claim', { buildId: offer.buildId, stage: offer.stage, attempt: offer.attempt, runner }, stop.signal);
    const heartbeat = startHeartbeat({
      client,
      buildId: offer.buildId,
      stage: offer.stage,
      leaseToken: answer.leaseToken,
      everyMs: (answer.leaseTtlSeconds * 1000) / 3,
      signal: stop.signal,
      log,
    });
    beats.set(`${offer.buildId}:${offer.stage}`, heartbeat);
    const reporter = createRpcReporter({ client, buildId: offer.buildId, stage: offer.stage, leaseToken: answer.leaseToken, heartbeat, history: answer.history });
    return { reporter, leaseToken: answer.leaseToken, secrets: answer.secrets, limits: answer.limits, run: answer.run, cancelHint: cancelHint(offer.buildId) };
  }

  const keeper = engine.workspaces ? createWorkspaceKeeper({ workspaces: engine.workspaces, retentionMs }) : undefined;
  let holding: RunnerReportInput['stages'] = [];
  const startedAt = new Date().toISOString();
  const presence = startPresence({
    describe: () => ({
      runner,
      platform: config.platform,
      engine: engine.kind,
      labels: config.labels,
      capacity: config.capacity,
      stages: holding,
      workspaces: keeper?.list() ?? [],
      startedAt,
    }),
    send: (report) => client.post('/runners/report', report, stop.signal).then(() => {}),
    signal: stop.signal,
    log,
  });

  process.stdout.write(
    `runlog runner ${config.name} ready: ${config.engine} engine, ${config.platform.os}/${config.platform.arch}, capacity ${config.capacity}, labels ${JSON.stringify(config.labels)}, server ${config.server}\n`,
  );
  try {
    await runRunnerLoop({
      queue,
      profile: { id: runner.id, platform: config.platform, labels: config.labels, type: engine.kind },
      keeper,
      onStagesChanged: (stages) => {
        holding = stages;
        presence.poke();
      },
      engine,
      capacity: config.capacity,
      claim,
      signal: stop.signal,
      log,
      onStageEnded: (offer, result) => {
        if (result.status === 'lost') log(`runlog runner: lost ${offer.buildId}#${offer.stage} (${result.error ?? 'another runner holds it'}); its containers were stopped`);
        const key = `${offer.buildId}:${offer.stage}`;
        beats.get(key)?.stop();
        beats.delete(key);
      },
    });
  } finally {
    for (const beat of beats.values()) beat.stop();
    hints.close();
    await queue.close();
    await nats.drain().catch(() => {});
    await presence.done;
  }
  return 0;
}
