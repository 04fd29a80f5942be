import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { REPO_ROOT, runtimes, startServe, type ServeProcess } from '../support/serve-process.ts';

// `runlog server` on Postgres + NATS with runner processes of different platforms and labels
// (the noop engine: matching is what is tested, not steps; an exec runner where a step must
// fail). Drone's match: os, arch, variant and kernel when the stage sets them, node labels exact.
const SECRET = 'matching-e2e-secret-0123456789';
const ADMIN = 'matching-e2e-admin';
const NAMESPACE = `matching-e2e-${randomBytes(4).toString('hex')}`;
const POOL = randomBytes(4).toString('hex');
const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

type Runner = { child: ChildProcess; exited: Promise<number | null> };

function natsUrl(): string {
  const url = process.env.RUNLOG_TEST_NATS_URL;
  if (!url) throw new Error('RUNLOG_TEST_NATS_URL is not set: source .runlog-test/env');
  return url;
}

function startRunner(server: string, name: string, args: string[]): Promise<Runner> {
  const node = runtimes.node;
  const child = spawn(node.command, [...node.args, 'runner', '--server', server, '--name', name, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, RUNLOG_NATS_URL: natsUrl(), RUNLOG_NATS_NAMESPACE: NAMESPACE, RUNLOG_RPC_SECRET: SECRET, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner ${name} did not start:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(' ready: ')) {
        clearTimeout(timer);
        resolve({ child, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`runner ${name} exited with ${code}:\n${output}`)));
  });
}

const docker = (name: string, extra: string) => `kind: pipeline
type: docker
name: ${name}
clone:
  disable: true
${extra}
steps:
- name: work
  image: runlog-test/busybox:latest
  commands: [true]
`;
const exec = (name: string, extra: string, command: string) => `kind: pipeline
type: exec
name: ${name}
clone:
  disable: true
node:
  pool: ${POOL}
${extra}
steps:
- name: work
  commands: [${JSON.stringify(command)}]
`;

type Row = { type: string; data: Record<string, any> };

