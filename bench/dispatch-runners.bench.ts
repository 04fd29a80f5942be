/**
 * Dispatch through the whole system: `runlog server` (a process of its own, on Postgres and
 * NATS JetStream) and runners on the **noop engine** (src/runner/noop/engine.ts: every step
 * "runs" instantly with one fixed log line). The figures are runlog's scheduling costs —
 * API, events, projections, dispatcher, NATS, claim and report RPCs — with no container in
 * them; they say nothing about how fast a real step runs.
 *
 * The 20 and 50 runners are in-process runner loops of this bench process (each its own
 * pull subscription, claim and reports over HTTP RPC, as `runlog runner` does; one NATS
 * connection shared): 50 node processes would swamp 2 cores with their own start-up.
 *
 * Figures:
 *   - dispatch latency: BuildCreated → the runner's first StepStarted, both `recorded_at`
 *     of the database clock, p50/p99 over BENCH_LATENCY_BUILDS (1,000) builds created one
 *     at a time, 20 idle runners (goal p50 ≤ 20 ms, p99 ≤ 100 ms);
 *   - queue depth: the same latency with 10 and with BENCH_DEPTH (10,000) stages already
 *     waiting for labels no runner has; ratio of p50s (goal ≤ 1.5);
 *   - throughput: BENCH_THROUGHPUT_BUILDS (10,000) one-stage three-step builds through the
 *     API (32 requests in flight) to BuildFinished with 50 runners (goal ≥ 300 builds/s),
 *     next to the raw event-store append rate (one event per append, 32 writers) in the
 *     same run;
 *   - idle RSS of a `runlog server` and a `runlog runner --engine noop` process (goals
 *     ≤ 120 MB, ≤ 64 MB).
 * `npm run bench -- dispatch --quick` runs small counts (100 / 1,000 / 1,000).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import postgres from 'postgres';
import { createJetStreamQueue } from '../src/dispatch/jetstream-queue.ts';
import { natsNamespace, type NatsNamespace } from '../src/dispatch/nats-namespace.ts';
import type { StageOffer } from '../src/dispatch/stage-queue.ts';
import { buildStreamId } from '../src/events/build-events.ts';
import { openPostgres } from '../src/events/database.ts';
import { createEventStore } from '../src/events/sql-event-store.ts';
import type { ClaimAnswer } from '../src/rpc/claim.ts';
import { createRpcClient } from '../src/rpc/client.ts';
import { startHeartbeat } from '../src/runner/heartbeat.ts';
import { createNoopEngine } from '../src/runner/noop/engine.ts';
import { createRpcReporter } from '../src/runner/rpc-reporter.ts';
import { runRunnerLoop, type ClaimedStage } from '../src/runner/runner-loop.ts';
import { dropDatabase, freshDatabaseUrl } from '../test/support/postgres.ts';
import { REPO_ROOT, runtimes, startServe, type ServeProcess } from '../test/support/serve-process.ts';

const quick = process.argv.includes('--quick');
const LATENCY_BUILDS = Number(process.env.BENCH_LATENCY_BUILDS ?? (quick ? 100 : 1000));
const THROUGHPUT_BUILDS = Number(process.env.BENCH_THROUGHPUT_BUILDS ?? (quick ? 1000 : 10_000));
const DEPTH = Number(process.env.BENCH_DEPTH ?? (quick ? 1000 : 10_000));
const LATENCY_RUNNERS = 20;
const THROUGHPUT_RUNNERS = 50;
const IN_FLIGHT = 32;
const SECRET = 'bench-dispatch-secret-0123456789';
const ADMIN = 'bench-dispatch-admin';
const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

const pipeline = (pool: string, steps = 1) => `kind: pipeline
type: docker
name: default
clone:
  disable: true
node:
  pool: ${pool}
steps:
${Array.from({ length: steps }, (_, i) => `- name: s${i + 1}\n  image: runlog-test/busybox:latest\n  commands: [true]`).join('\n')}
`;

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

type Runners = { stop(): Promise<void> };

/**
 * `count` runner loops in this process, each as `runlog runner` wires one (src/cli/runner.ts):
 * a pull subscription of its own, claims and reports over the server's RPC, a heartbeat per
 * held stage, the noop engine.
 */
