import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, writeFile, appendFile, stat } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { PlanStep } from '../../pipeline/plan.ts';
import { cloneRepository } from '../clone.ts';
import type { Engine, StageRun, StepExit, StepOutput, StepRun } from '../engine.ts';

/**
 * The exec engine: a stage's steps as host processes, for machines without Docker and for
 * `runlog serve` when no Docker socket answers. It runs on Node, Bun and Deno (node:child_process).
 *
 * Layout, per stage, under `<root>/<runId>` (root: `<tmp>/runlog-exec/<runner>` by default):
 *   <stage.workspace.path>  the workspace, e.g. /drone/src → <root>/<runId>/drone/src — the
 *                           same place as on docker, re-rooted; `DRONE_WORKSPACE` and
 *                           `CI_WORKSPACE` (and their `_BASE` forms) are rewritten to it,
 *                           and a step starts there (or in its `working_dir`, relative to it)
 *   .runlog/home            HOME, as Drone's exec runner gives each stage its own
 *   .runlog/scripts/N.sh    step N's script, run by /bin/sh
 *   .runlog/pids            process groups started, so that `sweep` can end them after a crash
 * A step gets the host's PATH and USER (as in Drone) and nothing else of the runner's environment.
 *
 * Images and services are refused: an exec pipeline runs on the host, and quietly running
 * a step meant for an image on the host would run it with the wrong tools. (Drone's exec
 * runner has no `image` or `services` field and drops them silently; refusing says why.)
 * Docker-only fields — privileged, volumes, user, resources, network settings — are ignored.
 *
 * Each step is its own process group: aborting kills the whole group (SIGKILL), and when
 * the step's shell exits, what it left running in its group is killed too, as a container's
 * processes end with it. A shell wrapper (`exec 2>&1`) gives the step one output pipe, so
 * its stdout and stderr reach the log in the order written.
 */
export type ExecEngineOptions = {
  /** Where stage folders go; default `<os tmpdir>/runlog-exec/<runner>`. */
  root?: string;
  /** This runner's name; default the host name. */
  runner?: string;
  /** The POSIX shell that runs scripts; default /bin/sh. */
  shell?: string;
};

const KILLED = 137;
/** How long to wait for a step's output pipe to close after its process group was killed. */
const DRAIN_MS = 2000;
/** Marks a step's processes with their stage folder, so that `sweep` kills only its own. */
const STAGE_DIR_ENV = 'RUNLOG_STAGE_DIR';

type StageState = { destroying: boolean; groups: Set<{ pid: number; ended: Promise<unknown> }> };

