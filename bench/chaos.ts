/**
 * `npm run chaos -- --rounds N [--kinds runner,server,nats]`: real processes, real faults.
 * One `runlog server` (Postgres, a private nats-server with its own store folder and port),
 * two `runlog runner --engine exec` processes of one pool, and rounds of three kinds:
 *
 *   runner  kill -9 the runner running a stage (mid-step): the build still ends in success
 *           on the other runner; the events show StageLeaseExpired, StageRequeued and
 *           StageResumed; the killed runner is started again (its sweep cleans up).
 *   server  kill -9 `runlog server` while builds run and wait, start it again on the same
 *           port: every build ends in success and `runlog verify` finds the hash chains
 *           intact and every view equal to a fresh replay.
 *   nats    kill -9 the nats-server while builds run and wait, start it again on its store:
 *           every build ends in success, every stage claimed exactly once.
 *
 * Every step appends a line to a marker file of its own as it starts, so the runs that
 * really happened are counted outside runlog: each step must have run exactly as often as
 * its StepStarted events say (no run unseen, none doubled), and a step that had succeeded
 * before a resume with the workspace kept must not have run again.
 *
 * The e2e test (test/chaos/chaos.e2e.test.ts) runs one round of each kind; the figure
 * quoted in the report is 20 rounds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { dropDatabase, freshDatabaseUrl } from '../test/support/postgres.ts';
import { REPO_ROOT, runtimes } from '../test/support/serve-process.ts';

export type ChaosKind = 'runner' | 'server' | 'nats';
export const CHAOS_KINDS: readonly ChaosKind[] = ['runner', 'server', 'nats'];

export type RoundResult = { round: number; kind: ChaosKind; ok: boolean; seconds: number; detail: string };

const SECRET = 'chaos-secret-0123456789abcdef';
const ADMIN = 'chaos-admin';
const LEASE_TTL = '5';
const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

type Proc = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

/** Spawns a process and resolves once its output matches `ready` (rejects after `timeoutMs` or an early exit). */
function start(command: string, args: string[], env: Record<string, string | undefined>, ready: RegExp, timeoutMs = 30_000): Promise<Proc> {
  const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not start:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 200_000) output = output.slice(-100_000);
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve({ child, output: () => output, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

async function stop(proc: Proc | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 15_000);
  await proc.exited;
  clearTimeout(timer);
}

/** A nats-server of this run's own, so it may be killed and started again on the same store. */
async function startNats(port: number, store: string): Promise<Proc> {
  const proc = start('nats-server', ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(port)], {}, /Server is ready/);
  return proc;
}

type Event = { type: string; data: Record<string, any>; number: number };

