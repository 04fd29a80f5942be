import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createDockerEngine } from '../../src/runner/docker/engine.ts';
import { dockerSocket, testDocker } from '../support/docker.ts';
import { pipeline, runnerNameOf, startDistributed, stopRunner, type Distributed, type Row } from '../support/distributed.ts';

// Restart from a step over NATS: `runlog server` and two `runlog runner` processes. The
// restart is routed to the runner keeping the failed stage's workspace (its own subject);
// when that runner is gone, after RUNLOG_RESTART_ROUTE_WAIT any runner of the pool runs
// the stage from the start.
const docker = await testDocker();
const ROUTE_WAIT_SECONDS = 5;

/** Step 2 fails in the first build and passes in a restart of it (DRONE_BUILD_PARENT is the restarted build's number). */
const stage = (pool: string) =>
  pipeline(pool, {
    make: ['echo "made by $DRONE_RUNNER_NAME" > made.txt'],
    check: ['test "$DRONE_BUILD_PARENT" != 0'],
    use: ['cat made.txt'],
  });

const starts = (events: Row[], step: number) => events.filter((e) => e.type === 'StepStarted' && e.data.step === step).length;

describe('restart from a step with runlog server and two runlog runners (Postgres, NATS, Docker)', { skip: docker.skip }, () => {
  let harness: Distributed;
  before(async () => {
    harness = await startDistributed('restart-e2e', { RUNLOG_RESTART_ROUTE_WAIT: String(ROUTE_WAIT_SECONDS) });
  });
  after(async () => {
    await harness?.close();
  });

  /** Runs the failing build on `holder` alone; answers its number once it failed. */
  async function failOn(pool: string, holder: string) {
    const runner = await harness.startRunner(holder, `pool=${pool}`);
    const parent = await harness.createBuild(stage(pool));
    assert.equal((await harness.waitForEnd(parent, 40)).status, 'failure');
    // The restart is routed by the runners' reports: wait for the one saying the holder keeps the workspace.
    for (const deadline = Date.now() + 20_000; ; await new Promise((resolve) => setTimeout(resolve, 200))) {
      const runners = (await (await fetch(`${harness.server.url}/api/runners`, { headers: harness.headers })).json()) as Array<{ name: string; workspaces: unknown[] }>;
      if (runners.some((r) => r.name === holder && r.workspaces.length > 0)) break;
      assert.ok(Date.now() < deadline, `the holder never reported its kept workspace: ${JSON.stringify(runners)}`);
    }
    return { runner, parent };
  }
  const restart = async (parent: number) => (await harness.api<{ number: number }>('POST', `/builds/${parent}/restart?stage=1&step=check`)).number;
  const log = async (number: number, step: number) => (await harness.api<Array<{ out: string }>>('GET', `/builds/${number}/logs/1/${step}`)).map((l) => l.out).join('');

  test('given the holder runner is up next to another one, then the restart runs on the holder from the step, on the kept workspace', async () => {
    const pool = randomBytes(4).toString('hex');
    const holderName = `holder-${pool}`;
    const { runner: holder, parent } = await failOn(pool, holderName);
    const other = await harness.startRunner(`other-${pool}`, `pool=${pool}`);
    try {
      const number = await restart(parent);
      assert.equal((await harness.waitForEnd(number, 40)).status, 'success');
      const events = await harness.eventsOf(number);
      assert.deepEqual(events.filter((e) => e.type === 'StageClaimed').map(runnerNameOf), [holderName]);
      const resumed = events.find((e) => e.type === 'StageResumed');
      assert.equal(resumed?.data.workspace, 'kept', JSON.stringify(resumed));
      assert.equal(resumed?.data.fromStep, 2);
      assert.equal(starts(events, 1), 0, 'step 1 is not run again');
      assert.equal(events.find((e) => e.type === 'StepSkipped' && e.data.step === 1)?.data.reason.condition, 'resume');
      assert.match(await log(number, 3), new RegExp(`made by ${holderName}`));
      assert.equal(events.some((e) => e.type === 'StageRequeued'), false);
    } finally {
      await Promise.all([stopRunner(holder), stopRunner(other)]);
    }
  });

  test('given the holder runner was killed, then after the route wait another runner runs the stage from the start and the events say why', async () => {
    const pool = randomBytes(4).toString('hex');
    const holderName = `gone-${pool}`;
    const { runner: holder, parent } = await failOn(pool, holderName);
    holder.child.kill('SIGKILL');
    await holder.exited;
    const otherName = `other-${pool}`;
    const other = await harness.startRunner(otherName, `pool=${pool}`);
    try {
      const number = await restart(parent);
      assert.equal((await harness.waitForEnd(number, 45)).status, 'success');
      const events = await harness.eventsOf(number);
      const requeued = events.find((e) => e.type === 'StageRequeued');
      assert.match(String(requeued?.data.reason), new RegExp(`runner .*${holderName}.* did not take it within ${ROUTE_WAIT_SECONDS}s`));
      assert.deepEqual(events.filter((e) => e.type === 'StageClaimed').map(runnerNameOf), [otherName]);
      const resumed = events.find((e) => e.type === 'StageResumed');
      assert.equal(resumed?.data.workspace, 'fresh', JSON.stringify(resumed));
      assert.equal(resumed?.data.fromStep, 1);
      assert.equal(starts(events, 1), 1, 'step 1 runs again on a fresh workspace');
      assert.match(await log(number, 3), new RegExp(`made by ${otherName}`));
    } finally {
      await stopRunner(other);
      await createDockerEngine({ runner: holderName, socketPath: dockerSocket }).sweep({ runner: holderName });
    }
  });
});
