import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import postgres from 'postgres';
import { createDockerEngine } from '../../src/runner/docker/engine.ts';
import { dockerSocket } from '../support/docker.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { REPO_ROOT, runtimes, startServe, type ServeProcess } from '../support/serve-process.ts';

// High availability of `runlog server` (two processes on one database: one leads the
// dispatcher and the reaper, the other takes over when it is killed), cancel over NATS, and
// fencing of a runner whose lease lapsed while it was paused. Real processes, Postgres, NATS
// and Docker; a NATS namespace of this run's own and a 3 s lease TTL.
const SECRET = 'server-ha-e2e-secret-0123456789';
const ADMIN = 'server-ha-e2e-admin';
const NAMESPACE = `server-ha-e2e-${randomBytes(4).toString('hex')}`;
const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
const docker = new Docker({ socketPath: dockerSocket });

type Runner = { name: string; child: ChildProcess; output: () => string; exited: Promise<number | null> };

function natsUrl(): string {
  const url = process.env.RUNLOG_TEST_NATS_URL;
  if (!url) throw new Error('RUNLOG_TEST_NATS_URL is not set: source .runlog-test/env');
  return url;
}

function startRunner(server: string, name: string, pool: string): Promise<Runner> {
  const node = runtimes.node;
  const child = spawn(node.command, [...node.args, 'runner', '--server', server, '--name', name, '--labels', `pool=${pool}`, '--engine', 'docker'], {
    cwd: REPO_ROOT,
    env: { ...process.env, RUNLOG_NATS_URL: natsUrl(), RUNLOG_NATS_NAMESPACE: NAMESPACE, RUNLOG_RPC_SECRET: SECRET, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner ${name} did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(' ready: ')) {
        clearTimeout(timer);
        resolve({ name, child, output: () => output, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`runner ${name} exited with ${code}:\n${output}`)));
  });
}