export function createExecEngine(options: ExecEngineOptions = {}): Engine {
  const runner = options.runner ?? hostname();
  const root = options.root ?? join(tmpdir(), 'runlog-exec', safeSegment(runner));
  const shell = options.shell ?? '/bin/sh';
  const stages = new Map<string, StageState>();
  const state = (run: StageRun): StageState => {
    let found = stages.get(run.runId);
    if (!found) stages.set(run.runId, (found = { destroying: false, groups: new Set() }));
    return found;
  };
  const paths = (run: StageRun) => {
    const stageDir = join(root, safeSegment(run.workspaceKey ?? run.runId));
    return {
      stageDir,
      workspace: hostPath(stageDir, run.stage.workspace.path),
      home: join(stageDir, '.runlog', 'home'),
      scripts: join(stageDir, '.runlog', 'scripts'),
      pids: join(stageDir, '.runlog', 'pids'),
    };
  };

  async function setup(run: StageRun, signal: AbortSignal): Promise<void> {
    for (const step of [...run.stage.services, ...run.stage.steps]) refuse(step);
    signal.throwIfAborted();
    state(run);
    if (run.workspaceKey !== undefined) await adopt(run.workspaceKey);
    const { workspace, home, scripts } = paths(run);
    await Promise.all([mkdir(workspace, { recursive: true }), mkdir(home, { recursive: true }), mkdir(scripts, { recursive: true })]);
  }

  async function runStep(run: StageRun, stepRun: StepRun, output: StepOutput, signal: AbortSignal): Promise<StepExit> {
    const { step } = stepRun;
    const stage = state(run);
    if (signal.aborted || stage.destroying) return { exitCode: KILLED, killed: true };
    if (step.build) throw new Error(`step ${step.name} builds an image: that needs the docker engine (this runner runs exec)`);
    const where = paths(run);
    if (step.kind === 'clone') {
      if (!run.clone) throw new Error(`stage ${run.stage.name} has a clone step but the runner gave it no clone source (StageRun.clone)`);
      return cloneRepository({ source: run.clone, settings: run.stage.clone, dir: where.workspace, output, signal });
    }
    refuse(step);

    let argv: string[];
    if (step.script !== undefined) {
      const file = join(where.scripts, `${step.number}.sh`);
      await writeFile(file, step.script, { mode: 0o700 });
      argv = [shell, file];
    } else if (step.entrypoint?.length || step.command?.length) {
      argv = [...(step.entrypoint ?? []), ...(step.command ?? [])];
    } else {
      return { exitCode: 0, killed: false }; // nothing to run
    }
    const cwd = step.workingDir === undefined ? where.workspace : resolveDir(where.stageDir, where.workspace, step.workingDir);
    await mkdir(cwd, { recursive: true });

    const child = spawn(shell, ['-c', 'exec "$0" "$@" 2>&1', ...argv], {
      cwd,
      env: stepEnv(stepRun, where),
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true, // its own process group, so that a kill reaches everything the step started
    });
    // listeners go on at once: 'exit' is emitted once, possibly before any await below returns
    child.stdout!.on('data', (chunk: Buffer) => output(chunk));
    const drained = new Promise<void>((resolve) => child.stdout!.once('close', () => resolve()));
    const exited = new Promise<{ code: number | null; signalName: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signalName) => resolve({ code, signalName })),
    );
    const pid = await spawned(child);
    let killedBySignal = false;
    const killGroup = () => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    };
    const onAbort = () => {
      killedBySignal = true;
      killGroup();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    const ended = (async (): Promise<StepExit> => {
      const { code, signalName } = await exited;
      signal.removeEventListener('abort', onAbort);
      killGroup(); // what the step left running ends with it
      // the pipe closes once every process holding it is gone; one that left the group would hold it forever
      await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, DRAIN_MS).unref())]);
      const exitCode = code ?? (signalName === 'SIGKILL' ? KILLED : 128 + signalNumber(signalName));
      return { exitCode, killed: killedBySignal || (stage.destroying && exitCode === KILLED) };
    })();
    await appendFile(where.pids, `${pid}\n`).catch(() => {});
    const group = { pid, ended };
    stage.groups.add(group);
    ended.then(() => stage.groups.delete(group));
    if (step.detach) return { exitCode: 0, killed: false, ended };
    return ended;
  }

  async function destroy(run: StageRun, destroyOptions: { keepWorkspace?: boolean } = {}): Promise<void> {
    const stage = state(run);
    stage.destroying = true;
    for (const group of stage.groups) {
      try {
        process.kill(-group.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await Promise.all([...stage.groups].map((group) => group.ended));
    stages.delete(run.runId);
    const where = paths(run);
    if (destroyOptions.keepWorkspace) await rm(join(where.stageDir, '.runlog', 'scripts'), { recursive: true, force: true });
    else await rm(where.stageDir, { recursive: true, force: true });
  }

  async function sweep(sweepOptions: { runner?: string } = {}): Promise<string[]> {
    const sweepRoot = sweepOptions.runner === undefined ? root : join(tmpdir(), 'runlog-exec', safeSegment(sweepOptions.runner));
    const removed: string[] = [];
    const entries = await readdir(sweepRoot).catch(() => [] as string[]);
    for (const name of entries) {
      const stageDir = join(sweepRoot, name);
      removed.push(...(await killLeftovers(stageDir)));
      await rm(stageDir, { recursive: true, force: true });
      removed.push(`folder ${stageDir}`);
    }
    return removed;
  }

  const keptDir = (key: string) => join(root, safeSegment(key));
  const isDir = (path: string) => stat(path).then((info) => info.isDirectory(), () => false);
  /**
   * Where the workspace `key` is on this host: under this runner's root, or under another
   * runner's next to it (`<tmp>/runlog-exec/<other runner>/<key>`: a runner that was lost
   * mid-stage, whose requeued stage this runner resumes).
   */
  async function findKept(key: string): Promise<string | undefined> {
    if (await isDir(keptDir(key))) return keptDir(key);
    const parent = dirname(root);
    for (const sibling of await readdir(parent).catch(() => [] as string[])) {
      const candidate = join(parent, sibling, safeSegment(key));
      if (join(parent, sibling) !== root && (await isDir(join(candidate, '.runlog')))) return candidate;
    }
    return undefined;
  }
  /**
   * Takes over the workspace `key` for a resumed stage: what the lost attempt's steps left
   * running there is killed (its lease fenced it off; it would only race the steps about to
   * run on the same files), and a folder under another runner's root moves under this one,
   * so that this runner's destroy and sweep own it from now on.
   */
  async function adopt(key: string): Promise<void> {
    const found = await findKept(key);
    if (found === undefined) return;
    await killLeftovers(found);
    if (found === keptDir(key)) return;
    await mkdir(root, { recursive: true });
    await rename(found, keptDir(key));
  }
  const workspaces = {
    has: async (key: string) => (await findKept(key)) !== undefined,
    remove: (key: string) => rm(keptDir(key), { recursive: true, force: true }),
  };

  return { kind: 'exec', setup, runStep, destroy, sweep, workspaces };
}

function refuse(step: PlanStep): void {
  if (step.kind === 'service') {
    throw new Error(`exec pipelines run on the host: service ${step.name} has image ${step.image || '(none)'}; use type: docker`);
  }
  if (step.kind === 'step' && step.image) {
    throw new Error(`exec pipelines run on the host: step ${step.name} has image ${step.image}; use type: docker`);
  }
}

function stepEnv(stepRun: StepRun, where: { stageDir: string; workspace: string; home: string }): Record<string, string> {
  const env: Record<string, string> = {};
  if (process.env.PATH) env.PATH = process.env.PATH;
  if (process.env.USER) env.USER = process.env.USER;
  env.HOME = where.home;
  for (const [key, value] of Object.entries(stepRun.step.environment)) {
    if ('value' in value) env[key] = value.value;
  }
  Object.assign(env, stepRun.env);
  // the plan speaks of the container's paths; on the host they live under the stage folder
  for (const key of ['DRONE_WORKSPACE_BASE', 'CI_WORKSPACE_BASE']) {
    if (env[key] && isAbsolute(env[key])) env[key] = hostPath(where.stageDir, env[key]);
  }
  env.DRONE_WORKSPACE = where.workspace;
  env.CI_WORKSPACE = where.workspace;
  env[STAGE_DIR_ENV] = where.stageDir;
  return env;
}

/** A container path re-rooted under the stage folder. */
function hostPath(stageDir: string, containerPath: string): string {
  return join(stageDir, ...containerPath.split('/').filter((part) => part && part !== '..'));
}

function resolveDir(stageDir: string, workspace: string, dir: string): string {
  return isAbsolute(dir) ? hostPath(stageDir, dir) : join(workspace, ...dir.split('/').filter((part) => part && part !== '..'));
}

function safeSegment(text: string): string {
  return text.replace(/[^a-zA-Z0-9_.-]/g, '-').replace(/^\.+/, '_') || '_';
}

function spawned(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error(`exec engine: ${child.spawnfile} was not found on this host`) : error),
    );
  });
}

function signalNumber(name: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return (name && numbers[name]) || 0;
}

/** Kills the process groups the steps of the stage in `stageDir` started that still run; resolves with what it killed. */
async function killLeftovers(stageDir: string): Promise<string[]> {
  const killed: string[] = [];
  const pids = await readFile(join(stageDir, '.runlog', 'pids'), 'utf8').catch(() => '');
  for (const pid of pids.split('\n').filter(Boolean).map(Number)) {
    if (await startedBy(pid, stageDir)) {
      try {
        process.kill(-pid, 'SIGKILL');
        killed.push(`process group ${pid}`);
      } catch {
        // gone meanwhile
      }
    }
  }
  return killed;
}

/**
 * Whether process `pid` is one a step of the stage in `stageDir` started (its environment
 * says so), so that a sweep after a crash never kills an unrelated process that reused the
 * number. Linux only (/proc); elsewhere nothing is killed and only folders are removed.
 */
async function startedBy(pid: number, stageDir: string): Promise<boolean> {
  const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
  return environ.split('\0').includes(`${STAGE_DIR_ENV}=${stageDir}`);
}
