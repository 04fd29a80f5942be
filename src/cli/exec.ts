import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { BuildEvent } from '../events/build-events.ts';
import { compileConfig } from '../pipeline/config-format.ts';
import { formatDiagnostic } from '../pipeline/diagnostic.ts';
import type { PlanStage, PlanStep } from '../pipeline/plan.ts';
import { Trigger } from '../pipeline/trigger.ts';
import { createDockerEngine } from '../runner/docker/engine.ts';
import type { CloneSource, Engine, StageRun } from '../runner/engine.ts';
import { createExecEngine } from '../runner/exec/engine.ts';
import { createLocalBuild } from '../runner/reporter.ts';
import { runStage } from '../runner/stage-runner.ts';
import { buildContext, triggerFlagOptions } from './build-context.ts';
import { readPipelineFile } from './pipeline-file.ts';

const usage = `usage: runlog exec [file] [options]

Runs one pipeline of a .drone.yml (default: ./.drone.yml) or a caicloud.yml on this
machine, without a server, like drone exec: on Docker for type: docker (the local socket, DOCKER_HOST), as
host processes for type: exec. Output is prefixed by step name; a summary table ends it.
  --pipeline <name>     the pipeline to run (default: the first)
  --include <step>      run only these steps (repeatable); services and clone still run
  --exclude <step>      skip these steps (repeatable)
  --secret-file <file>  secrets as KEY=value lines (# comments allowed)
  --env KEY=value       add a variable to every step (repeatable)
  --trusted             run as a trusted repository (privileged steps, host volumes)
  --no-clone            skip the clone step
  --timeout <minutes>   stop the pipeline after this long (default 60)
  --registry <host:port>  caicloud.yml: push the built image there (else it is only built)
  --event, --branch, --ref, --commit, --tag, --repo, --action, --target, --cron
                        the build to pretend (defaults from the local git repository)
The clone step clones the local git repository at HEAD (committed work only: unlike drone
exec, the working directory is not mounted into steps) and is dropped outside a git
repository. Ctrl-C cancels the run, stopping its steps and removing what it created.
Exit status: 0 the pipeline succeeded, 1 it did not (or the file has errors), 2 the
command could not run.
`;

const execFileAsync = promisify(execFile);

