import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** How to start `runlog` on each runtime, from the repository's own sources. */
export const runtimes = {
  node: { command: process.execPath, args: [`${REPO_ROOT}bin/runlog.js`] },
  bun: { command: `${REPO_ROOT}node_modules/.bin/bun`, args: [`${REPO_ROOT}src/cli/main.ts`] },
  deno: { command: `${REPO_ROOT}node_modules/.bin/deno`, args: ['run', '-A', `--config=${REPO_ROOT}deno.json`, `${REPO_ROOT}src/cli/main.ts`] },
} as const;
export type Runtime = keyof typeof runtimes;

export type ServeProcess = { url: string; token: string; output: () => string; stop(signal?: NodeJS.Signals): Promise<number | null>; child: ChildProcess };

/** Starts `runlog <command> --port 0` and resolves once it printed its URL (and token). */
export function startServe(options: { runtime?: Runtime; cwd: string; env?: Record<string, string>; command?: 'serve' | 'server'; timeoutMs?: number }): Promise<ServeProcess> {
  const runtime = runtimes[options.runtime ?? 'node'];
  const child = spawn(runtime.command, [...runtime.args, options.command ?? 'serve', '--port', '0'], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`runlog ${options.runtime ?? 'node'} did not start in time; output:\n${output}`));
    }, options.timeoutMs ?? 60_000);
    let started = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // Once started, only collect: matching the whole (growing) output per chunk is
      // quadratic, and a busy server's request log made that the bench's main CPU cost.
      if (started) return;
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      const token = /admin token: (\S+)/.exec(output)?.[1];
      if (url && token) {
        started = true;
        clearTimeout(timer);
        resolve({
          url,
          token: token === 'from' ? (options.env?.RUNLOG_ADMIN_TOKEN ?? '') : token,
          child,
          output: () => output,
          stop: async (signal = 'SIGINT') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`runlog exited with ${code} before listening; output:\n${output}`));
    });
  });
}
