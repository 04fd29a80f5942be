import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { PlanStage } from '../src/pipeline/plan.ts';
import { createDockerEngine } from '../src/runner/docker/engine.ts';
import type { StageRun } from '../src/runner/engine.ts';

/**
 * Stage overhead of the docker engine: a stage of 10 steps each running `true` in the
 * busybox test image (setup, 10 sequential steps, destroy), against 10 sequential
 * `docker run --rm` of the same image through the docker CLI, in the same process and
 * rounds interleaved so that both see the same machine load. Goal: ratio ≤ 1.10.
 *   BENCH_ROUNDS (default 3), RUNLOG_TEST_DOCKER_SOCK (default /var/run/docker.sock)
 */
const IMAGE = 'runlog-test/busybox:latest';
const STEPS = 10;
const exec = promisify(execFile);

export async function run(): Promise<void> {
  const socketPath = process.env.RUNLOG_TEST_DOCKER_SOCK ?? '/var/run/docker.sock';
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const runner = `bench-stage-overhead-${randomUUID().slice(0, 8)}`;
  const engine = createDockerEngine({ socketPath, runner });

  const engineStage = async () => {
    const stage = stageOf(runner);
    const signal = new AbortController().signal;
    const started = performance.now();
    await engine.setup(stage, signal);
    try {
      for (const step of stage.stage.steps) {
        const exit = await engine.runStep(stage, { step, env: {} }, () => {}, signal);
        if (exit.exitCode !== 0) throw new Error(`step ${step.name} exited ${exit.exitCode}`);
      }
    } finally {
      await engine.destroy(stage);
    }
    return performance.now() - started;
  };
  const dockerRuns = async () => {
    const started = performance.now();
    for (let i = 0; i < STEPS; i++) await exec('docker', ['-H', `unix://${socketPath}`, 'run', '--rm', IMAGE, 'true']);
    return performance.now() - started;
  };

  try {
    await engineStage(); // warm-up: the helper image, caches, the daemon's first network
    const ratios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      // alternate which goes first, so that neither always runs on a warmer (or busier) machine
      const [engineMs, cliMs] =
        round % 2 === 1 ? [await engineStage(), await dockerRuns()] : await dockerRuns().then(async (cli) => [await engineStage(), cli]);
      ratios.push(engineMs / cliMs);
      console.log(
        `stage-overhead round ${round}: engine ${(engineMs / 1000).toFixed(2)} s (setup + ${STEPS} steps + destroy), ` +
          `docker run --rm x${STEPS} ${(cliMs / 1000).toFixed(2)} s, ratio ${(engineMs / cliMs).toFixed(3)}`,
      );
    }
    const median = ratios.sort((a, b) => a - b)[Math.floor(ratios.length / 2)];
    console.log(`stage-overhead: median ratio ${median.toFixed(3)} over ${rounds} rounds (goal <= 1.10)`);
  } finally {
    await engine.sweep();
  }
}

function stageOf(runner: string): StageRun {
  const stage = PlanStage.parse({
    number: 1,
    name: 'bench',
    type: 'docker',
    platform: {},
    workspace: { path: '/drone/src' },
    clone: { disable: true },
    steps: Array.from({ length: STEPS }, (_, i) => ({
      number: i + 1,
      name: `step-${i + 1}`,
      kind: 'step',
      image: IMAGE,
      pull: 'if-not-exists',
      commands: ['true'],
      script: 'true',
    })),
  });
  return { buildId: randomUUID(), repo: 'bench/stage-overhead', buildNumber: 1, stage, runId: `${runner}-${randomUUID().slice(0, 8)}`, trusted: false };
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
