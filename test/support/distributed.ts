import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { dropDatabase, freshDatabaseUrl } from './postgres.ts';
import { REPO_ROOT, runtimes, startServe, type ServeProcess } from './serve-process.ts';

/**
 * `runlog server` on a fresh Postgres database and the shared NATS (a namespace of its own),
 * with `runlog runner` processes: what the distributed e2e tests stand on. Each test takes a
 * node label of its own (`pool=<random>`), so its stages reach only its runners.
 */
const SECRET = 'distributed-e2e-secret-0123456789';
const ADMIN = 'distributed-e2e-admin';

export type RunnerProcess = { name: string; child: ChildProcess; output: () => string; exited: Promise<number | null> };
export type Row = { type: string; data: Record<string, any> };

export type Distributed = {
  server: ServeProcess;
  db: postgres.Sql;
  headers: Record<string, string>;
  /** Starts `runlog runner --engine docker` with `labels`; resolves once it is ready. */
  startRunner(name: string, labels: string, env?: Record<string, string>): Promise<RunnerProcess>;
  /** POST to `/api/repos/acme/web<path>`; answers the JSON body, asserting `status`. */
  api<T = any>(method: string, path: string, body?: unknown, status?: number): Promise<T>;
  createBuild(config: string): Promise<number>;
  waitForEnd(number: number, seconds?: number): Promise<{ status: string }>;
  eventsOf(number: number): Promise<Row[]>;
  waitForEvent(number: number, match: (row: Row) => boolean, seconds?: number): Promise<Row[]>;
  close(): Promise<void>;
};

const natsUrl = (): string => {
  const url = process.env.RUNLOG_TEST_NATS_URL;
  if (!url) throw new Error('RUNLOG_TEST_NATS_URL is not set: source .runlog-test/env');
  return url;
};

export async function startDistributed(name: string, serverEnv: Record<string, string> = {}): Promise<Distributed> {
  const namespace = `${name}-${randomBytes(4).toString('hex')}`;
  const url = await freshDatabaseUrl(`runlog_${name.replace(/\W/g, '_')}`);
  const folder = mkdtempSync(join(tmpdir(), `runlog-${name}-`));
  const common = { RUNLOG_NATS_URL: natsUrl(), RUNLOG_NATS_NAMESPACE: namespace, RUNLOG_RPC_SECRET: SECRET };
  const server = await startServe({
    cwd: folder,
    command: 'server',
    env: { ...common, RUNLOG_DATABASE_URL: url, RUNLOG_ADMIN_TOKEN: ADMIN, RUNLOG_LEASE_TTL: '3', ...serverEnv },
  });
  const db = postgres(url, { max: 1, onnotice: () => {} });
  const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const runners: RunnerProcess[] = [];

  async function api<T>(method: string, path: string, body?: unknown, status = 200): Promise<T> {
    const response = await fetch(`${server.url}/api/repos/acme/web${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    assert.equal(response.status, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }
  await api('POST', '', {});

  const eventsOf = async (number: number) =>
    (await db`select e.type, e.data from events e join builds b on e.stream_id = 'build-' || b.id::text where b.number = ${number} order by e.global_position`) as unknown as Row[];

  return {
    server,
    db,
    headers,
    api,
    eventsOf,
    startRunner(runnerName, labels, env = {}) {
      const node = runtimes.node;
      const child = spawn(node.command, [...node.args, 'runner', '--server', server.url, '--name', runnerName, '--labels', labels, '--engine', 'docker'], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...common, NO_COLOR: '1', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const runner = { name: runnerName, child, output: () => output, exited };
      runners.push(runner);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`runner ${runnerName} did not start:\n${output}`)), 30_000);
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes(' ready: ')) {
            clearTimeout(timer);
            resolve(runner);
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        void exited.then((code) => reject(new Error(`runner ${runnerName} exited with ${code}:\n${output}`)));
      });
    },
    async createBuild(config) {
      return (await api<{ number: number }>('POST', '/builds', { config })).number;
    },
    async waitForEnd(number, seconds = 60) {
      for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline; await sleep(100)) {
        const build = await api<{ status: string }>('GET', `/builds/${number}`);
        if (!['pending', 'running'].includes(build.status)) return build;
      }
      throw new Error(`build ${number} did not end within ${seconds} s; server output:\n${server.output().slice(-4000)}`);
    },
    async waitForEvent(number, match, seconds = 30) {
      for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline; await sleep(100)) {
        const events = await eventsOf(number);
        if (events.some(match)) return events;
      }
      throw new Error(`build ${number}: the awaited event did not come within ${seconds} s:\n${(await eventsOf(number)).map((e) => e.type).join(', ')}`);
    },
    async close() {
      for (const runner of runners) if (runner.child.exitCode === null && runner.child.signalCode === null) runner.child.kill('SIGKILL');
      await Promise.all(runners.map((runner) => runner.exited));
      await db.end({ timeout: 5 });
      await server.stop('SIGTERM');
      await dropDatabase(url);
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** `runlog runner` SIGTERM: it hands back what it holds and exits 0. */
export async function stopRunner(runner: RunnerProcess): Promise<void> {
  if (runner.child.exitCode !== null || runner.child.signalCode !== null) return;
  runner.child.kill('SIGTERM');
  assert.equal(await runner.exited, 0, runner.output());
}

/** A docker pipeline of the test image, pinned to `pool`, with `steps` as name → commands. */
export function pipeline(pool: string, steps: Record<string, string[]>): string {
  return `kind: pipeline
type: docker
name: default
clone:
  disable: true
node:
  pool: ${pool}
steps:
${Object.entries(steps)
  .map(
    ([name, commands]) => `- name: ${name}
  image: runlog-test/busybox:latest
  pull: never
  commands:
${commands.map((c) => `  - ${JSON.stringify(c)}`).join('\n')}`,
  )
  .join('\n')}
`;
}

export const runnerNameOf = (row: Row): string => (row.data.runner as { name: string }).name;