/** `runlog exec [file] [options]`. */
export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        pipeline: { type: 'string' },
        include: { type: 'string', multiple: true },
        exclude: { type: 'string', multiple: true },
        'secret-file': { type: 'string' },
        env: { type: 'string', multiple: true },
        trusted: { type: 'boolean' },
        'no-clone': { type: 'boolean' },
        timeout: { type: 'string' },
        registry: { type: 'string' },
        ...triggerFlagOptions,
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (cause) {
    return fail(`${messageOf(cause).split('. ')[0]}\n\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length > 1) return fail(`one file at a time, got ${positionals.length}\n\n${usage}`);
  const timeoutMinutes = values.timeout === undefined ? 60 : Number(values.timeout);
  if (!Number.isInteger(timeoutMinutes) || timeoutMinutes < 1) return fail(`--timeout wants whole minutes (at least 1), got '${values.timeout}'`);
  const env = parsePairs(values.env ?? [], '--env');
  if (!env.ok) return fail(env.message);

  const file = positionals[0] ?? '.drone.yml';
  const read = await readPipelineFile(file);
  if (!read.ok) return fail(read.message);
  let secrets: Record<string, string> = {};
  if (values['secret-file'] !== undefined) {
    const loaded = await readSecretFile(values['secret-file']);
    if (!loaded.ok) return fail(loaded.message);
    secrets = loaded.pairs;
  }

  const git = await localGit(dirname(resolve(file)));
  const context = buildContext(
    {
      ...values,
      branch: values.branch ?? (values.tag ? undefined : git?.branch),
      commit: values.commit ?? git?.commit,
      untrusted: !values.trusted,
    },
    new Date(),
  );
  if (!context.ok) return fail(context.message);
  const { plan, diagnostics } = compileConfig(read.text, context.context, { file, ...(values.registry ? { registry: values.registry } : {}) });
  for (const diagnostic of diagnostics) process.stderr.write(`${formatDiagnostic(diagnostic)}\n`);
  if (!plan) return 1;

  const chosen = values.pipeline === undefined ? plan.stages[0] : plan.stages.find((s) => s.name === values.pipeline);
  if (!chosen) return fail(`--pipeline '${values.pipeline}' is not in ${file}; it has ${plan.stages.map((s) => `'${s.name}'`).join(', ')}`);
  if (values.pipeline === undefined && plan.stages.length > 1) {
    note(`running pipeline '${chosen.name}' (the first of ${plan.stages.length}; choose with --pipeline)`);
  }
  if (chosen.skip) note(`pipeline '${chosen.name}' would be skipped by its trigger (${chosen.skip.reason}); running it as asked`);
  const unknown = [...(values.include ?? []), ...(values.exclude ?? [])].filter((name) => !chosen.steps.some((s) => s.name === name));
  if (unknown.length > 0) return fail(`no step named ${unknown.map((n) => `'${n}'`).join(', ')} in pipeline '${chosen.name}'`);

  const clone = values['no-clone'] || !git ? undefined : cloneSource(git, context.context.trigger.ref ?? '', chosen.clone.depth);
  if (!values['no-clone'] && !git && chosen.steps.some((s) => s.kind === 'clone')) note('not in a git repository: the clone step is left out');
  const stage = localStage(chosen, { clone: clone !== undefined, include: values.include, exclude: values.exclude, env: env.pairs });
  const trigger = Trigger.parse(context.context.trigger);

  const engine: Engine = stage.type === 'docker' ? createDockerEngine({ runner: 'runlog-exec' }) : createExecEngine({ runner: 'runlog-exec' });
  const output = createOutput(stage);
  const { reporter, buildId, leaseToken } = await createLocalBuild({
    plan: { ...plan, stages: [stage] },
    trigger,
    repo: context.context.repo.slug,
    hooks: { onEvents: output.events, onLog: (_stage, step, chunk) => output.log(step, chunk.data) },
  });
  const stageRun: StageRun = {
    buildId,
    repo: context.context.repo.slug,
    buildNumber: 1,
    stage,
    runId: `exec-${crypto.randomUUID().slice(0, 8)}`,
    trusted: values.trusted === true,
    ...(clone ? { clone } : {}),
  };

  // Ctrl-C (or a kill) cancels the build: the runner stops the steps and cleans up.
  let cancelling = false;
  const cancel = () => {
    if (cancelling) return;
    cancelling = true;
    note('cancelling…');
    void reporter.command({ type: 'RequestCancel', data: { by: 'local user', reason: 'interrupted', at: new Date().toISOString() } }).catch(() => {});
  };
  process.on('SIGINT', cancel);
  process.on('SIGTERM', cancel);
  try {
    const result = await runStage({
      engine,
      reporter,
      run: stageRun,
      leaseToken,
      secrets,
      now: () => new Date(),
      limits: { timeoutMinutes, cancelPollMs: 200, log: { batchIntervalMs: 100 } },
    });
    output.flush();
    process.stdout.write(summary(stage, reporter.events(), result.status));
    if (result.error && result.status !== 'success') process.stderr.write(`runlog exec: ${result.error}\n`);
    return result.status === 'success' ? 0 : 1;
  } finally {
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
  }
}

/**
 * The chosen pipeline as a stage of its own for a local run: no dependencies on other
 * pipelines, no trigger skip, the clone step dropped when there is nothing to clone,
 * `--include`/`--exclude` turned into plan skips (the decider records them as skipped),
 * and `--env` added to every step.
 */
function localStage(
  stage: PlanStage,
  options: { clone: boolean; include?: string[]; exclude?: string[]; env: Record<string, string> },
): PlanStage {
  const dropped = new Set(options.clone ? [] : stage.steps.filter((s) => s.kind === 'clone').map((s) => s.name));
  const excluded = (step: PlanStep) =>
    options.exclude?.includes(step.name) || (options.include !== undefined && step.kind === 'step' && !options.include.includes(step.name));
  const withEnv = (step: PlanStep): PlanStep => ({
    ...step,
    environment: { ...step.environment, ...Object.fromEntries(Object.entries(options.env).map(([k, v]) => [k, { value: v }])) },
  });
  const steps = stage.steps
    .filter((step) => !dropped.has(step.name))
    .map((step) => ({
      ...withEnv(step),
      dependsOn: step.dependsOn.filter((name) => !dropped.has(name)),
      ...(!step.skip && excluded(step)
        ? { skip: { condition: 'exec', reason: options.exclude?.includes(step.name) ? 'left out by --exclude' : 'not named by --include' } }
        : {}),
    }));
  const { skip: _skip, ...rest } = stage;
  return { ...rest, number: 1, dependsOn: [], services: stage.services.map(withEnv), steps };
}

type GitFacts = { top: string; commit: string; branch?: string };

/** The local repository around `dir`, when there is one (and git is installed). */
async function localGit(dir: string): Promise<GitFacts | undefined> {
  const git = async (...args: string[]) => (await execFileAsync('git', args, { cwd: dir })).stdout.trim();
  try {
    const [top, commit, branch] = await Promise.all([
      git('rev-parse', '--show-toplevel'),
      git('rev-parse', 'HEAD'),
      git('rev-parse', '--abbrev-ref', 'HEAD'),
    ]);
    return { top, commit, ...(branch && branch !== 'HEAD' ? { branch } : {}) };
  } catch {
    return undefined;
  }
}

function cloneSource(git: GitFacts, ref: string, depth: number): CloneSource {
  // The build's ref exists locally only for the checked-out branch; otherwise fetch the commit alone.
  const local = git.branch !== undefined && ref === `refs/heads/${git.branch}`;
  return { url: `file://${git.top}`, commit: git.commit, ref: local ? ref : '', depth };
}

/** Live output: a header per step, each line prefixed with its step's name, a notice for skips. */
function createOutput(stage: PlanStage) {
  const steps = new Map([...stage.services, ...stage.steps].map((s) => [s.number, s.name]));
  const width = Math.max(...[...steps.values()].map((n) => n.length));
  const partial = new Map<number, string>();
  const prefix = (step: number) => `[${(steps.get(step) ?? String(step)).padEnd(width)}] `;
  const endLine = (step: number) => {
    const rest = partial.get(step);
    if (rest) process.stdout.write(`${prefix(step)}${rest}\n`);
    partial.delete(step);
  };
  return {
    events(events: BuildEvent[]) {
      for (const event of events) {
        if (event.type === 'StepStarted') process.stdout.write(`=== ${steps.get(event.data.step)} ===\n`);
        else if (event.type === 'StepSkipped') process.stdout.write(`--- ${steps.get(event.data.step)} skipped: ${event.data.reason.reason}\n`);
        else if (event.type === 'StepFinished') {
          endLine(event.data.step);
          if (event.data.error) process.stdout.write(`${prefix(event.data.step)}error: ${event.data.error}\n`);
        }
      }
    },
    log(step: number, data: string) {
      const lines = ((partial.get(step) ?? '') + data).split('\n');
      partial.set(step, lines.pop() ?? '');
      for (const line of lines) process.stdout.write(`${prefix(step)}${line}\n`);
    },
    flush() {
      for (const step of [...partial.keys()]) endLine(step);
    },
  };
}

/** The table that ends the run: step, status, exit code, duration; then the pipeline's outcome. */
function summary(stage: PlanStage, events: readonly BuildEvent[], status: string): string {
  const rows = [...stage.services, ...stage.steps].sort((a, b) => a.number - b.number).map((step) => {
    let row = [step.name, 'pending', '-', '-'];
    for (const event of events) {
      if (!('step' in event.data) || event.data.step !== step.number) continue;
      if (event.type === 'StepFinished') {
        const { status, exitCode, durationMs } = event.data;
        row = [step.name, status, String(exitCode), durationMs === undefined ? '-' : `${(durationMs / 1000).toFixed(1)}s`];
      } else if (event.type === 'StepSkipped') row = [step.name, 'skipped', '-', '-'];
    }
    return row;
  });
  const table = [['STEP', 'STATUS', 'EXIT', 'DURATION'], ...rows];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const lines = table.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  return `\n${lines.join('\n')}\n\npipeline ${stage.name}: ${status}\n`;
}

async function readSecretFile(path: string): Promise<{ ok: true; pairs: Record<string, string> } | { ok: false; message: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    return { ok: false, message: `--secret-file ${path}: ${messageOf(cause)}` };
  }
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const pairs = parsePairs(lines, `--secret-file ${path}`);
  return pairs.ok ? pairs : { ok: false, message: pairs.message };
}

/** `KEY=value` strings → a record; the value may contain '='. */
function parsePairs(items: string[], what: string): { ok: true; pairs: Record<string, string> } | { ok: false; message: string } {
  const pairs: Record<string, string> = {};
  for (const item of items) {
    const at = item.indexOf('=');
    const key = at < 0 ? '' : item.slice(0, at).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return { ok: false, message: `${what}: '${item}' is not KEY=value` };
    pairs[key] = item.slice(at + 1);
  }
  return { ok: true, pairs };
}

function note(message: string): void {
  process.stderr.write(`runlog exec: ${message}\n`);
}

function fail(message: string): number {
  note(message);
  return 2;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
