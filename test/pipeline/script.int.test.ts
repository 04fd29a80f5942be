import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { posixScript } from '../../src/pipeline/script.ts';

/** Runs a generated script the way Drone's runner does: `echo "$DRONE_SCRIPT" | /bin/sh`. */
function run(commands: string[], env: Record<string, string> = {}) {
  const result = spawnSync('/bin/sh', ['-c', 'echo "$DRONE_SCRIPT" | /bin/sh'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', ...env, DRONE_SCRIPT: posixScript(commands) },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout };
}

describe('step script under /bin/sh', () => {
  test('traces each command before running it', () => {
    assert.deepEqual(run(['echo one', 'echo two']), { status: 0, stdout: '+ echo one\none\n+ echo two\ntwo\n' });
  });

  test('stops at the first failing command with its exit code', () => {
    assert.deepEqual(run(['echo before', 'exit 3', 'echo after']), { status: 3, stdout: '+ echo before\nbefore\n+ exit 3\n' });
  });

  test('prints quotes, variables and substitutions as written, and runs them once', () => {
    const { stdout } = run(["echo \"it's $GREETING\"", 'echo `echo sub`'], { GREETING: 'hi' });
    assert.equal(stdout, "+ echo \"it's $GREETING\"\nit's hi\n+ echo `echo sub`\nsub\n");
  });

  test('DRONE_SCRIPT and the netrc variables are not visible to the commands', () => {
    const { stdout } = run(['echo "[${DRONE_SCRIPT}${DRONE_NETRC_PASSWORD}]"'], { DRONE_NETRC_PASSWORD: 'secret' });
    assert.equal(stdout.split('\n')[1], '[]');
  });
});
