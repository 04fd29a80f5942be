import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import Docker from 'dockerode';
import { PlanStage } from '../src/pipeline/plan.ts';
import { posixScript } from '../src/pipeline/script.ts';
import { createDockerEngine } from '../src/runner/docker/engine.ts';
import type { StageRun, StepOutput } from '../src/runner/engine.ts';
import { DEFAULT_LOG_CAP } from '../src/runner/log-cap.ts';
import { createStepLog } from '../src/runner/log-step.ts';

/**
 * Log throughput: a step printing 100 MiB, through runlog's log path (masker → head/tail
 * cap → batcher) into an in-memory sink standing in for storage, next to the raw
 * operation — the same bytes handed to a sink that only counts them — in the same run.
 * Figures: MiB/s of step output, the ratio runlog/raw, and the peak RSS of this process
 * during each. Twice in memory (the default 5 MiB cap, and a cap above the size so every
 * byte is batched and stored), then through the docker engine when a daemon answers.
 *   BENCH_LOG_MIB (default 100), RUNLOG_TEST_DOCKER_SOCK (default /var/run/docker.sock)
 */
const MIB = 1024 * 1024;
const TOTAL = Number(process.env.BENCH_LOG_MIB ?? 100) * MIB;
/** Docker's attach stream arrives in pieces about this size. */
const CHUNK = 16 * 1024;
const SECRETS = ['bench-secret-value-0123', 'another-secret-for-the-masker'];

type Measure = { seconds: number; peakRssMiB: number; stored: number };

/** Output that looks like a build's: ~100-byte lines, a secret every thousand lines. */
function sampleChunks(): Uint8Array[] {
  const lines: string[] = [];
  for (let i = 0, length = 0; length < CHUNK * 64; i++) {
    const line = i % 1000 === 0 ? `token ${SECRETS[0]} used\n` : `[${i}] compiling module_${i % 97}.ts ... ok (${i % 13} warnings, ${i % 7} ms)      \n`;
    lines.push(line);
    length += line.length;
  }
  const bytes = new TextEncoder().encode(lines.join(''));
  const chunks: Uint8Array[] = [];
  for (let at = 0; at + CHUNK <= bytes.length; at += CHUNK) chunks.push(bytes.subarray(at, at + CHUNK));
  return chunks;
}

/** Tracks this process's peak RSS while `work` runs (sampled; `work` must yield to the event loop now and then). */
async function measured(work: (sample: () => void) => Promise<number>): Promise<Measure> {
  let peak = process.memoryUsage.rss();
  const sample = () => (peak = Math.max(peak, process.memoryUsage.rss()));
  const timer = setInterval(sample, 10);
  const started = performance.now();
  const stored = await work(sample);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  sample();
  return { seconds, peakRssMiB: peak / MIB, stored };
}

/** Feeds TOTAL bytes of sample output into `output`, yielding to the loop as a stream would. */
async function produce(output: StepOutput, sample: () => void): Promise<void> {
  const chunks = sampleChunks();
  for (let sent = 0, i = 0; sent < TOTAL; i++) {
    const chunk = chunks[i % chunks.length];
    output(chunk);
    sent += chunk.length;
    if (i % 64 === 0) {
      sample();
      await yieldToLoop();
    }
  }
}

function report(label: string, raw: Measure, ours: Measure, input = TOTAL): void {
  const rate = (m: Measure) => input / MIB / m.seconds;
  console.log(
    `logs ${label}: runlog ${rate(ours).toFixed(0)} MiB/s (stored ${(ours.stored / MIB).toFixed(1)} MiB, peak RSS ${ours.peakRssMiB.toFixed(0)} MiB), ` +
      `raw ${rate(raw).toFixed(0)} MiB/s (peak RSS ${raw.peakRssMiB.toFixed(0)} MiB), ratio ${(rate(ours) / rate(raw)).toFixed(3)}`,
  );
}

async function inMemory(capBytes: number): Promise<Measure> {
  return measured(async (sample) => {
    // The sink keeps what it is sent, as storage would (the uncapped run holds all 100 MiB).
    const sink: string[] = [];
    const log = createStepLog({ secrets: SECRETS, send: async (chunk) => void sink.push(chunk.data), limits: { capBytes } });
    await produce(log.output, sample);
    return (await log.finish()).size;
  });
}

const rawSink = () =>
  measured(async (sample) => {
    let counted = 0;
    await produce((chunk) => void (counted += chunk.length), sample);
    return counted;
  });

async function throughDocker(): Promise<void> {
  const socketPath = process.env.RUNLOG_TEST_DOCKER_SOCK ?? '/var/run/docker.sock';
  try {
    await new Docker({ socketPath }).ping();
  } catch {
    console.log('logs docker: skipped (no docker daemon answers)');
    return;
  }
  const runner = `bench-logs-${randomUUID().slice(0, 8)}`;
  const engine = createDockerEngine({ socketPath, runner });
  const commands = [`yes 'compiling module.ts ... ok (0 warnings) token ${SECRETS[0]} padding padding padding' | head -c ${TOTAL}`];
  const stage: StageRun = {
    buildId: randomUUID(),
    repo: 'bench/logs',
    buildNumber: 1,
    runId: `bench-logs-${randomUUID().slice(0, 8)}`,
    trusted: false,
    stage: PlanStage.parse({
      number: 1,
      name: 'logs',
      type: 'docker',
      platform: {},
      workspace: { path: '/drone/src' },
      clone: { disable: true },
      steps: [{ number: 1, name: 'print', kind: 'step', image: 'runlog-test/busybox:latest', pull: 'never', commands, script: posixScript(commands) }],
    }),
  };
  const signal = new AbortController().signal;
  const step = { step: stage.stage.steps[0], env: {} };
  await engine.setup(stage, signal);
  try {
    const raw = await measured(async () => {
      let counted = 0;
      await engine.runStep(stage, step, (chunk) => void (counted += chunk.length), signal);
      return counted;
    });
    const ours = await measured(async () => {
      const log = createStepLog({ secrets: SECRETS, send: async () => {}, limits: { capBytes: DEFAULT_LOG_CAP } });
      await engine.runStep(stage, step, log.output, signal);
      return (await log.finish()).size;
    });
    report('docker step (5 MiB cap)', raw, ours, raw.stored);
  } finally {
    await engine.destroy(stage);
  }
}

export async function run(): Promise<void> {
  console.log(`logs: a step printing ${TOTAL / MIB} MiB in ${CHUNK / 1024} KiB chunks, 2 secrets masked`);
  await inMemory(DEFAULT_LOG_CAP); // warm-up: JIT, the encoder's buffers
  report('in memory, 5 MiB cap', await rawSink(), await inMemory(DEFAULT_LOG_CAP));
  report('in memory, no cap (every byte batched and stored)', await rawSink(), await inMemory(TOTAL * 2));
  await throughDocker();
}
