import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Plan } from '../../src/pipeline/plan.ts';
import { runlog } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'runlog-plan-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, '.drone.yml'),
  [
    'kind: pipeline',
    'name: test',
    'steps:',
    '- name: test',
    '  image: golang',
    '  commands: [go test ./...]',
    '- name: publish',
    '  image: plugins/docker',
    '  when: {branch: main}',
    '---',
    'kind: pipeline',
    'name: release',
    'depends_on: [test]',
    'trigger: {event: tag}',
    'steps:',
    '- name: upload',
    '  image: plugins/github-release',
    '',
  ].join('\n'),
);

describe('runlog plan', () => {
  test('given a branch, then a tree of stages and steps with why a step is skipped', () => {
    const { code, stdout, stderr } = runlog(['plan', '--branch', 'dev'], dir);
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.equal(
      stdout,
      [
        'stage 1: test  (docker, linux/amd64)',
        '├─ 1 clone',
        '├─ 2 test     golang  after clone',
        "└─ 3 publish  plugins/docker  privileged  after test  skipped: branch 'dev' does not match include [main]",
        '',
        "stage 2: release  (docker, linux/amd64)  after test  skipped: event 'push' does not match include [tag]",
        '├─ 1 clone',
        '└─ 2 upload  plugins/github-release  after clone',
        '',
      ].join('\n'),
    );
  });

  test('given --tag, then a tag build: the release stage runs', () => {
    const { code, stdout } = runlog(['plan', '--tag', 'v1.0.0'], dir);
    assert.equal(code, 0);
    assert.match(stdout, /^stage 2: release {2}\(docker, linux\/amd64\) {2}after test\n/m);
  });

  test('given --json, then the Plan as JSON', () => {
    const { code, stdout } = runlog(['plan', '--json', '--event', 'push', '--repo', 'octocat/hello-world', '--commit', 'abc'], dir);
    assert.equal(code, 0);
    const plan = Plan.parse(JSON.parse(stdout));
    assert.deepEqual(plan.stages.map((s) => s.name), ['test', 'release']);
    const env = plan.stages[0].steps[1].environment;
    assert.deepEqual([env.DRONE_REPO, env.DRONE_COMMIT_SHA], [{ value: 'octocat/hello-world' }, { value: 'abc' }]);
  });

  test('given a file with errors, then exit 1 and the errors on stderr', () => {
    writeFileSync(join(dir, 'bad.yml'), 'kind: pipeline\nsteps:\n- name: a\n');
    const { code, stdout, stderr } = runlog(['plan', 'bad.yml'], dir);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(stderr, 'bad.yml:3:3: error: steps[0].image: required for type docker\n');
  });

  test('given an unknown flag or a bad value, then exit 2', () => {
    assert.equal(runlog(['plan', '--evnt', 'push'], dir).code, 2);
    const bad = runlog(['plan', '--event', 'merge'], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^runlog plan: --event 'merge' is not an event; use one of push, pull_request, tag, promote, rollback, cron, custom\n/);
    assert.match(runlog(['plan', '--repo', 'nope'], dir).stderr, /--repo 'nope' is not owner\/name/);
  });

  test('given a missing file, then exit 2', () => {
    const { code, stderr } = runlog(['plan', 'missing.yml'], dir);
    assert.equal(code, 2);
    assert.match(stderr, /^runlog plan: missing\.yml: no such file/);
  });
});
