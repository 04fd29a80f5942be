import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `node bin/runlog.js <args>` in `cwd`, as a user runs it. */
export function runlog(args: string[], cwd: string) {
  const bin = fileURLToPath(new URL('../../bin/runlog.js', import.meta.url));
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