async function startRunners(options: { count: number; server: string; nc: NatsConnection; namespace: NatsNamespace; labels: Record<string, string> }): Promise<Runners> {
  const stop = new AbortController();
  // Every runner loop listens on this one signal: many listeners here are the design, not a leak.
  setMaxListeners(0, stop.signal);
  const client = createRpcClient({ server: options.server, secret: SECRET });
  const loops = await Promise.all(
    Array.from({ length: options.count }, async (_, index) => {
      const name = `bench-${index}`;
      const runner = { id: `runner:${name}`, name };
      const queue = await createJetStreamQueue({ connection: options.nc, stream: options.namespace.stream, subjectPrefix: options.namespace.stagesPrefix });
      const beats = new Map<string, { stop(): void }>();
      const claim = async (offer: StageOffer): Promise<ClaimedStage> => {
        const answer = await client.post<ClaimAnswer>('/claim', { buildId: offer.buildId, stage: offer.stage, attempt: offer.attempt, runner }, stop.signal);
        const heartbeat = startHeartbeat({ client, buildId: offer.buildId, stage: offer.stage, leaseToken: answer.leaseToken, everyMs: (answer.leaseTtlSeconds * 1000) / 3, signal: stop.signal, log: () => {} });
        beats.set(`${offer.buildId}:${offer.stage}`, heartbeat);
        const reporter = createRpcReporter({ client, buildId: offer.buildId, stage: offer.stage, leaseToken: answer.leaseToken, heartbeat, history: answer.history });
        return { reporter, leaseToken: answer.leaseToken, secrets: answer.secrets, limits: answer.limits, run: answer.run };
      };
      const done = runRunnerLoop({
        queue,
        profile: { platform: { os: 'linux', arch: 'amd64' }, labels: options.labels, type: 'docker' },
        engine: createNoopEngine(),
        capacity: 1,
        claim,
        signal: stop.signal,
        log: (message) => console.error(`  ${name}: ${message}`),
        onStageEnded: (offer) => {
          beats.get(`${offer.buildId}:${offer.stage}`)?.stop();
          beats.delete(`${offer.buildId}:${offer.stage}`);
        },
      }).finally(() => {
        for (const beat of beats.values()) beat.stop();
        return queue.close();
      });
      return { done };
    }),
  );
  return {
    async stop() {
      stop.abort();
      await Promise.allSettled(loops.map((loop) => loop.done));
    },
  };
}

async function createBuild(server: ServeProcess, config: string): Promise<{ number: number; id: string }> {
  const response = await fetch(`${server.url}/api/repos/bench/dispatch/builds`, { method: 'POST', headers, body: JSON.stringify({ config }) });
  if (response.status !== 200) throw new Error(`create build: HTTP ${response.status} ${await response.text()}`);
  const build = (await response.json()) as { number: number; id?: string };
  return { number: build.number, id: String(build.id ?? '') };
}

/**
 * BuildCreated → first StepStarted of build `id`, in ms of the database's clock; waits for it
 * (10 s at most). The poll reads the build's own stream by its key and sleeps between reads:
 * a poll that scanned the log every millisecond took CPU from the system it measured.
 */
async function latencyOf(db: postgres.Sql, id: string): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const [row] = await db`
      select extract(epoch from (max(recorded_at) filter (where type = 'StepStarted') - max(recorded_at) filter (where type = 'BuildCreated'))) * 1000 as ms
      from events where stream_id = ${buildStreamId(id)} and type in ('BuildCreated', 'StepStarted')`;
    if (row?.ms !== null && row?.ms !== undefined) return Number(row.ms);
    await sleep(10);
  }
  throw new Error(`build ${id} got no StepStarted within 10 s`);
}

async function measureLatency(server: ServeProcess, db: postgres.Sql, pool: string, builds: number): Promise<{ p50: number; p99: number; hops: string }> {
  const samples: number[] = [];
  const numbers: number[] = [];
  for (let i = 0; i < builds + 10; i++) {
    const { number, id } = await createBuild(server, pipeline(pool));
    const ms = await latencyOf(db, id);
    if (i >= 10) {
      samples.push(ms); // the first ten warm up (JIT, connections, consumers)
      numbers.push(number);
    }
  }
  return { ...percentiles(samples), hops: await hopsOf(db, numbers) };
}

/**
 * Where the latency goes: the median gap before each event from BuildCreated to the first
 * StepStarted, over `numbers`' builds (database clock), as "Type +ms" in stream order.
 */
