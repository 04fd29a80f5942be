import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlanStage } from '../pipeline/plan.ts';
import type { CloneSource, StepExit, StepOutput } from './engine.ts';

/**
 * The clone step, done by the host's `git` into a host directory.
 *
 * Why on the host rather than in a git image (Drone's drone/git, Woodpecker's plugin-git):
 * a runner then needs no image it would have to pull (and some runners cannot pull at all),
 * the clone's credentials (netrc) never enter a container that a pipeline controls, and the
 * exec engine clones the same way straight into its workspace. The docker engine clones into
 * a temporary directory and copies the tree into the workspace volume with one `putArchive`.
 * The cost: the runner's host needs git (checked, with a clear error) and the tree is
 * written twice on docker. ssh URLs use the host's ssh without the runner user's keys (HOME
 * is replaced so that neither ~/.gitconfig nor ~/.ssh leak into builds); credentials come
 * through netrc, as in Drone.
 *
 * What it runs, like Drone's clone script: init, add origin, fetch the build's ref at the
 * configured depth (retried `retries` times), fetch the commit itself if that ref's fetched
 * history does not hold it (a force-push, or a depth too shallow), check the commit out —
 * on the branch named by the ref when there is one, detached otherwise.
 */

export type CloneSettings = Pick<PlanStage['clone'], 'retries' | 'skipVerify' | 'tags'>;

export type GitCommand = string[];

/** The git commands of a clone, as data (unit-tested); `fallback` runs only when `commit` is missing after `fetch`. */
export type ClonePlan = {
  init: GitCommand[];
  fetch: GitCommand;
  fallback?: GitCommand;
  checkout: GitCommand;
};

export function clonePlan(source: CloneSource, settings: CloneSettings): ClonePlan {
  const fetchFlags = [settings.tags ? '--tags' : '--no-tags', ...(source.depth > 0 ? [`--depth=${source.depth}`] : [])];
  const init: GitCommand[] = [
    ['-c', 'init.defaultBranch=runlog', 'init', '-q'],
    ['remote', 'add', 'origin', source.url],
  ];
  if (!source.ref && !source.commit) throw new Error('a clone needs a ref or a commit, and this one has neither');
  if (!source.ref) {
    return { init, fetch: ['fetch', ...fetchFlags, 'origin', source.commit], checkout: ['checkout', '-q', '-f', source.commit] };
  }
  const ref = source.ref.startsWith('refs/') ? source.ref : `refs/heads/${source.ref}`;
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
  const local = branch !== undefined ? `refs/remotes/origin/${branch}` : ref;
  const target = source.commit || local;
  return {
    init,
    fetch: ['fetch', ...fetchFlags, 'origin', `+${ref}:${local}`],
    fallback: source.commit ? ['fetch', ...fetchFlags, 'origin', source.commit] : undefined,
    checkout: branch !== undefined ? ['checkout', '-q', '-f', '-B', branch, target] : ['checkout', '-q', '-f', target],
  };
}

export type CloneRequest = {
  source: CloneSource;
  settings: CloneSettings;
  /** Where the repository goes: an empty (or new) directory. */
  dir: string;
  output: StepOutput;
  signal: AbortSignal;
  /** The git binary; default `git` from PATH. */
  git?: string;
  /** Pause between fetch attempts, ms per attempt so far (tests shorten it). */
  retryDelayMs?: number;
};

const encoder = new TextEncoder();

/**
 * Clones `source` into `dir`. A git failure is a result (its exit code, git's message in the
 * output); a missing git binary is an exception, since the runner itself cannot clone.
 */
export async function cloneRepository(request: CloneRequest): Promise<StepExit> {
  const { source, settings, output, signal } = request;
  const plan = clonePlan(source, settings);
  const home = await mkdtemp(join(tmpdir(), 'runlog-git-home-'));
  try {
    if (source.netrc) {
      const { machine, login, password } = source.netrc;
      const netrc = join(home, '.netrc');
      await writeFile(netrc, `machine ${machine}\nlogin ${login}\npassword ${password}\n`, { mode: 0o600 });
      await chmod(netrc, 0o600);
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      LANG: 'C',
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
    };
    if (settings.skipVerify) env.GIT_SSL_NO_VERIFY = 'true';
    const git = (args: GitCommand, quiet = false) =>
      runGit(request.git ?? 'git', args, { cwd: request.dir, env, output: quiet ? () => {} : output, signal });

    for (const args of plan.init) {
      const exit = await git(args);
      if (exit.exitCode !== 0 || exit.killed) return exit;
    }
    const attempts = settings.retries + 1;
    const fetchWithRetries = async (args: GitCommand): Promise<StepExit> => {
      let exit: StepExit = { exitCode: 1, killed: false };
      for (let attempt = 1; attempt <= attempts; attempt++) {
        exit = await git(args);
        if (exit.exitCode === 0 || exit.killed || attempt === attempts) return exit;
        output(encoder.encode(`fetch failed (exit ${exit.exitCode}); retrying, attempt ${attempt + 1} of ${attempts}\n`));
        if (!(await pause((request.retryDelayMs ?? 1000) * attempt, signal))) return { exitCode: exit.exitCode, killed: true };
      }
      return exit;
    };
    let exit = await fetchWithRetries(plan.fetch);
    if (exit.exitCode !== 0 || exit.killed) return exit;
    if (plan.fallback) {
      const present = await git(['cat-file', '-e', `${source.commit}^{commit}`], true);
      if (present.killed) return present;
      if (present.exitCode !== 0) {
        output(encoder.encode(`commit ${source.commit} is not in what ${source.ref} fetched; fetching it alone\n`));
        exit = await fetchWithRetries(plan.fallback);
        if (exit.exitCode !== 0 || exit.killed) return exit;
      }
    }
    return await git(plan.checkout);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** `+ git ...` as Drone traces it, with any password in a URL hidden. */
export function traceLine(args: GitCommand): string {
  return `+ git ${args.map(redactUrl).join(' ')}\n`;
}

export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:********@');
}

function runGit(
  git: string,
  args: GitCommand,
  options: { cwd: string; env: Record<string, string>; output: StepOutput; signal: AbortSignal },
): Promise<StepExit> {
  const { output, signal } = options;
  if (signal.aborted) return Promise.resolve({ exitCode: 137, killed: true });
  output(encoder.encode(traceLine(args)));
  return new Promise((resolve, reject) => {
    const child = spawn(git, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let killed = false;
    const onAbort = () => {
      killed = true;
      child.kill('SIGKILL');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => output(chunk));
    child.stderr.on('data', (chunk: Buffer) => output(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      reject(
        error.code === 'ENOENT'
          ? new Error(
              `the clone step runs git on the runner's host, and ${git} was not found on PATH: install git on the runner, or set clone: disable: true and clone in a step`,
            )
          : error,
      );
    });
    child.on('close', (code, signalName) => {
      signal.removeEventListener('abort', onAbort);
      resolve({ exitCode: code ?? (signalName === 'SIGKILL' ? 137 : 128), killed });
    });
  });
}

function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
