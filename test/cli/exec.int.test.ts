import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * `runlog exec` end to end: the real binary on sample files in a folder outside any git
 * repository (so no clone step), docker pipelines on the local busybox image (never
 * pulled) and an exec pipeline on this host.
 */

const BIN = resolve('bin/runlog.js');

function exec(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, failed) => {
    const child = spawn(process.execPath, [BIN, 'exec', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', failed);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const dockerFile = `
kind: pipeline
type: docker
name: good
steps:
- name: greet
  image: runlog-test/busybox:latest
  pull: never
  commands:
  - echo hello from greet
  - echo second line
---
kind: pipeline
type: docker
name: bad
steps:
- name: fails
  image: runlog-test/busybox:latest
  pull: never
  commands:
  - echo about to fail
  - exit 3
- name: never
  image: runlog-test/busybox:latest
  pull: never
  commands:
  - echo unreachable
`;

const execFile = `
kind: pipeline
type: exec
name: local
steps:
- name: build
  environment:
    TOKEN:
      from_secret: token
  commands:
  - echo "building $EXTRA with $TOKEN"
- name: left-out
  commands:
  - echo left out
`;

describe('runlog exec', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runlog-exec-test-'));
    await writeFile(join(dir, '.drone.yml'), dockerFile);
    await writeFile(join(dir, 'exec.yml'), execFile);
    await writeFile(join(dir, 'secrets.env'), '# local secrets\ntoken=sup3r-s3cret-token\n');
    await writeFile(join(dir, 'broken.yml'), 'kind: pipeline\ntype: docker\nname: x\nsteps:\n- name: a\n  image: busybox\n  commands: nope\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('runs a docker pipeline: headers, prefixed output, a summary, exit 0', async () => {
    const { code, stdout, stderr } = await exec(dir, ['--pipeline', 'good']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^=== greet ===$/m);
    assert.match(stdout, /^\[greet\] \+ echo hello from greet\n\[greet\] hello from greet\n\[greet\] \+ echo second line\n\[greet\] second line$/m);
    assert.match(stdout, /^STEP\s+STATUS\s+EXIT\s+DURATION$/m);
    assert.match(stdout, /^greet\s+success\s+0\s+\d+\.\ds$/m);
    assert.match(stdout, /pipeline good: success/);
    assert.match(stderr, /not in a git repository: the clone step is left out/);
  });

  it('exits 1 when a step fails, with the failure and the skipped step in the summary', async () => {
    const { code, stdout } = await exec(dir, ['.drone.yml', '--pipeline', 'bad']);
    assert.equal(code, 1);
    assert.match(stdout, /^\[fails\] about to fail$/m);
    assert.match(stdout, /^fails\s+failure\s+3\s/m);
    assert.match(stdout, /^never\s+skipped\s+-\s+-$/m);
    assert.match(stdout, /pipeline bad: failure/);
  });

  it('runs an exec pipeline on the host with secrets masked, --env and --exclude', async () => {
    const { code, stdout, stderr } = await exec(dir, ['exec.yml', '--secret-file', 'secrets.env', '--env', 'EXTRA=extras', '--exclude', 'left-out']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^\[build   \] building extras with \*{8}$/m);
    assert.ok(!stdout.includes('sup3r-s3cret-token'));
    assert.match(stdout, /left-out skipped: left out by --exclude/);
    assert.match(stdout, /^left-out\s+skipped/m);
  });

  it('prints compile errors as file:line:col and exits 1', async () => {
    const { code, stderr } = await exec(dir, ['broken.yml']);
    assert.equal(code, 1);
    assert.match(stderr, /^broken\.yml:7:\d+: error: /m);
  });

  it('says what is wrong with the command line and exits 2', async () => {
    const missing = await exec(dir, ['--pipeline', 'nope']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--pipeline 'nope' is not in \.drone\.yml; it has 'good', 'bad'/);
    const badEnv = await exec(dir, ['--env', 'no-equals']);
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.stderr, /--env: 'no-equals' is not KEY=value/);
  });
});
