import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createDockerEngine } from '../../src/runner/docker/engine.ts';
import { dockerSocket, testDocker } from '../support/docker.ts';
import { pipeline, runnerNameOf, startDistributed, stopRunner, type Distributed, type Row } from '../support/distributed.ts';

// A runner killed with SIGKILL mid-stage, and the runner that takes the requeued stage over
// (DESIGN.md: "steps already StepFinished with success are skipped when the workspace
// survived (same host, named volume), otherwise the stage restarts cleanly and the events
// say so"). `runlog server` + `runlog runner` processes, Postgres, NATS, Docker.
const docker = await testDocker();

/** Step 1 leaves a file; step 2 reads it and, on the victim only, sleeps until killed; step 3 reads it again. */
const stage = (pool: string, victim: string) =>
  pipeline(pool, {
    make: ['echo "made by $DRONE_RUNNER_NAME" > made.txt'],
    wait: ['cat made.txt', `if [ "$DRONE_RUNNER_NAME" = ${victim} ]; then sleep 120; fi`],
    use: ['cat made.txt'],
  });

const starts = (events: Row[], step: number) => events.filter((e) => e.type === 'StepStarted' && e.data.step === step).length;

describe('a stage whose runner was killed resumes on the next runner (server, runners, Postgres, NATS, Docker)', { skip: docker.skip }, () => {
  let harness: Distributed;
  before(async () => {
    harness = await startDistributed('resume-e2e');
  });
  after(async () => {
    await harness?.close();
  });

  /** Starts the victim, runs the build until step 2 runs there, kills it with SIGKILL; `meanwhile` then acts before the rescuer starts. */
  async function killMidStage(meanwhile: (victim: string) => Promise<void> = async () => {}) {
    const pool = randomBytes(4).toString('hex');
    const victim = `victim-${pool}`;
    const rescuer = `rescuer-${pool}`;
    const runner = await harness.startRunner(victim, `pool=${pool}`);
    const number = await harness.createBuild(stage(pool, victim));
    await harness.waitForEvent(number, (e) => e.type === 'StepStarted' && e.data.step === 2);
    runner.child.kill('SIGKILL');
    await runner.exited;
    await meanwhile(victim);
    const second = await harness.startRunner(rescuer, `pool=${pool}`);
    try {
      const build = await harness.waitForEnd(number, 50);
      assert.equal(build.status, 'success', JSON.stringify(build));
    } finally {
      await stopRunner(second);
    }
    const events = await harness.eventsOf(number);
    const log = async (step: number) => (await harness.api<Array<{ out: string }>>('GET', `/builds/${number}/logs/1/${step}`)).map((l) => l.out).join('');
    return { number, victim, rescuer, events, log };
  }

  test('given the workspace volume survived on the docker engine, then the next runner goes on from step 2: step 1 is not run again, its file is still there, StageResumed says kept', async () => {
    const { victim, rescuer, events, log } = await killMidStage();
    try {
      const types = events.map((e) => e.type);
      assert.ok(types.indexOf('StageLeaseExpired') < types.indexOf('StageRequeued'), types.join(', '));
      assert.deepEqual(events.filter((e) => e.type === 'StageClaimed').map(runnerNameOf), [victim, rescuer]);
      const resumed = events.filter((e) => e.type === 'StageResumed');
      assert.equal(resumed.length, 1, types.join(', '));
      assert.deepEqual({ ...resumed[0]!.data, at: undefined, timeoutMinutes: undefined }, { stage: 1, attempt: 2, fromStep: 2, workspace: 'kept', keptSteps: [1], at: undefined, timeoutMinutes: undefined });
      assert.equal(starts(events, 1), 1, 'step 1 ran once, on the victim');
      assert.equal(starts(events, 2), 2, 'step 2 was running when the victim died: it runs again');
      assert.equal(starts(events, 3), 1);
      // The file step 1 made on the victim is what steps 2 and 3 read on the rescuer.
      assert.match(await log(3), new RegExp(`made by ${victim}`));
      // The victim's step-2 container (sleeping on the same volume) was stopped by the takeover.
      const left = await docker.docker!.listContainers({ filters: { label: [`runlog.runner=${victim}`] } });
      assert.deepEqual(left.map((c) => c.Names[0]), []);
    } finally {
      await createDockerEngine({ runner: victim, socketPath: dockerSocket }).sweep({ runner: victim });
    }
  });

  test('given the workspace volume is gone, then the next runner runs the stage whole on a fresh one and StageResumed says fresh', async () => {
    const { victim, rescuer, events, log } = await killMidStage(async (victim) => {
      // What a restart of the victim (its start-up sweep) or an admin would do first: its containers and the workspace go.
      await createDockerEngine({ runner: victim, socketPath: dockerSocket }).sweep({ runner: victim });
    });
    const resumed = events.filter((e) => e.type === 'StageResumed');
    assert.equal(resumed.length, 1);
    assert.equal(resumed[0]!.data.workspace, 'fresh');
    assert.equal(resumed[0]!.data.fromStep, 1);
    assert.equal(resumed[0]!.data.keptSteps, undefined);
    assert.equal(starts(events, 1), 2, 'step 1 ran again on the fresh workspace');
    assert.match(await log(3), new RegExp(`made by ${rescuer}`));
    assert.doesNotMatch(await log(3), new RegExp(victim));
  });
});
