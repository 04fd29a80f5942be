import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { BuildEvent } from '../../src/events/build-events.ts';
import { compile } from '../../src/pipeline/compile.ts';
import { PlanStage, type PlanStep } from '../../src/pipeline/plan.ts';
import { posixScript } from '../../src/pipeline/script.ts';
import { Trigger } from '../../src/pipeline/trigger.ts';
import { LABEL } from '../../src/runner/docker/convert.ts';
import { createDockerEngine } from '../../src/runner/docker/engine.ts';
import type { Engine, StageRun } from '../../src/runner/engine.ts';
import { createExecEngine } from '../../src/runner/exec/engine.ts';
import { createLocalBuild, type MemoryReporter } from '../../src/runner/reporter.ts';
import { runStage, type StageLimits, type StageResult } from '../../src/runner/stage-runner.ts';

/**
 * The stage runner on the real engines (docker on the local daemon with the local
 * `runlog-test/busybox` image, never pulled; exec on this host) and the memory reporter,
 * which runs the real decider. Short limits (seconds) and a fast clock keep it quick.
 */

const IMAGE = 'runlog-test/busybox:latest';
const RUNNER = 'runlog-test-stage-runner';
const docker = new Docker({ socketPath: process.env.RUNLOG_TEST_DOCKER_SOCK ?? '/var/run/docker.sock' });
const pulls: string[] = [];
// A registry is never reachable here; a pull attempt would be a bug, so the client records any.
docker.pull = (async (image: string) => {
  pulls.push(image);
  throw new Error(`test: pull of ${image} attempted`);
}) as unknown as Docker['pull'];

type StepInput = { name: string; commands: string[] } & Partial<Omit<PlanStep, 'name' | 'commands'>>;

/** A stage of `type` with these services and steps; steps without `dependsOn` run in parallel. */
function stage(type: 'docker' | 'exec', steps: StepInput[], services: StepInput[] = []): PlanStage {
  let number = 0;
  const toStep = (kind: 'service' | 'step') => (input: StepInput) => ({
    number: ++number,
    kind,
    image: type === 'docker' ? IMAGE : '',
    pull: 'never',
    script: posixScript(input.commands),
    ...input,
  });
  return PlanStage.parse({
    number: 1,
    name: 'test',
    type,
    platform: {},
    workspace: { path: '/drone/src' },
    clone: { disable: true },
    services: services.map(toStep('service')),
    steps: steps.map(toStep('step')),
  });
}

/** The first pipeline of a `.drone.yml`, through the real compiler (a push to main). */
function compiled(yaml: string): PlanStage {
  const { plan, diagnostics } = compile(yaml, {
    trigger: { event: 'push', ref: 'refs/heads/main', branch: 'main', commit: 'abc123' },
    repo: { owner: 'acme', name: 'app', slug: 'acme/app' },
    build: { number: 1, createdAt: new Date().toISOString() },
  });
  assert.ok(plan, diagnostics.map((d) => d.message).join('\n'));
  return plan.stages[0];
}

type Run = {
  result: StageResult;
  reporter: MemoryReporter;
  run: StageRun;
  seconds: number;
  log(step: string): string;
  status(step: string): string | undefined;
  number(step: string): number;
  events: BuildEvent[];
};