async function stopRunner(runner: Runner) {
  runner.child.kill('SIGCONT');
  runner.child.kill('SIGTERM');
  const code = await Promise.race([runner.exited, sleep(15_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') runner.child.kill('SIGKILL');
  // Whatever it left (a SIGKILL) is swept as that runner's next start would.
  await createDockerEngine({ runner: runner.name }).sweep({ runner: runner.name });
  return code;
}

const pipeline = (pool: string, commands: string[]) => `kind: pipeline
type: docker
name: default
clone:
  disable: true
node:
  pool: ${pool}
steps:
- name: work
  image: runlog-test/busybox:latest
  pull: never
  commands:
${commands.map((c) => `  - ${JSON.stringify(c)}`).join('\n')}
`;

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  for (const started = Date.now(); ; await sleep(100)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms: ${what}`);
  }
}

async function createBuild(server: ServeProcess, config: string): Promise<{ number: number; id: string }> {
  const created = await fetch(`${server.url}/api/repos/acme/web/builds`, { method: 'POST', headers, body: JSON.stringify({ config }) });
  assert.equal(created.status, 200, await created.clone().text());
  return await created.json();
}

const getBuild = async (server: ServeProcess, number: number) => {
  const response = await fetch(`${server.url}/api/repos/acme/web/builds/${number}`, { headers });
  return { status: response.status, build: await response.json() };
};

const waitForEnd = (server: ServeProcess, number: number, ms: number) =>
  until(`build ${number} ends; server output:\n${server.output()}`, ms, async () => {
    const { build } = await getBuild(server, number);
    return ['pending', 'running'].includes(build.status) ? undefined : build;
  });

type Row = { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> };
const eventsOf = async (db: postgres.Sql, number: number) =>
  (await db`select e.type, e.data, e.metadata from events e join builds b on e.stream_id = 'build-' || b.id::text where b.number = ${number} order by e.global_position`) as unknown as Row[];

const waitForEvent = (db: postgres.Sql, number: number, type: string, ms: number) =>
  until(`${type} in build ${number}`, ms, async () => ((await eventsOf(db, number)).some((e) => e.type === type) ? true : undefined));

/** Containers (running or not) of a build, or of a runner, as the daemon's labels say. */
const containers = async (label: string) => (await docker.listContainers({ all: true, filters: { label: [label] } })).map((c) => c.Names[0]);

describe('two runlog servers on one database, runners on NATS and Docker', () => {
  let url: string;
  let folder: string;
  let db: postgres.Sql;
  const servers: ServeProcess[] = [];
  const startServer = () =>
    startServe({
      cwd: folder,
      command: 'server',
      env: { RUNLOG_DATABASE_URL: url, RUNLOG_NATS_URL: natsUrl(), RUNLOG_NATS_NAMESPACE: NAMESPACE, RUNLOG_RPC_SECRET: SECRET, RUNLOG_ADMIN_TOKEN: ADMIN, RUNLOG_LEASE_TTL: '3' },
    });
  before(async () => {
    url = await freshDatabaseUrl('runlog_server_ha');
    folder = mkdtempSync(join(tmpdir(), 'runlog-server-ha-'));
    servers.push(...(await Promise.all([startServer(), startServer()])));
    db = postgres(url, { max: 1, onnotice: () => {} });
    assert.equal((await fetch(`${servers[0]!.url}/api/repos/acme/web`, { method: 'POST', headers, body: '{}' })).status, 200);
  });
  after(async () => {
    await db?.end({ timeout: 5 });
    // The survivor leads: SIGTERM stops its dispatcher and reaper, ends its lock session and exits 0.
    const codes = await Promise.all(servers.map((server) => server.stop('SIGTERM')));
    if (url) await dropDatabase(url);
    if (folder) rmSync(folder, { recursive: true, force: true });
    assert.deepEqual(codes, servers.map(() => 0), servers.map((server) => server.output()).join('\n---\n'));
  });

  const leaders = () => servers.filter((server) => server.output().includes('this server leads'));

  test('given two servers, one leads and both read their own writes; when the leader is killed with SIGKILL, the other leads within seconds and builds from before and after finish through a runner', async () => {
    const leader = await until('one server leads', 10_000, async () => (leaders().length > 0 ? leaders()[0] : undefined));
    await sleep(1000);
    assert.equal(leaders().length, 1, 'exactly one server leads');
    const follower = servers.find((server) => server !== leader)!;

    // Read-after-write on either replica: each runs the projector and waits for it before answering.
    const pool = randomBytes(4).toString('hex');
    const before = await createBuild(follower, pipeline(pool, ['sleep 2', 'echo "before on $DRONE_RUNNER_NAME"']));
    assert.equal((await getBuild(follower, before.number)).status, 200);
    const other = await createBuild(leader, pipeline(`none-${pool}`, ['true']));
    assert.equal((await getBuild(leader, other.number)).status, 200);
    assert.equal((await getBuild(follower, other.number)).build.number, other.number);

    const runner = await startRunner(follower.url, `ha-${pool}`, pool);
    try {
      await waitForEvent(db, before.number, 'StepStarted', 20_000);
      const killedAt = Date.now();
      leader.child.kill('SIGKILL');
      await until('the follower leads', 10_000, async () => (follower.output().includes('this server leads') ? true : undefined));
      const tookOverMs = Date.now() - killedAt;
      assert.ok(tookOverMs < 5000, `took over after ${tookOverMs} ms`);
      const afterKill = await createBuild(follower, pipeline(pool, ['echo "after on $DRONE_RUNNER_NAME"']));
      assert.equal((await waitForEnd(follower, before.number, 30_000)).status, 'success');
      assert.equal((await waitForEnd(follower, afterKill.number, 30_000)).status, 'success');
    } finally {
      assert.equal(await stopRunner(runner), 0, runner.output());
      servers.splice(servers.indexOf(leader), 1);
    }
  });

  test('given a running docker step, when the build is cancelled through the API, then its containers are gone within seconds and the build is killed', async () => {
    const server = servers[0]!;
    const pool = randomBytes(4).toString('hex');
    const runner = await startRunner(server.url, `cancel-${pool}`, pool);
    try {
      const build = await createBuild(server, pipeline(pool, ['sleep 60']));
      await waitForEvent(db, build.number, 'StepStarted', 20_000);
      const label = `runlog.build=${build.id}`;
      await until('the step container runs', 10_000, async () => ((await containers(label)).length > 0 ? true : undefined));
      const asked = Date.now();
      const cancel = await fetch(`${server.url}/api/repos/acme/web/builds/${build.number}`, { method: 'DELETE', headers });
      assert.equal(cancel.status, 200, await cancel.text());
      await until('no container of the build remains', 5000, async () => ((await containers(label)).length === 0 ? true : undefined));
      const goneMs = Date.now() - asked;
      const ended = await waitForEnd(server, build.number, 10_000);
      assert.equal(ended.status, 'killed', JSON.stringify(ended));
      const types = (await eventsOf(db, build.number)).map((e) => e.type);
      assert.ok(types.indexOf('StageCancelled') > types.indexOf('CancelRequested'), types.join(', '));
      assert.ok(goneMs < 5000, `containers gone after ${goneMs} ms`);
    } finally {
      assert.equal(await stopRunner(runner), 0, runner.output());
    }
  });

  test('given a runner paused past its lease, when another runner took the stage and it resumes, then it is refused (stale_lease), stops its containers and the stage ends by the new holder alone', async () => {
    const server = servers[0]!;
    const pool = randomBytes(4).toString('hex');
    const first = await startRunner(server.url, `paused-${pool}`, pool);
    let second: Runner | undefined;
    try {
      const build = await createBuild(server, pipeline(pool, [`if [ "$DRONE_RUNNER_NAME" = ${first.name} ]; then sleep 60; fi`, 'echo "finished by $DRONE_RUNNER_NAME"']));
      await waitForEvent(db, build.number, 'StepStarted', 20_000);
      await until('the first runner has a container', 10_000, async () => ((await containers(`runlog.runner=${first.name}`)).length > 0 ? true : undefined));
      first.child.kill('SIGSTOP');
      second = await startRunner(server.url, `taker-${pool}`, pool);
      await waitForEvent(db, build.number, 'StageLeaseExpired', 15_000);
      const ended = await waitForEnd(server, build.number, 40_000);
      assert.equal(ended.status, 'success', JSON.stringify(ended));

      first.child.kill('SIGCONT');
      await until('the paused runner stops its containers', 8000, async () => ((await containers(`runlog.runner=${first.name}`)).length === 0 ? true : undefined));
      await until(`the paused runner says it lost the stage:\n${first.output()}`, 5000, async () => (first.output().includes(`lost ${build.id}#1`) ? true : undefined));

      const events = await eventsOf(db, build.number);
      const expiry = events.findIndex((e) => e.type === 'StageLeaseExpired');
      const later = events.slice(expiry + 1);
      const claims = later.filter((e) => e.type === 'StageClaimed').map((e) => (e.data.runner as { name: string }).name);
      assert.deepEqual(claims, [second.name]);
      // Every event a runner caused after the expiry came from the new holder (the reaper's
      // requeue, appended with the expiry, name the runner that lost the lease, as actor 'reaper').
      const seen = JSON.stringify(later.map((e) => [e.type, e.metadata]));
      const byRunners = later.filter((e) => typeof e.metadata.runnerId === 'string' && e.metadata.actor !== 'reaper').map((e) => e.metadata.runnerId);
      assert.ok(byRunners.length >= 3, seen);
      assert.deepEqual([...new Set(byRunners)], [`runner:${second.name}`], seen);
      // The reaper ends the step the lost runner left running and requeues, in the expiry's append.
      assert.deepEqual(later.filter((e) => e.metadata.actor === 'reaper').map((e) => e.type), ['StepFinished', 'StageRequeued'], seen);
      assert.ok(!later.some((e) => JSON.stringify(e.data).includes(first.name)), 'nothing after the expiry names the paused runner');
      const log = await (await fetch(`${server.url}/api/repos/acme/web/builds/${build.number}/logs/1/1`, { headers })).json();
      assert.ok(log.some((line: { out: string }) => line.out.includes(`finished by ${second!.name}`)), JSON.stringify(log));
    } finally {
      await stopRunner(first);
      if (second) assert.equal(await stopRunner(second), 0, second.output());
    }
  });
});
