import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createDockerEngine } from '../../src/runner/docker/engine.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { REPO_ROOT, runtimes, startServe, type ServeProcess } from '../support/serve-process.ts';

// `runlog server` on Postgres + NATS and `runlog runner` processes on the docker engine.
// Each test takes its own node label, so its stages live in a pool no other test (or a
// leftover message of an earlier run) shares.
const SECRET = 'runner-e2e-secret-0123456789';
const ADMIN = 'runner-e2e-admin';
// A NATS namespace of this run's own: other runs sharing the nats-server never see its stages.
const NAMESPACE = `runner-e2e-${randomBytes(4).toString('hex')}`;
const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

type Runner = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

function startRunner(server: string, name: string, labels: string, env: Record<string, string> = {}): Promise<Runner> {
  const node = runtimes.node;
  const child = spawn(node.command, [...node.args, 'runner', '--server', server, '--name', name, '--labels', labels, '--engine', 'docker'], {
    cwd: REPO_ROOT,
    env: { ...process.env, RUNLOG_NATS_URL: natsUrl(), RUNLOG_NATS_NAMESPACE: NAMESPACE, RUNLOG_RPC_SECRET: SECRET, NO_COLOR: '1', ...env },
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
        resolve({ child, output: () => output, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`runner ${name} exited with ${code}:\n${output}`)));
  });
}