async function hopsOf(db: postgres.Sql, numbers: number[]): Promise<string> {
  const rows = await db`
    with builds as (
      select stream_id from events
      where type = 'BuildCreated' and (data->>'number')::int = any(${numbers}::int[])
        and data->>'repoId' = (select id::text from repos where owner = 'bench' and name = 'dispatch')),
    ordered as (
      select e.stream_id, e.stream_version, e.type,
        extract(epoch from (e.recorded_at - lag(e.recorded_at) over (partition by e.stream_id order by e.stream_version))) * 1000 as gap,
        min(case when e.type = 'StepStarted' then e.stream_version end) over (partition by e.stream_id) as first_step
      from events e join builds b using (stream_id))
    select stream_version, min(type) as type, percentile_cont(0.5) within group (order by gap) as gap
    from ordered where stream_version <= first_step and gap is not null
    group by stream_version order by stream_version`;
  return rows.map((row) => `${row.type} +${Number(row.gap).toFixed(1)}`).join(', ');
}

/** Raw event-store appends, one event each, IN_FLIGHT writers: the floor under every RPC command. */
async function rawAppendRate(url: string, appends: number): Promise<number> {
  const database = await openPostgres(url, { max: IN_FLIGHT });
  const store = createEventStore(database);
  try {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        const stream = `bench-raw-${randomUUID()}`;
        for (let version = 0; next++ < appends; version++) {
          await store.append(stream, version, [{ type: 'BenchAppended', data: { stage: 1, step: 1, at: new Date().toISOString() } }]);
        }
      }),
    );
    return appends / ((performance.now() - started) / 1000);
  } finally {
    await database.close();
  }
}