async function runPlan(
  engine: Engine,
  planStage: PlanStage,
  options: {
    secrets?: Record<string, string>;
    limits?: StageLimits;
    now?: () => Date;
    onEvents?: (events: BuildEvent[], reporter: MemoryReporter) => void;
  } = {},
): Promise<Run> {
  const now = options.now ?? (() => new Date());
  let reporterRef: MemoryReporter | undefined;
  const { reporter, buildId, leaseToken } = await createLocalBuild({
    plan: { version: 1, stages: [planStage], externalSecrets: [] },
    trigger: Trigger.parse({ event: 'push', ref: 'refs/heads/main', branch: 'main', commit: 'abc123' }),
    now,
    hooks: { onEvents: (events) => reporterRef && options.onEvents?.(events, reporterRef) },
  });
  reporterRef = reporter;
  const run: StageRun = {
    buildId,
    repo: 'acme/app',
    buildNumber: 1,
    stage: planStage,
    runId: `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    trusted: false,
  };
  const started = performance.now();
  const result = await runStage({
    engine,
    reporter,
    run,
    leaseToken,
    secrets: options.secrets ?? {},
    now,
    limits: { cancelPollMs: 100, tickMs: 100, ...options.limits, log: { batchIntervalMs: 100, ...options.limits?.log } },
  });
  const events = reporter.events();
  const numberOf = (name: string) => [...planStage.services, ...planStage.steps].find((s) => s.name === name)!.number;
  const status = (name: string) => {
    let found: string | undefined;
    for (const event of events) {
      if ((event.type === 'StepFinished' || event.type === 'StepSkipped') && event.data.step === numberOf(name)) {
        found = event.type === 'StepSkipped' ? 'skipped' : event.data.status;
      }
    }
    return found;
  };
  return {
    result,
    reporter,
    run,
    seconds: (performance.now() - started) / 1000,
    log: (name) => reporter.logText(1, numberOf(name)),
    status,
    number: numberOf,
    events,
  };
}

/** Index of the first event matching, for order checks. */
const indexOf = (events: BuildEvent[], type: BuildEvent['type'], step: number) =>
  events.findIndex((e) => e.type === type && 'step' in e.data && e.data.step === step);

async function leftovers(runId: string) {
  const filters = { label: [`${LABEL.run}=${runId}`] };
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return { containers: containers.length, networks: networks.length, volumes: volumes.Volumes?.length ?? 0 };
}

// The failure paths: one pipeline for both engines, which must agree on statuses and logs.
const failing = (type: 'docker' | 'exec') => {
  const image = type === 'docker' ? `\n  image: ${IMAGE}\n  pull: never` : '';
  return compiled(`
kind: pipeline
type: ${type}
name: failing
clone:
  disable: true
steps:
- name: lint${image}
  failure: ignore
  commands: [echo lint, exit 1]
- name: build${image}
  commands: [echo build, exit 2]
- name: test${image}
  commands: [echo test]
- name: notify${image}
  commands: ['echo "notify $DRONE_STAGE_STATUS $DRONE_FAILED_STEPS"']
  when:
    status: [failure]
- name: deploy${image}
  commands: [echo deploy]
`);
};

const sleeper = (type: 'docker' | 'exec') =>
  stage(type, [
    { name: 'long', commands: ['echo started', 'sleep 60'] },
    { name: 'after', commands: ['echo after'], dependsOn: ['long'] },
  ]);

describe('stage runner on the docker engine', () => {
  let engine: Engine;
  before(() => {
    engine = createDockerEngine({ docker, runner: RUNNER });
  });
  after(async () => {
    await engine.sweep({ runner: RUNNER });
    assert.deepEqual(pulls, [], 'no image was ever pulled');
  });

  it('runs a service, two parallel steps and one that needs both and reaches the service by name', async () => {
    const planStage = compiled(`
kind: pipeline
type: docker
name: default
clone:
  disable: true
services:
- name: web
  image: ${IMAGE}
  pull: never
  commands: [mkdir -p /www, echo hello-from-web > /www/index.html, httpd -f -p 80 -h /www]
steps:
- name: a
  image: ${IMAGE}
  pull: never
  commands: ['for i in $(seq 1 40); do echo a-$i; done', sleep 1]
  depends_on: []
- name: b
  image: ${IMAGE}
  pull: never
  commands: ['for i in $(seq 1 40); do echo b-$i; done', sleep 1]
  depends_on: []
- name: c
  image: ${IMAGE}
  pull: never
  commands: ['for i in $(seq 1 50); do wget -q -O- http://web/ && exit 0; sleep 0.2; done; exit 1']
  depends_on: [a, b]
`);
    const { result, events, log, status, run, number } = await runPlan(engine, planStage);
    assert.equal(result.status, 'success', result.error);
    assert.deepEqual(['web', 'a', 'b', 'c'].map(status), ['success', 'success', 'success', 'success']);
    // a and b overlap; c starts after both ended.
    const [web, a, b, c] = ['web', 'a', 'b', 'c'].map(number);
    assert.ok(indexOf(events, 'StepStarted', web) < indexOf(events, 'StepStarted', a));
    assert.ok(indexOf(events, 'StepStarted', b) < indexOf(events, 'StepFinished', a), 'b started before a finished');
    assert.ok(indexOf(events, 'StepStarted', a) < indexOf(events, 'StepFinished', b), 'a started before b finished');
    assert.ok(indexOf(events, 'StepStarted', c) > Math.max(indexOf(events, 'StepFinished', a), indexOf(events, 'StepFinished', b)));
    // Logs arrive whole and in order per step.
    for (const name of ['a', 'b']) {
      const got = log(name).split('\n').filter((line) => line.startsWith(`${name}-`));
      assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => `${name}-${i + 1}`));
    }
    assert.match(log('c'), /hello-from-web/);
    const finished = events.find((e) => e.type === 'StepFinished' && e.data.step === c);
    assert.ok(finished?.type === 'StepFinished' && finished.data.logSize === Buffer.byteLength(log('c')));
    assert.deepEqual(await leftovers(run.runId), { containers: 0, networks: 0, volumes: 0 });
  });

  it('a failing step fails the stage and skips the rest, except failure: ignore and status: failure steps', async () => {
    const { result, status, log } = await runPlan(engine, failing('docker'));
    assert.equal(result.status, 'failure');
    assert.deepEqual(
      ['lint', 'build', 'test', 'notify', 'deploy'].map(status),
      ['failure', 'failure', 'skipped', 'success', 'skipped'],
    );
    assert.match(log('notify'), /notify failure lint,build/);
  });

  it('a missing image is a clear step error, and nothing is pulled', async () => {
    const planStage = stage('docker', [
      { name: 'absent', commands: ['true'], image: 'runlog-test/absent:1.0', pull: 'never' },
      { name: 'after', commands: ['true'], dependsOn: ['absent'] },
    ]);
    const { result, events, status } = await runPlan(engine, planStage);
    assert.equal(result.status, 'error');
    assert.deepEqual(['absent', 'after'].map(status), ['error', 'skipped']);
    const finished = events.find((e) => e.type === 'StepFinished');
    assert.ok(finished?.type === 'StepFinished');
    assert.match(finished.data.error ?? '', /runlog-test\/absent:1\.0/);
    assert.deepEqual(pulls, []);
  });

  it('the timeout kills the running step, records StageTimedOut and leaves nothing behind', async () => {
    // A clock 60× fast: the 1-minute timeout comes after one real second.
    const t0 = Date.now();
    const now = () => new Date(t0 + (Date.now() - t0) * 60);
    const { result, events, status, run, seconds, log } = await runPlan(engine, sleeper('docker'), { now, limits: { timeoutMinutes: 1 } });
    assert.equal(result.stoppedBy, 'timeout');
    assert.equal(result.status, 'killed');
    assert.ok(events.some((e) => e.type === 'StageTimedOut'));
    assert.deepEqual(['long', 'after'].map(status), ['killed', 'skipped']);
    assert.match(log('long'), /started/);
    assert.ok(seconds < 10, `took ${seconds}s`);
    assert.deepEqual(await leftovers(run.runId), { containers: 0, networks: 0, volumes: 0 });
  });

  it('a cancel stops the running step, records StageCancelled and leaves nothing behind', async () => {
    let asked = false;
    const { result, events, status, run } = await runPlan(engine, sleeper('docker'), {
      onEvents: (appended, reporter) => {
        if (!asked && appended.some((e) => e.type === 'StepStarted')) {
          asked = true;
          setTimeout(() => void reporter.command({ type: 'RequestCancel', data: { by: 'alice', at: new Date().toISOString() } }), 300);
        }
      },
    });
    assert.equal(result.stoppedBy, 'cancel');
    assert.equal(result.status, 'killed');
    assert.ok(events.some((e) => e.type === 'StageCancelled'));
    assert.deepEqual(['long', 'after'].map(status), ['killed', 'skipped']);
    assert.deepEqual(await leftovers(run.runId), { containers: 0, networks: 0, volumes: 0 });
  });

  it('inactivity stops a silent step, records StageInactive and leaves nothing behind', async () => {
    const { result, events, status, run, seconds } = await runPlan(engine, sleeper('docker'), { limits: { inactivitySeconds: 2 } });
    assert.equal(result.stoppedBy, 'inactivity');
    const inactive = events.find((e) => e.type === 'StageInactive');
    assert.ok(inactive?.type === 'StageInactive' && inactive.data.limitSeconds === 2);
    assert.deepEqual(['long', 'after'].map(status), ['killed', 'skipped']);
    assert.ok(seconds >= 2 && seconds < 10, `took ${seconds}s`);
    assert.deepEqual(await leftovers(run.runId), { containers: 0, networks: 0, volumes: 0 });
  });

  it('secrets never reach the log in clear text', async () => {
    const token = 'sup3r-s3cret-value';
    const key = '-----BEGIN TEST KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END TEST KEY-----';
    const planStage = stage('docker', [
      {
        name: 'leak',
        environment: { TOKEN: { secret: 'token' }, KEY: { secret: 'key' } },
        commands: [
          'echo "$TOKEN"',
          'echo "Authorization: Bearer${TOKEN}!"',
          'echo "$TOKEN" >&2',
          // across two writes (and two output chunks)
          'printf "%s" "${TOKEN:0:6}"; sleep 0.3; printf "%s\\n" "${TOKEN:6}"',
          // a multi-line secret, as is and re-indented line by line
          'echo "$KEY"',
          'echo "$KEY" | sed "s/^/    /"',
        ],
      },
    ]);
    const { result, log } = await runPlan(engine, planStage, { secrets: { token, key } });
    assert.equal(result.status, 'success', result.error);
    const text = log('leak');
    for (const secret of [token, ...key.split('\n')]) assert.ok(!text.includes(secret), `${secret} leaked:\n${text}`);
    assert.equal(text.split('********').length - 1, 4 + 1 + 3, text);
  });

  it('a missing secret is a clear step error', async () => {
    const planStage = stage('docker', [{ name: 'needs', commands: ['true'], environment: { TOKEN: { secret: 'nope' } } }]);
    const { result, events } = await runPlan(engine, planStage);
    assert.equal(result.status, 'error');
    const finished = events.find((e) => e.type === 'StepFinished');
    assert.ok(finished?.type === 'StepFinished');
    assert.match(finished.data.error ?? '', /secret 'nope' \(for TOKEN\) is not defined/);
  });
});

describe('stage runner on the exec engine', () => {
  const engine = createExecEngine({ runner: RUNNER });
  after(() => engine.sweep());

  it('gives the same statuses and logs as docker for the same pipeline', async () => {
    const onDocker = await runPlan(createDockerEngine({ docker, runner: RUNNER }), failing('docker'));
    const onExec = await runPlan(engine, failing('exec'));
    const names = ['lint', 'build', 'test', 'notify', 'deploy'];
    assert.deepEqual(names.map(onExec.status), names.map(onDocker.status));
    assert.deepEqual(names.map(onExec.log), names.map(onDocker.log));
    assert.equal(onExec.result.status, onDocker.result.status);
  });

  it('retries a step by its policy, recording StepRetried, in one log', async () => {
    const planStage = stage('exec', [
      { name: 'flaky', commands: ['n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; echo try $((n+1)); [ $n -ge 2 ]'], retry: { limit: 3, exitCodes: [] } },
    ]);
    const { result, events, log } = await runPlan(engine, planStage);
    assert.equal(result.status, 'success');
    assert.deepEqual(events.filter((e) => e.type === 'StepRetried').map((e) => e.type === 'StepRetried' && e.data.retry), [1, 2]);
    assert.match(log('flaky'), /try 1\n[^]*exit code 1; try 2 of 4[^]*try 3\n/);
  });

  it('exit code 78 ends the stage early as a success', async () => {
    const planStage = stage('exec', [
      { name: 'check', commands: ['echo nothing to do', 'exit 78'] },
      { name: 'work', commands: ['echo work'], dependsOn: ['check'] },
    ]);
    const { result, status } = await runPlan(engine, planStage);
    assert.equal(result.status, 'success');
    assert.deepEqual(['check', 'work'].map(status), ['success', 'skipped']);
  });

  it('a stage cancelled before it runs is not run at all', async () => {
    const { reporter, leaseToken, buildId } = await createLocalBuild({
      plan: { version: 1, stages: [sleeper('exec')], externalSecrets: [] },
      trigger: Trigger.parse({ event: 'push', ref: 'refs/heads/main', commit: 'abc' }),
    });
    await reporter.command({ type: 'RequestCancel', data: { by: 'bob', at: new Date().toISOString() } });
    const result = await runStage({
      engine,
      reporter,
      run: { buildId, repo: 'acme/app', buildNumber: 1, stage: sleeper('exec'), runId: 'cancelled-early', trusted: false },
      leaseToken,
      secrets: {},
      now: () => new Date(),
    });
    assert.equal(result.stoppedBy, 'cancel');
    // The decider skips the steps that never ran; nothing started.
    assert.deepEqual(result.events.map((e) => e.type), ['StepSkipped', 'StepSkipped', 'StageCancelled', 'BuildFinished']);
  });

  it('a runner that lost its lease stops and records nothing more', async () => {
    let expired = false;
    const { result, events } = await runPlan(engine, sleeper('exec'), {
      onEvents: (appended, reporter) => {
        if (!expired && appended.some((e) => e.type === 'StepStarted')) {
          expired = true;
          // The reaper decides the runner is gone and requeues the stage.
          const claim = reporter.events().find((e) => e.type === 'StageClaimed');
          assert.ok(claim?.type === 'StageClaimed');
          setTimeout(
            () => void reporter.command({ type: 'ExpireLease', data: { stage: 1, leaseToken: claim.data.leaseToken, at: new Date().toISOString() } }),
            200,
          );
        }
      },
      limits: { inactivitySeconds: 1 },
    });
    assert.equal(result.status, 'lost', JSON.stringify(events.map((e) => e.type)));
    assert.equal(events.at(-1)?.type, 'StageRequeued');
  });

  it('a shutdown hands the stage back, and the next attempt resumes in the kept workspace', async () => {
    const planStage = stage('exec', [
      { name: 'prepare', commands: ['echo prepared > artefact'] },
      { name: 'use', commands: ['cat artefact', 'sleep ${PAUSE:-0}'], dependsOn: ['prepare'], environment: { PAUSE: { secret: 'pause' } } },
    ]);
    const { reporter, leaseToken, buildId } = await createLocalBuild({
      plan: { version: 1, stages: [planStage], externalSecrets: [] },
      trigger: Trigger.parse({ event: 'push', ref: 'refs/heads/main', commit: 'abc' }),
    });
    const first: StageRun = { buildId, repo: 'acme/app', buildNumber: 1, stage: planStage, runId: `first-${Date.now()}`, trusted: false };
    const shutdown = new AbortController();
    const stopping = setInterval(() => {
      if (reporter.events().some((e) => e.type === 'StepStarted' && e.data.step === 2)) shutdown.abort();
    }, 20);
    const firstResult = await runStage({ engine, reporter, run: first, leaseToken, secrets: { pause: '30' }, now: () => new Date(), signal: shutdown.signal });
    clearInterval(stopping);
    assert.equal(firstResult.stoppedBy, 'shutdown');
    assert.equal(firstResult.status, 'pending', 'requeued');

    const second = { ...first, runId: `second-${Date.now()}`, workspaceKey: first.runId };
    await reporter.command({ type: 'ClaimStage', data: { stage: 1, attempt: 2, runner: { id: 'r2', name: 'r2' }, leaseToken: 'lease-2', at: new Date().toISOString() } });
    const secondResult = await runStage({ engine, reporter, run: second, leaseToken: 'lease-2', secrets: { pause: '0' }, now: () => new Date() });
    assert.equal(secondResult.status, 'success', secondResult.error);
    const resumed = secondResult.events.find((e) => e.type === 'StageResumed');
    assert.ok(resumed?.type === 'StageResumed');
    assert.deepEqual([resumed.data.fromStep, resumed.data.workspace], [2, 'kept']);
    assert.ok(!secondResult.events.some((e) => e.type === 'StepStarted' && e.data.step === 1), 'prepare is not run again');
    assert.match(reporter.logText(1, 2), /prepared/);
  });
});
