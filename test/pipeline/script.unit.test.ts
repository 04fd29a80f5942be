import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { posixScript, shellQuote } from '../../src/pipeline/script.ts';

describe('step script (drone-runner-docker shell.Script)', () => {
  test('set -e, then echo + command and the command, for each command', () => {
    const script = posixScript(['go build', 'go test ./...']);
    assert.ok(script.includes('\nset -e\n'));
    assert.ok(script.endsWith("\necho + 'go build'\ngo build\n\necho + 'go test ./...'\ngo test ./...\n"));
  });

  test('the clone credentials and the script itself are unset before the commands', () => {
    const script = posixScript(['true']);
    for (const name of ['DRONE_SCRIPT', 'DRONE_NETRC_MACHINE', 'DRONE_NETRC_USERNAME', 'DRONE_NETRC_PASSWORD', 'DRONE_NETRC_FILE']) {
      assert.ok(script.includes(`unset ${name}\n`), name);
    }
  });

  test('the trace is single-quoted: nothing in it is expanded or run', () => {
    assert.equal(shellQuote("it's $HOME `id`"), `'it'\\''s $HOME \`id\`'`);
  });
});