async function idleRunnerRss(server: ServeProcess, namespace: string): Promise<number> {
  const node = runtimes.node;
  const child = spawn(node.command, [...node.args, 'runner', '--server', server.url, '--name', 'bench-rss', '--labels', 'pool=rss', '--engine', 'noop'], {
    cwd: REPO_ROOT,
    env: { ...process.env, RUNLOG_NATS_URL: process.env.RUNLOG_TEST_NATS_URL, RUNLOG_NATS_NAMESPACE: namespace, RUNLOG_RPC_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`runner did not start:\n${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(' ready: ')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
    });
    await sleep(3000);
    return rssMb(child.pid!);
  } finally {
    child.kill('SIGTERM');
  }
}

export async function run(): Promise<void> {
  const natsUrl = process.env.RUNLOG_TEST_NATS_URL;
  if (!natsUrl || !process.env.RUNLOG_TEST_DATABASE_URL) {
    console.log('  skipped: RUNLOG_TEST_DATABASE_URL / RUNLOG_TEST_NATS_URL not set (scripts/services.sh start; source .runlog-test/env)');
    return;
  }
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`  noop engine (steps run nothing); runners are in-process loops; load average ${load()}`);
  const url = await freshDatabaseUrl('runlog_bench_dispatch');
  const folder = mkdtempSync(join(tmpdir(), 'runlog-bench-dispatch-'));
  const namespaceName = `bench-${randomBytes(4).toString('hex')}`;
  const namespace = natsNamespace(namespaceName);
  const server = await startServe({
    cwd: folder,
    command: 'server',
    env: { RUNLOG_DATABASE_URL: url, RUNLOG_NATS_URL: natsUrl, RUNLOG_NATS_NAMESPACE: namespaceName, RUNLOG_RPC_SECRET: SECRET, RUNLOG_ADMIN_TOKEN: ADMIN },
  });
  const db = postgres(url, { max: 2, onnotice: () => {} });
  const nc = await connect({ servers: natsUrl, name: 'runlog-bench-runners' });
  const row = (label: string, value: string) => console.log(`  ${label.padEnd(58)} ${value}`);
  try {
    if ((await fetch(`${server.url}/api/repos/bench/dispatch`, { method: 'POST', headers, body: '{}' })).status !== 200) throw new Error('could not create the repo');
    await sleep(3000);
    const serverRss = rssMb(server.child.pid!);
    const runnerRss = await idleRunnerRss(server, namespaceName);

    // Latency, with 20 idle runners of the pool; then 10 and DEPTH stages waiting for labels no runner has.
    let runners = await startRunners({ count: LATENCY_RUNNERS, server: server.url, nc, namespace, labels: { pool: 'lat' } });
    const idle = await measureLatency(server, db, 'lat', LATENCY_BUILDS);
    row(`dispatch latency, ${LATENCY_RUNNERS} idle runners, ${LATENCY_BUILDS} builds`, `p50 ${idle.p50.toFixed(1)} ms  p99 ${idle.p99.toFixed(1)} ms  (goal ≤ 20 / ≤ 100)`);
    row('  median gap before each event (ms)', idle.hops);
    const depthBuilds = Math.min(LATENCY_BUILDS, 200);
    const waitFor = async (count: number) => {
      for (let made = 0; made < count; ) {
        const batch = Math.min(IN_FLIGHT, count - made);
        await Promise.all(Array.from({ length: batch }, () => createBuild(server, pipeline('nobody'))));
        made += batch;
      }
    };
    await waitFor(10);
    const shallow = await measureLatency(server, db, 'lat', depthBuilds);
    const filling = performance.now();
    await waitFor(DEPTH - 10);
    const fillSeconds = (performance.now() - filling) / 1000;
    await sleep(2000);
    const deep = await measureLatency(server, db, 'lat', depthBuilds);
    row(`dispatch latency, 10 stages waiting for no runner`, `p50 ${shallow.p50.toFixed(1)} ms  p99 ${shallow.p99.toFixed(1)} ms`);
    row(`dispatch latency, ${DEPTH} stages waiting (queued in ${fillSeconds.toFixed(1)} s)`, `p50 ${deep.p50.toFixed(1)} ms  p99 ${deep.p99.toFixed(1)} ms`);
    row(`ratio ${DEPTH} waiting / 10 waiting`, `p50 ${(deep.p50 / shallow.p50).toFixed(2)}  p99 ${(deep.p99 / shallow.p99).toFixed(2)}  (goal ≤ 1.5)`);
    await runners.stop();

    // Throughput: THROUGHPUT_BUILDS one-stage three-step builds, 50 runners.
    runners = await startRunners({ count: THROUGHPUT_RUNNERS, server: server.url, nc, namespace, labels: { pool: 'tp' } });
    const [{ before, eventsBefore }] = await db`select count(*) filter (where type = 'BuildFinished')::int as before, count(*)::int as "eventsBefore" from events`;
    const started = performance.now();
    let made = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (made++ < THROUGHPUT_BUILDS) await createBuild(server, pipeline('tp', 3));
      }),
    );
    const createdIn = (performance.now() - started) / 1000;
    for (let i = 0; ; i++) {
      const [{ done }] = await db`select count(*)::int as done from events where type = 'BuildFinished'`;
      if (done - before >= THROUGHPUT_BUILDS) break;
      if (i > 6000) throw new Error(`only ${done - before} of ${THROUGHPUT_BUILDS} builds finished in 10 minutes`);
      await sleep(100);
    }
    const seconds = (performance.now() - started) / 1000;
    const [{ failed }] = await db`select count(*)::int as failed from events where type = 'BuildFinished' and data->>'status' <> 'success'`;
    await runners.stop();
    const loadAfter = load();
    const [{ eventsAfter }] = await db`select count(*)::int as "eventsAfter" from events`;
    const raw = await rawAppendRate(url, 20_000);
    row(`throughput, ${THROUGHPUT_BUILDS} builds (1 stage, 3 steps), ${THROUGHPUT_RUNNERS} runners`, `${(THROUGHPUT_BUILDS / seconds).toFixed(0)} builds/s  (${seconds.toFixed(1)} s; API took them in ${createdIn.toFixed(1)} s; ${failed} not success; goal ≥ 300)`);
    const perBuild = (eventsAfter - eventsBefore) / THROUGHPUT_BUILDS;
    row(`raw event-store appends (1 event each, ${IN_FLIGHT} writers)`, `${raw.toFixed(0)} appends/s  (≈ ${(raw / perBuild).toFixed(0)} builds/s at ${perBuild.toFixed(1)} events per build)`);
    row(`idle RSS: runlog server / runlog runner --engine noop`, `${serverRss.toFixed(0)} MB / ${runnerRss.toFixed(0)} MB  (goals ≤ 120 / ≤ 64)`);
    console.log(`  load average after: ${loadAfter}`);
  } finally {
    if (process.env.BENCH_SERVER_OUTPUT) writeFileSync(process.env.BENCH_SERVER_OUTPUT, server.output());
    await nc.close();
    await db.end({ timeout: 5 });
    await server.stop('SIGTERM');
    await dropDatabase(url);
    rmSync(folder, { recursive: true, force: true });
    const jsm = await connect({ servers: natsUrl }).then(async (c) => {
      const { jetstreamManager } = await import('@nats-io/jetstream');
      await (await jetstreamManager(c)).streams.delete(namespace.stream).catch(() => {});
      return c.close();
    });
    void jsm;
  }
}
