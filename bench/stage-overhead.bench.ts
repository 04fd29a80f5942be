import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { PlanStage } from '../src/pipeline/plan.ts';
import { createDockerEngine } from '../src/runner/docker/engine.ts';
import type { Engine, StageRun } from '../src/runner/engine.ts';

/**
 * Stage overhead of the docker engine: a stage of 10 steps each running `true` in the
 * busybox test image (setup, 10 sequential steps, destroy), against 10 sequential
 * `docker run --rm` of the same image through the docker CLI, in the same process and
 * rounds interleaved so that both see the same machine load. Goal: ratio ≤ 1.10.
 * Measured twice: with the default network policy (a user-defined network per stage, as
 * Drone does) and with 'when-needed' (this stage has no services, so no network of its own).
 *   BENCH_ROUNDS (default 3), RUNLOG_TEST_DOCKER_SOCK (default /var/run/docker.sock)
 */
const IMAGE = 'runlog-test/busybox:latest';
const STEPS = 10;
const exec = promisify(execFile);

export async function run(): Promise<void> {
  const socketPath = process.env.RUNLOG_TEST_DOCKER_SOCK ?? '/var/run/docker.sock';
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const runner = `bench-stage-overhead-${randomUUID().slice(0, 8)}`;
  const engines = {
    'per-stage': createDockerEngine({ socketPath, runner }),
    'when-needed': createDockerEngine({ socketPath, runner, network: 'when-needed' }),
  };

  const engineStage = async (engine: Engine) => {
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
    await engineStage(engines['per-stage']); // warm-up: caches, the daemon's first network
    const ratios: Record<keyof typeof engines, number[]> = { 'per-stage': [], 'when-needed': [] };
    for (let round = 1; round <= rounds; round++) {
      // rotate the order, so that none always runs on a warmer (or busier) machine
      const timings: Record<string, number> = {};
      const order = ['cli', 'per-stage', 'when-needed'] as const;
      for (let i = 0; i < order.length; i++) {
        const which = order[(i + round) % order.length];
        timings[which] = which === 'cli' ? await dockerRuns() : await engineStage(engines[which]);
      }
      for (const policy of ['per-stage', 'when-needed'] as const) ratios[policy].push(timings[policy] / timings.cli);
      console.log(
        `stage-overhead round ${round}: docker run --rm x${STEPS} ${(timings.cli / 1000).toFixed(2)} s; engine (setup + ${STEPS} steps + destroy) ` +
          `per-stage network ${(timings['per-stage'] / 1000).toFixed(2)} s (ratio ${(timings['per-stage'] / timings.cli).toFixed(3)}), ` +
          `when-needed ${(timings['when-needed'] / 1000).toFixed(2)} s (ratio ${(timings['when-needed'] / timings.cli).toFixed(3)})`,
      );
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)].toFixed(3);
    console.log(
      `stage-overhead: median ratio over ${rounds} rounds: ${median(ratios['per-stage'])} with a network per stage, ` +
        `${median(ratios['when-needed'])} with network: when-needed (goal <= 1.10)`,
    );
  } finally {
    await engines['per-stage'].sweep();
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