describe('runners of different platforms and labels, with runlog server (Postgres, NATS)', () => {
  let server: ServeProcess;
  let db: postgres.Sql;
  let url: string;
  let folder: string;
  const runners: Runner[] = [];

  before(async () => {
    url = await freshDatabaseUrl('runlog_matching_e2e');
    folder = mkdtempSync(join(tmpdir(), 'runlog-matching-e2e-'));
    server = await startServe({
      cwd: folder,
      command: 'server',
      env: { RUNLOG_DATABASE_URL: url, RUNLOG_NATS_URL: natsUrl(), RUNLOG_NATS_NAMESPACE: NAMESPACE, RUNLOG_RPC_SECRET: SECRET, RUNLOG_ADMIN_TOKEN: ADMIN },
    });
    db = postgres(url, { max: 1, onnotice: () => {} });
    assert.equal((await fetch(`${server.url}/api/repos/acme/web`, { method: 'POST', headers, body: '{}' })).status, 200);
    runners.push(
      ...(await Promise.all([
        startRunner(server.url, 'amd', ['--engine', 'noop', '--os', 'linux', '--arch', 'amd64', '--labels', `pool=${POOL}`]),
        startRunner(server.url, 'arm', ['--engine', 'noop', '--os', 'linux', '--arch', 'arm64', '--variant', 'v8', '--labels', `pool=${POOL}`]),
        startRunner(server.url, 'eu', ['--engine', 'noop', '--os', 'linux', '--arch', 'amd64', '--labels', `pool=${POOL},region=eu`]),
        startRunner(server.url, 'exec', ['--engine', 'exec', '--os', 'linux', '--arch', 'amd64', '--labels', `pool=${POOL}`]),
      ])),
    );
  }, { timeout: 180_000 });
  after(async () => {
    for (const runner of runners) runner.child.kill('SIGTERM');
    await Promise.all(runners.map((r) => r.exited));
    await db?.end({ timeout: 5 });
    if (server) assert.equal(await server.stop('SIGTERM'), 0, server.output());
    if (url) await dropDatabase(url);
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  async function createBuild(config: string): Promise<number> {
    const created = await fetch(`${server.url}/api/repos/acme/web/builds`, { method: 'POST', headers, body: JSON.stringify({ config }) });
    assert.equal(created.status, 200, await created.clone().text());
    return (await created.json()).number;
  }
  const getBuild = async (number: number) => (await fetch(`${server.url}/api/repos/acme/web/builds/${number}`, { headers })).json();
  async function waitForEnd(number: number) {
    for (let i = 0; i < 600; i++) {
      const build = await getBuild(number);
      if (!['pending', 'running'].includes(build.status)) return build;
      await sleep(100);
    }
    throw new Error(`build ${number} did not end`);
  }
  const eventsOf = async (number: number) =>
    (await db`select e.type, e.data from events e join builds b on e.stream_id = 'build-' || b.id::text where b.number = ${number} order by e.global_position`) as unknown as Row[];
  const claimedBy = (events: Row[]) => events.filter((e) => e.type === 'StageClaimed').map((e) => `${e.data.stage}:${e.data.runner.name}`);

  test('given three runners, when builds ask for a platform or labels, then each stage lands on the one runner that matches; a stage none matches stays queued, visible in the API and the queue view', async () => {
    const plain = await createBuild(docker('plain', `node:\n  pool: ${POOL}`));
    const arm = await createBuild(docker('arm', `platform:\n  os: linux\n  arch: arm64\nnode:\n  pool: ${POOL}`));
    const armV8 = await createBuild(docker('arm-v8', `platform:\n  os: linux\n  arch: arm64\n  variant: v8\nnode:\n  pool: ${POOL}`));
    const eu = await createBuild(docker('eu', `node:\n  pool: ${POOL}\n  region: eu`));
    const windows = await createBuild(docker('windows', `platform:\n  os: windows\n  arch: amd64\nnode:\n  pool: ${POOL}`));
    const armV7 = await createBuild(docker('arm-v7', `platform:\n  os: linux\n  arch: arm64\n  variant: v7\nnode:\n  pool: ${POOL}`));
    for (const number of [plain, arm, armV8, eu]) assert.equal((await waitForEnd(number)).status, 'success');
    assert.deepEqual(claimedBy(await eventsOf(plain)), ['1:amd']);
    assert.deepEqual(claimedBy(await eventsOf(arm)), ['1:arm']);
    assert.deepEqual(claimedBy(await eventsOf(armV8)), ['1:arm']);
    assert.deepEqual(claimedBy(await eventsOf(eu)), ['1:eu']);
    await sleep(2000); // time enough for a wrong runner to take them
    for (const number of [windows, armV7]) {
      const build = await getBuild(number);
      assert.equal(build.status, 'pending', JSON.stringify(build));
      assert.deepEqual(build.stages.map((s: { status: string }) => s.status), ['pending']);
      assert.deepEqual(claimedBy(await eventsOf(number)), []);
    }
    const queued = await db`select q.os, q.arch, q.variant from queue q join builds b on b.id = q.build_id where b.number in (${windows}, ${armV7}) order by b.number`;
    assert.deepEqual(queued.map((r) => `${r.os}/${r.arch}/${r.variant}`), ['windows/amd64/', 'linux/arm64/v7']);
  });

  test('given pipelines with depends_on, when they run on real runners, then each starts after what it depends on; a failed dependency skips its dependents and a status: failure pipeline runs', async () => {
    const ordered = await createBuild(
      [exec('one', '', 'true'), exec('two', 'depends_on: [one]', 'true'), exec('three', 'depends_on: [two]', 'true')].join('---\n'),
    );
    assert.equal((await waitForEnd(ordered)).status, 'success');
    const starts = (await eventsOf(ordered)).filter((e) => e.type === 'StageStarted').map((e) => e.data.stage);
    assert.deepEqual(starts, [1, 2, 3]);

    const failing = await createBuild(
      [
        exec('build', '', 'exit 1'),
        exec('deploy', 'depends_on: [build]', 'true'),
        exec('notify', 'depends_on: [build]\ntrigger:\n  status: [failure]', 'true'),
      ].join('---\n'),
    );
    const build = await waitForEnd(failing);
    assert.equal(build.status, 'failure');
    assert.deepEqual(build.stages.map((s: { name: string; status: string }) => `${s.name}:${s.status}`), ['build:failure', 'deploy:skipped', 'notify:success']);
    const events = await eventsOf(failing);
    assert.deepEqual(claimedBy(events), ['1:exec', '3:exec']);
  });
});
