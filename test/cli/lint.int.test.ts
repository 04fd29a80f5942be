import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runlog } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'runlog-lint-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return name;
};

describe('runlog lint', () => {
  test('given a valid .drone.yml in the directory, when linted without a file, then exit 0 and a summary', () => {
    write('.drone.yml', 'kind: pipeline\nname: build\nsteps:\n- name: test\n  image: golang\n  commands: [go test ./...]\n');
    const { code, stdout, stderr } = runlog(['lint'], dir);
    assert.equal(code, 0);
    assert.equal(stdout, '');
    assert.equal(stderr, '.drone.yml: 1 pipeline, no problems\n');
  });

  test('given errors, then exit 1 and each as file:line:col: severity: message', () => {
    const file = write('broken.yml', 'kind: pipeline\nsteps:\n- name: a\n  commands: [make]\n  imagee: y\n- name: b\n  image: x\n  privileged: maybe\n');
    const { code, stdout, stderr } = runlog(['lint', file], dir);
    assert.equal(code, 1);
    assert.equal(
      stdout,
      [
        'broken.yml:3:3: error: steps[0].image: required for type docker',
        "broken.yml:5:3: warning: steps[0].imagee: unknown field, ignored as Drone ignores it (did you mean 'image'?)",
        "broken.yml:8:15: error: steps[1].privileged: expected true or false, got the string 'maybe'",
        '',
      ].join('\n'),
    );
    assert.equal(stderr, 'broken.yml: 2 errors, 1 warning\n');
  });

  test('given only warnings, then exit 0', () => {
    const file = write('warn.yml', 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  pull: true\n');
    const { code, stdout } = runlog(['lint', file], dir);
    assert.equal(code, 0);
    assert.match(stdout, /^warn\.yml:5:9: warning: steps\[0\]\.pull: /);
  });

  test('given --untrusted, then what only trusted repositories may do is an error', () => {
    const file = write('privileged.yml', 'kind: pipeline\nsteps:\n- name: a\n  image: docker:dind\n  privileged: true\n');
    assert.equal(runlog(['lint', file], dir).code, 0);
    const { code, stdout } = runlog(['lint', file, '--untrusted'], dir);
    assert.equal(code, 1);
    assert.equal(stdout, 'privileged.yml:5:15: error: steps[0].privileged: only trusted repositories may run privileged steps\n');
  });

  test('given a missing file, then exit 2 and a message that says so', () => {
    const { code, stdout, stderr } = runlog(['lint', 'nope.yml'], dir);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /^runlog lint: nope\.yml: no such file; /);
  });

  test('given an unknown flag, then exit 2 with the usage', () => {
    const { code, stderr } = runlog(['lint', '--fix'], dir);
    assert.equal(code, 2);
    assert.match(stderr, /^runlog lint: Unknown option '--fix'\n\nusage: runlog lint/);
  });

  test('--help prints the usage and exits 0', () => {
    const { code, stdout } = runlog(['lint', '--help'], dir);
    assert.equal(code, 0);
    assert.match(stdout, /^usage: runlog lint \[file\]/);
  });
});