export async function runChaos(options: { rounds: number; kinds?: readonly ChaosKind[]; log?: (line: string) => void }): Promise<RoundResult[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const kinds = options.kinds ?? CHAOS_KINDS;
  const folder = mkdtempSync(join(tmpdir(), 'runlog-chaos-'));
  const markers = join(folder, 'markers');
  const natsPort = await freePort();
  const serverPort = await freePort();
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const serverUrl = `http://localhost:${serverPort}`;
  const pool = randomBytes(4).toString('hex');
  const url = await freshDatabaseUrl('runlog_chaos');
  const node = runtimes.node;
  const common = { RUNLOG_NATS_URL: natsUrl, RUNLOG_NATS_NAMESPACE: `chaos-${pool}`, RUNLOG_RPC_SECRET: SECRET };
  const startServer = () =>
    start(node.command, [...node.args, 'server', '--port', String(serverPort)], { ...common, RUNLOG_DATABASE_URL: url, RUNLOG_ADMIN_TOKEN: ADMIN, RUNLOG_LEASE_TTL: LEASE_TTL }, /listening on/, 60_000);
  const startRunner = (name: string) =>
    start(node.command, [...node.args, 'runner', '--server', serverUrl, '--name', name, '--labels', `pool=${pool}`, '--engine', 'exec'], common, / ready: /);

  let nats: Proc | undefined;
  let server: Proc | undefined;
  const runners = new Map<string, Proc>();
  const db = postgres(url, { max: 2, onnotice: () => {} });
  const results: RoundResult[] = [];
  let buildsMade = 0;

  const pipeline = (tag: string) => `kind: pipeline
type: exec
name: chaos
clone:
  disable: true
node:
  pool: ${pool}
steps:
${[1, 2, 3]
  .map(
    (n) => `- name: step${n}
  commands:
  - echo "$DRONE_RUNNER_NAME" >> ${markers}-${tag}-${n}
  - sleep ${n === 2 ? 3 : 0.2}`,
  )
  .join('\n')}
`;

  async function createBuild(): Promise<{ number: number; tag: string }> {
    const tag = `b${++buildsMade}`;
    for (let i = 0; ; i++) {
      const response = await fetch(`${serverUrl}/api/repos/chaos/app/builds`, { method: 'POST', headers, body: JSON.stringify({ config: pipeline(tag) }) }).catch(() => undefined);
      if (response?.status === 200) return { number: ((await response.json()) as { number: number }).number, tag };
      if (i > 50) throw new Error(`could not create a build: ${response?.status} ${await response?.text()}`);
      await sleep(200);
    }
  }

  const eventsOf = async (number: number): Promise<Event[]> =>
    (await db`select e.type, e.data, b.number from events e join builds b on e.stream_id = 'build-' || b.id::text where b.number = ${number} order by e.global_position`) as unknown as Event[];

  async function waitFor(what: string, seconds: number, check: () => Promise<boolean>): Promise<void> {
    for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline; await sleep(200)) {
      if (await check().catch(() => false)) return;
    }
    throw new Error(`${what}: not within ${seconds} s`);
  }

  const ended = async (number: number) => (await eventsOf(number)).some((e) => e.type === 'BuildFinished');

  /** What every round checks of a build: success, and each step run exactly as often as StepStarted says. */
  async function checkBuild(build: { number: number; tag: string }): Promise<{ events: Event[]; problems: string[]; unrun: string[] }> {
    const events = await eventsOf(build.number);
    const problems: string[] = [];
    const unrun: string[] = [];
    const finished = events.find((e) => e.type === 'BuildFinished');
    if (finished?.data.status !== 'success') problems.push(`build ${build.number} ended ${finished?.data.status ?? 'never'}`);
    const resumed = events.filter((e) => e.type === 'StageResumed');
    for (const n of [1, 2, 3]) {
      const file = `${markers}-${build.tag}-${n}`;
      const runs = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
      const starts = events.filter((e) => e.type === 'StepStarted' && e.data.step === n).length;
      // A run nobody recorded, or two runs for one StepStarted, is a failure. Fewer runs than
      // starts is not: a StartStep whose answer died with the server is recorded, the runner
      // then gives the stage up (the decider refuses its retry) and the next attempt runs it.
      if (runs > starts || runs === 0) problems.push(`build ${build.number} step ${n}: ran ${runs} times, ${starts} StepStarted`);
      else if (runs < starts) unrun.push(`build ${build.number} step ${n}: ${starts - runs} StepStarted without a run`);
      for (const resume of resumed) {
        if (resume.data.workspace === 'kept' && n < resume.data.fromStep && runs !== 1) problems.push(`build ${build.number} step ${n} ran again after a kept resume`);
      }
    }
    return { events, problems, unrun };
  }

  async function roundRunner(): Promise<string> {
    const build = await createBuild();
    let victim = '';
    await waitFor('step 2 started', 60, async () => {
      const events = await eventsOf(build.number);
      const claim = events.findLast((e) => e.type === 'StageClaimed');
      victim = claim?.data.runner?.name ?? '';
      // Running for real: StepStarted is recorded before the engine starts the step.
      return events.some((e) => e.type === 'StepStarted' && e.data.step === 2) && existsSync(`${markers}-${build.tag}-2`);
    });
    await stop(runners.get(victim), 'SIGKILL');
    await waitFor(`build ${build.number} ends after ${victim} was killed`, 120, () => ended(build.number));
    runners.set(victim, await startRunner(victim)); // its sweep kills the orphaned step and clears the folder
    const { events, problems } = await checkBuild(build);
    const types = events.map((e) => e.type);
    for (const type of ['StageLeaseExpired', 'StageRequeued', 'StageResumed']) if (!types.includes(type)) problems.push(`no ${type}`);
    const claimers = events.filter((e) => e.type === 'StageClaimed').map((e) => e.data.runner.name as string);
    if (claimers[0] !== victim || claimers.at(-1) === victim) problems.push(`claimed by ${claimers.join(' → ')}, killed ${victim}`);
    if (problems.length > 0) throw new Error(problems.join('; '));
    const resume = events.find((e) => e.type === 'StageResumed')!.data;
    return `killed ${victim} in step 2; ${claimers.join(' → ')}; resumed from step ${resume.fromStep}, workspace ${resume.workspace}`;
  }

  async function roundServer(): Promise<string> {
    const builds = [await createBuild(), await createBuild(), await createBuild()];
    await waitFor('a step started', 60, async () => (await eventsOf(builds[0]!.number)).some((e) => e.type === 'StepStarted'));
    await stop(server, 'SIGKILL');
    await sleep(500);
    server = await startServer();
    for (const build of builds) await waitFor(`build ${build.number} ends after the server restart`, 120, () => ended(build.number));
    const checked = await Promise.all(builds.map(checkBuild));
    const problems = checked.flatMap((c) => c.problems);
    const unrun = checked.flatMap((c) => c.unrun);
    const verify = spawn(node.command, [...node.args, 'verify'], { cwd: REPO_ROOT, env: { ...process.env, RUNLOG_DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    verify.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
    verify.stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => verify.on('exit', resolve));
    if (code !== 0) problems.push(`runlog verify exited ${code}:\n${said}`);
    if (problems.length > 0) throw new Error(problems.join('; '));
    return `killed the server mid-build; ${builds.length} builds ended in success; runlog verify: intact${unrun.length ? ` (${unrun.join(', ')})` : ''}`;
  }

  async function roundNats(): Promise<string> {
    const builds = [await createBuild(), await createBuild(), await createBuild()];
    await waitFor('a step started', 60, async () => (await eventsOf(builds[0]!.number)).some((e) => e.type === 'StepStarted'));
    await stop(nats, 'SIGKILL');
    await sleep(500);
    nats = await startNats(natsPort, join(folder, 'nats'));
    for (const build of builds) await waitFor(`build ${build.number} ends after the NATS restart`, 120, () => ended(build.number));
    const checked = await Promise.all(builds.map(checkBuild));
    const problems = checked.flatMap((c) => c.problems);
    for (const [i, { events }] of checked.entries()) {
      const claims = events.filter((e) => e.type === 'StageClaimed').length;
      if (checked[i]!.unrun.length > 0) problems.push(checked[i]!.unrun.join(', '));
      if (claims !== 1) problems.push(`build ${builds[i]!.number} claimed ${claims} times`);
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
    return `restarted nats-server mid-flight; ${builds.length} builds ended in success, each stage claimed once`;
  }

  try {
    nats = await startNats(natsPort, join(folder, 'nats'));
    server = await startServer();
    if ((await fetch(`${serverUrl}/api/repos/chaos/app`, { method: 'POST', headers, body: '{}' })).status !== 200) throw new Error('could not create the repo');
    for (const name of [`chaos-${pool}-a`, `chaos-${pool}-b`]) runners.set(name, await startRunner(name));
    for (let round = 1; round <= options.rounds; round++) {
      for (const kind of kinds) {
        const began = performance.now();
        let result: RoundResult;
        try {
          const detail = await (kind === 'runner' ? roundRunner() : kind === 'server' ? roundServer() : roundNats());
          result = { round, kind, ok: true, seconds: (performance.now() - began) / 1000, detail };
        } catch (error) {
          result = { round, kind, ok: false, seconds: (performance.now() - began) / 1000, detail: error instanceof Error ? error.message : String(error) };
        }
        results.push(result);
        log(`round ${String(round).padStart(2)} ${kind.padEnd(6)} ${result.ok ? 'ok  ' : 'FAIL'} ${result.seconds.toFixed(1).padStart(5)} s  ${result.detail}`);
      }
    }
    const failed = results.filter((r) => !r.ok).length;
    log(`chaos: ${results.length - failed}/${results.length} rounds ok (${options.rounds} rounds of ${kinds.join(', ')})${failed ? `; ${failed} FAILED` : ''}`);
    return results;
  } finally {
    for (const runner of runners.values()) await stop(runner);
    await stop(server);
    await stop(nats);
    await db.end({ timeout: 5 });
    await dropDatabase(url);
    rmSync(folder, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '1' }, kinds: { type: 'string' } } });
  const rounds = Number(values.rounds);
  const kinds = (values.kinds?.split(',') ?? CHAOS_KINDS) as ChaosKind[];
  if (!Number.isInteger(rounds) || rounds < 1 || kinds.some((k) => !CHAOS_KINDS.includes(k))) {
    console.error(`usage: npm run chaos -- --rounds N [--kinds ${CHAOS_KINDS.join(',')}]`);
    process.exit(2);
  }
  const results = await runChaos({ rounds, kinds });
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}