function natsUrl(): string {
  const url = process.env.RUNLOG_TEST_NATS_URL;
  if (!url) throw new Error('RUNLOG_TEST_NATS_URL is not set: source .runlog-test/env');
  return url;
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

type Harness = { server: ServeProcess; db: postgres.Sql; close(): Promise<void> };

/** One `runlog server` for the file (a short lease TTL, so a lost runner is noticed in seconds); tests keep apart by pool. */
async function startHarness(): Promise<Harness> {
  const url = await freshDatabaseUrl('runlog_runner_e2e');
  const folder = mkdtempSync(join(tmpdir(), 'runlog-runner-e2e-'));
  const server = await startServe({
    cwd: folder,
    command: 'server',
    env: { RUNLOG_DATABASE_URL: url, RUNLOG_NATS_URL: natsUrl(), RUNLOG_NATS_NAMESPACE: NAMESPACE, RUNLOG_RPC_SECRET: SECRET, RUNLOG_ADMIN_TOKEN: ADMIN, RUNLOG_LEASE_TTL: '3' },
  });
  const db = postgres(url, { max: 1, onnotice: () => {} });
  assert.equal((await fetch(`${server.url}/api/repos/acme/web`, { method: 'POST', headers, body: '{}' })).status, 200);
  return {
    server,
    db,
    async close() {
      await db.end({ timeout: 5 });
      assert.equal(await server.stop('SIGTERM'), 0, server.output());
      await dropDatabase(url);
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

async function createBuild(server: ServeProcess, config: string): Promise<number> {
  const created = await fetch(`${server.url}/api/repos/acme/web/builds`, { method: 'POST', headers, body: JSON.stringify({ config }) });
  assert.equal(created.status, 200, await created.clone().text());
  return (await created.json()).number;
}

async function waitForEnd(server: ServeProcess, number: number, seconds = 60) {
  for (let i = 0; i < seconds * 10; i++) {
    const build = await (await fetch(`${server.url}/api/repos/acme/web/builds/${number}`, { headers })).json();
    if (!['pending', 'running'].includes(build.status)) return build;
    await sleep(100);
  }
  throw new Error(`build ${number} did not end; server output:\n${server.output()}`);
}

type Row = { type: string; data: Record<string, unknown> };
/** The events of build `number` of acme/web, read straight from the log. */
const eventsOf = async (db: postgres.Sql, number: number) =>
  (await db`select e.type, e.data from events e join builds b on e.stream_id = 'build-' || b.id::text where b.number = ${number} order by e.global_position`) as unknown as Row[];

async function waitForEvent(db: postgres.Sql, number: number, type: string, seconds = 30) {
  for (let i = 0; i < seconds * 10; i++) {
    if ((await eventsOf(db, number)).some((e) => e.type === type)) return;
    await sleep(100);
  }
  throw new Error(`no ${type} within ${seconds} s`);
}

const claimedBy = (events: Row[]) => events.filter((e) => e.type === 'StageClaimed').map((e) => (e.data.runner as { name: string }).name);

describe('runlog runner with runlog server (Postgres, NATS, Docker)', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness?.close();
  });

  test('given a runner of the pool and one of another pool, when a build is created, then only the matching runner runs it, to success, logs readable through the API', async () => {
    const { server, db } = harness;
    const pool = randomBytes(4).toString('hex');
    const [other, mine] = await Promise.all([startRunner(server.url, `other-${pool}`, `pool=elsewhere-${pool}`), startRunner(server.url, `mine-${pool}`, `pool=${pool}`)]);
    try {
      const number = await createBuild(server, pipeline(pool, ['echo "hello from $DRONE_RUNNER_NAME"']));
      const build = await waitForEnd(server, number);
      assert.equal(build.status, 'success', JSON.stringify(build));
      const log = await (await fetch(`${server.url}/api/repos/acme/web/builds/${number}/logs/1/1`, { headers })).json();
      assert.ok(log.some((line: { out: string }) => line.out.includes(`hello from mine-${pool}`)), JSON.stringify(log));
      assert.deepEqual(claimedBy(await eventsOf(db, number)), [`mine-${pool}`]);
      assert.doesNotMatch(other.output(), /could not claim|stage/);
    } finally {
      other.child.kill('SIGTERM');
      mine.child.kill('SIGTERM');
      assert.equal(await other.exited, 0, other.output());
      assert.equal(await mine.exited, 0, mine.output());
    }
  });

  test('given a runner killed with SIGKILL mid-stage, when its lease lapses, then the stage is requeued and a second runner finishes the build', async () => {
    const { server, db } = harness;
    const pool = randomBytes(4).toString('hex');
    const victimName = `victim-${pool}`;
    const victim = await startRunner(server.url, victimName, `pool=${pool}`);
    let rescuer: Runner | undefined;
    try {
      const number = await createBuild(server, pipeline(pool, [`if [ "$DRONE_RUNNER_NAME" = ${victimName} ]; then sleep 30; fi`, 'echo "finished by $DRONE_RUNNER_NAME"']));
      await waitForEvent(db, number, 'StepStarted');
      victim.child.kill('SIGKILL');
      await victim.exited;
      rescuer = await startRunner(server.url, `rescuer-${pool}`, `pool=${pool}`);
      // Attempt 2 may land in a pull request the dead runner left open; it then sits out the
      // queue's ack wait (30 s) before the rescuer gets it — the transport's liveness, by design.
      const build = await waitForEnd(server, number, 90);
      assert.equal(build.status, 'success', JSON.stringify(build));
      const events = await eventsOf(db, number);
      const types = events.map((e) => e.type);
      // The decider ends the killed step as part of the expiry, then requeues.
      const expired = types.indexOf('StageLeaseExpired');
      assert.ok(expired > 0 && types.indexOf('StageRequeued') > expired, types.join(', '));
      assert.equal(events.find((e) => e.type === 'StageRequeued')?.data.attempt, 2);
      assert.deepEqual(claimedBy(events), [victimName, `rescuer-${pool}`]);
      const log = await (await fetch(`${server.url}/api/repos/acme/web/builds/${number}/logs/1/1`, { headers })).json();
      assert.ok(log.some((line: { out: string }) => line.out.includes(`finished by rescuer-${pool}`)), JSON.stringify(log));
    } finally {
      if (rescuer) {
        rescuer.child.kill('SIGTERM');
        assert.equal(await rescuer.exited, 0, rescuer.output());
      }
      // The killed runner's container would sleep on: sweep it as that runner's next start would.
      await createDockerEngine({ runner: victimName }).sweep({ runner: victimName });
    }
  });

  test('given a running stage, when the build is cancelled through the API, then the runner stops it within seconds; on SIGTERM a runner hands its stage back at once', async () => {
    const { server, db } = harness;
    const pool = randomBytes(4).toString('hex');
    const runner = await startRunner(server.url, `busy-${pool}`, `pool=${pool}`);
    try {
      const cancelled = await createBuild(server, pipeline(pool, ['sleep 30']));
      await waitForEvent(db, cancelled, 'StepStarted');
      const asked = Date.now();
      assert.equal((await fetch(`${server.url}/api/repos/acme/web/builds/${cancelled}`, { method: 'DELETE', headers })).status, 200);
      const build = await waitForEnd(server, cancelled, 15);
      assert.equal(build.status, 'killed', JSON.stringify(build));
      assert.ok(Date.now() - asked < 10_000, `stopped after ${Date.now() - asked} ms`);
      assert.ok((await eventsOf(db, cancelled)).some((e) => e.type === 'StageCancelled'));

      const handedBack = await createBuild(server, pipeline(pool, ['sleep 30']));
      await waitForEvent(db, handedBack, 'StepStarted');
      runner.child.kill('SIGTERM');
      assert.equal(await runner.exited, 0, runner.output());
      const types = (await eventsOf(db, handedBack)).map((e) => e.type);
      // Handed back by the runner itself, not left for the reaper: requeued before the TTL could lapse.
      assert.ok(types.includes('StageRequeued'), types.join(', '));
    } finally {
      runner.child.kill('SIGKILL');
    }
  });

  test('given missing settings, when runlog runner starts, then it says which and exits 2', async () => {
    const node = runtimes.node;
    const child = spawn(node.command, [...node.args, 'runner', '--server', 'http://localhost:1'], {
      cwd: REPO_ROOT,
      env: { ...process.env, RUNLOG_NATS_URL: '', RUNLOG_RPC_SECRET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(output, /NATS server .* missing: --nats/);
  });
});
