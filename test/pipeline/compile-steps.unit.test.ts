import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Plan } from '../../src/pipeline/plan.ts';
import { planOf, plainEnv, problemsOf, stage, step, yaml } from './compile-helpers.ts';
import type { Build } from './compile-helpers.ts';

/**
 * Step fields, one row per rule: given a small pipeline, when it compiles, then this part
 * of the plan. Each row names the Drone behaviour it pins down.
 */

/** A docker pipeline whose steps are the given YAML (indented under `steps:`). */
const pipeline = (steps: string) => `kind: pipeline\ntype: docker\nname: default\n\nsteps:\n${steps}`;

interface Case {
  name: string;
  yaml: string;
  build?: Build;
  then: (plan: Plan) => unknown;
  want: unknown;
}

const cases: Case[] = [
  // image and pull (drone-runner-docker convertPullPolicy)
  { name: 'image is kept as written', yaml: pipeline('- name: a\n  image: golang:1.22\n'), then: (p) => step(p, 'a').image, want: 'golang:1.22' },
  { name: 'pull: always', yaml: pipeline('- name: a\n  image: x\n  pull: always\n'), then: (p) => step(p, 'a').pull, want: 'always' },
  { name: 'pull: never', yaml: pipeline('- name: a\n  image: x\n  pull: never\n'), then: (p) => step(p, 'a').pull, want: 'never' },
  { name: 'pull: if-not-exists', yaml: pipeline('- name: a\n  image: x\n  pull: if-not-exists\n'), then: (p) => step(p, 'a').pull, want: 'if-not-exists' },
  { name: 'pull is case-insensitive', yaml: pipeline('- name: a\n  image: x\n  pull: ALWAYS\n'), then: (p) => step(p, 'a').pull, want: 'always' },
  { name: 'no pull → default', yaml: pipeline('- name: a\n  image: x\n'), then: (p) => step(p, 'a').pull, want: 'default' },
  { name: "0.8's pull: true → default (Drone reads the text 'true')", yaml: pipeline('- name: a\n  image: x\n  pull: true\n'), then: (p) => step(p, 'a').pull, want: 'default' },

  // commands, entrypoint, command
  { name: 'commands are kept as written', yaml: pipeline('- name: a\n  image: x\n  commands:\n  - go build\n  - go test ./...\n'), then: (p) => step(p, 'a').commands, want: ['go build', 'go test ./...'] },
  {
    name: 'commands become a script with set -e and a + trace per command',
    yaml: pipeline('- name: a\n  image: x\n  commands:\n  - go build\n'),
    then: (p) => /set -e\n\necho \+ 'go build'\ngo build\n$/.test(step(p, 'a').script ?? ''),
    want: true,
  },
  { name: 'a step without commands has no script', yaml: pipeline('- name: a\n  image: x\n'), then: (p) => step(p, 'a').script, want: undefined },
  { name: 'a numeric command is its text', yaml: pipeline('- name: a\n  image: x\n  commands: [1.10]\n'), then: (p) => step(p, 'a').commands, want: ['1.10'] },
  { name: 'entrypoint and command are kept without commands', yaml: pipeline('- name: a\n  image: x\n  entrypoint: [/bin/app]\n  command: [--serve, "8080"]\n'), then: (p) => [step(p, 'a').entrypoint, step(p, 'a').command], want: [['/bin/app'], ['--serve', '8080']] },
  { name: 'commands replace entrypoint and command', yaml: pipeline('- name: a\n  image: x\n  entrypoint: [/bin/app]\n  commands: [make]\n'), then: (p) => step(p, 'a').entrypoint, want: undefined },
  {
    name: 'windows steps get a PowerShell script',
    yaml: 'kind: pipeline\nplatform: {os: windows, arch: amd64}\nsteps:\n- name: a\n  image: x\n  commands: [dir]\n',
    then: (p) => step(p, 'a').script?.includes("echo '+ dir'\ndir\nif ($LastExitCode -gt 0) { exit $LastExitCode }"),
    want: true,
  },

  // environment (runner-go manifest/env.go)
  { name: 'environment value as written', yaml: pipeline('- name: a\n  image: x\n  environment:\n    GOOS: linux\n'), then: (p) => step(p, 'a').environment.GOOS, want: { value: 'linux' } },
  { name: 'a number keeps its text (1.10 is not 1.1)', yaml: pipeline('- name: a\n  image: x\n  environment:\n    GO_VERSION: 1.10\n'), then: (p) => step(p, 'a').environment.GO_VERSION, want: { value: '1.10' } },
  { name: 'a YAML 1.1 boolean keeps its text', yaml: pipeline('- name: a\n  image: x\n  environment:\n    ENABLED: yes\n'), then: (p) => step(p, 'a').environment.ENABLED, want: { value: 'yes' } },
  { name: 'an empty value is the empty string', yaml: pipeline('- name: a\n  image: x\n  environment:\n    EMPTY:\n'), then: (p) => step(p, 'a').environment.EMPTY, want: { value: '' } },
  { name: 'from_secret is a secret reference', yaml: pipeline('- name: a\n  image: x\n  environment:\n    TOKEN:\n      from_secret: github_token\n'), then: (p) => step(p, 'a').environment.TOKEN, want: { secret: 'github_token' } },
  { name: 'the long form { value } is a value', yaml: pipeline('- name: a\n  image: x\n  environment:\n    MODE: { value: fast }\n'), then: (p) => step(p, 'a').environment.MODE, want: { value: 'fast' } },

  // settings → PLUGIN_* (drone-runner-docker step.go + encoder)
  { name: 'a string setting', yaml: pipeline('- name: a\n  image: plugins/slack\n  settings:\n    channel: dev\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_CHANNEL, want: 'dev' },
  { name: 'the key is only upper-cased (auto_tag)', yaml: pipeline('- name: a\n  image: x\n  settings:\n    auto_tag: true\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_AUTO_TAG, want: 'true' },
  { name: 'a camelCase key is upper-cased whole', yaml: pipeline('- name: a\n  image: x\n  settings:\n    autoTag: true\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_AUTOTAG, want: 'true' },
  { name: 'yes is a boolean in a setting', yaml: pipeline('- name: a\n  image: x\n  settings:\n    purge: yes\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_PURGE, want: 'true' },
  { name: 'an integer setting', yaml: pipeline('- name: a\n  image: x\n  settings:\n    retries: 3\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_RETRIES, want: '3' },
  { name: 'YAML 1.1 octal is a number', yaml: pipeline('- name: a\n  image: x\n  settings:\n    mode: 0755\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_MODE, want: '493' },
  { name: "a float setting as Go's %g", yaml: pipeline('- name: a\n  image: x\n  settings:\n    ratio: 1.50\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_RATIO, want: '1.5' },
  { name: "a large float as Go's %g exponent", yaml: pipeline('- name: a\n  image: x\n  settings:\n    size: 2.5e6\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_SIZE, want: '2.5e+06' },
  { name: 'a list of scalars is comma-joined', yaml: pipeline('- name: a\n  image: plugins/docker\n  settings:\n    tags: [latest, "1.2", 3]\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_TAGS, want: 'latest,1.2,3' },
  { name: 'a list of maps is JSON', yaml: pipeline('- name: a\n  image: x\n  settings:\n    hosts:\n    - {name: a, port: 80}\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_HOSTS, want: '[{"name":"a","port":80}]' },
  { name: 'a map is JSON with sorted keys', yaml: pipeline('- name: a\n  image: x\n  settings:\n    build_args: {Z: 1, A: two, M: true}\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_BUILD_ARGS, want: '{"A":"two","M":true,"Z":1}' },
  { name: "JSON escapes < > & as Go's encoder does", yaml: pipeline('- name: a\n  image: x\n  settings:\n    template: {text: "<b>a & b</b>"}\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_TEMPLATE, want: '{"text":"\\u003cb\\u003ea \\u0026 b\\u003c/b\\u003e"}' },
  { name: 'a setting from_secret is a secret reference', yaml: pipeline('- name: a\n  image: x\n  settings:\n    password:\n      from_secret: docker_password\n'), then: (p) => step(p, 'a').environment.PLUGIN_PASSWORD, want: { secret: 'docker_password' } },
  { name: 'a setting without value is left out (drone-yaml#13)', yaml: pipeline('- name: a\n  image: x\n  settings:\n    empty:\n'), then: (p) => 'PLUGIN_EMPTY' in step(p, 'a').environment, want: false },
  { name: 'a multi-line string setting is kept whole', yaml: pipeline('- name: a\n  image: x\n  settings:\n    script: |\n      one\n      two\n'), then: (p) => plainEnv(step(p, 'a')).PLUGIN_SCRIPT, want: 'one\ntwo\n' },

  // privileged (drone-runner-docker compiler.isPrivileged)
  { name: 'privileged: true', yaml: pipeline('- name: a\n  image: docker:dind\n  privileged: true\n'), then: (p) => step(p, 'a').privileged, want: true },
  { name: 'plugins/docker runs privileged without asking', yaml: pipeline('- name: a\n  image: plugins/docker:20\n  settings: {repo: o/r}\n'), then: (p) => step(p, 'a').privileged, want: true },
  { name: 'docker.io/plugins/ecr is the same plugin', yaml: pipeline('- name: a\n  image: docker.io/plugins/ecr\n'), then: (p) => step(p, 'a').privileged, want: true },
  { name: 'plugins/docker with commands is not a plugin use', yaml: pipeline('- name: a\n  image: plugins/docker\n  commands: [docker ps]\n'), then: (p) => step(p, 'a').privileged, want: false },
  { name: 'plugins/docker pointed at another daemon is not privileged', yaml: pipeline('- name: a\n  image: plugins/docker\n  environment: {DOCKER_HOST: "tcp://dind:2375"}\n'), then: (p) => step(p, 'a').privileged, want: false },
  { name: 'other images are not privileged', yaml: pipeline('- name: a\n  image: plugins/slack\n'), then: (p) => step(p, 'a').privileged, want: false },

  // detach, failure
  { name: 'detach: true', yaml: pipeline('- name: a\n  image: x\n  detach: true\n'), then: (p) => step(p, 'a').detach, want: true },
  { name: 'detach: yes (YAML 1.1 boolean)', yaml: pipeline('- name: a\n  image: x\n  detach: yes\n'), then: (p) => step(p, 'a').detach, want: true },
  { name: 'failure: ignore', yaml: pipeline('- name: a\n  image: x\n  failure: ignore\n'), then: (p) => step(p, 'a').failure, want: 'ignore' },
  { name: 'failure: IGNORE (drone-yaml compares case-insensitively)', yaml: pipeline('- name: a\n  image: x\n  failure: IGNORE\n'), then: (p) => step(p, 'a').failure, want: 'ignore' },
  { name: 'no failure → always', yaml: pipeline('- name: a\n  image: x\n'), then: (p) => step(p, 'a').failure, want: 'always' },

  // when → skip and runsOn
  { name: 'when.branch not matching → skipped with the reason', yaml: pipeline('- name: a\n  image: x\n  when:\n    branch: [release/*]\n'), then: (p) => step(p, 'a').skip, want: { condition: 'branch', reason: "branch 'main' does not match include [release/*]" } },
  { name: 'when.branch matching → runs', yaml: pipeline('- name: a\n  image: x\n  when:\n    branch: main\n'), then: (p) => step(p, 'a').skip, want: undefined },
  { name: 'when.event exclude', yaml: pipeline('- name: a\n  image: x\n  when:\n    event: {exclude: [push]}\n'), then: (p) => step(p, 'a').skip?.condition, want: 'event' },
  { name: 'when.ref glob', yaml: pipeline('- name: a\n  image: x\n  when:\n    ref: refs/tags/v*\n'), build: { trigger: { event: 'tag', ref: 'refs/tags/v1.0.0', branch: '' } }, then: (p) => step(p, 'a').skip, want: undefined },
  { name: 'when.status: failure → runs on failure only', yaml: pipeline('- name: a\n  image: x\n  when:\n    status: failure\n'), then: (p) => step(p, 'a').runsOn, want: ['failure'] },
  { name: 'when.status: [success, failure] → always', yaml: pipeline('- name: a\n  image: x\n  when:\n    status: [success, failure]\n'), then: (p) => step(p, 'a').runsOn, want: ['success', 'failure'] },
  { name: 'no status → on success', yaml: pipeline('- name: a\n  image: x\n'), then: (p) => step(p, 'a').runsOn, want: ['success'] },

  // volumes and container options
  { name: 'a step mounts a declared volume', yaml: pipeline('- name: a\n  image: x\n  volumes:\n  - name: cache\n    path: /go\n') + 'volumes:\n- name: cache\n  temp: {}\n', then: (p) => step(p, 'a').volumes, want: [{ name: 'cache', path: '/go' }] },
  { name: 'user', yaml: pipeline('- name: a\n  image: x\n  user: "1000:1000"\n'), then: (p) => step(p, 'a').user, want: '1000:1000' },
  { name: 'working_dir', yaml: pipeline('- name: a\n  image: x\n  working_dir: /app\n'), then: (p) => step(p, 'a').workingDir, want: '/app' },
  { name: 'steps start in the workspace', yaml: pipeline('- name: a\n  image: x\n'), then: (p) => step(p, 'a').workingDir, want: '/drone/src' },
  { name: 'network_mode', yaml: pipeline('- name: a\n  image: x\n  network_mode: host\n'), then: (p) => step(p, 'a').networkMode, want: 'host' },
  { name: 'shm_size as a byte count', yaml: pipeline('- name: a\n  image: x\n  shm_size: 268435456\n'), then: (p) => step(p, 'a').shmSize, want: 268435456 },
  { name: 'shm_size as "1g" (docker/go-units, binary)', yaml: pipeline('- name: a\n  image: x\n  shm_size: 1g\n'), then: (p) => step(p, 'a').shmSize, want: 1073741824 },
  { name: 'mem_limit "512MiB" and memswap_limit "1GB"', yaml: pipeline('- name: a\n  image: x\n  mem_limit: 512MiB\n  memswap_limit: 1GB\n'), then: (p) => step(p, 'a').resources, want: { memLimit: 536870912, memSwapLimit: 1073741824 } },
  {
    name: "drone-yaml's resources: limits and requests",
    yaml: pipeline('- name: a\n  image: x\n  resources:\n    limits: {cpu: 1.5, memory: 2g}\n    requests: {cpu: 500m}\n'),
    then: (p) => step(p, 'a').resources,
    want: { memLimit: 2147483648, cpuLimit: 1.5, cpuShares: 512 },
  },
  { name: 'extra_hosts, dns, dns_search', yaml: pipeline('- name: a\n  image: x\n  extra_hosts: ["db:10.0.0.2"]\n  dns: [1.1.1.1]\n  dns_search: [corp.local]\n'), then: (p) => [step(p, 'a').extraHosts, step(p, 'a').dns, step(p, 'a').dnsSearch], want: [['db:10.0.0.2'], ['1.1.1.1'], ['corp.local']] },
  { name: 'retry (runlog extension)', yaml: pipeline('- name: a\n  image: x\n  retry:\n    limit: 3\n    exit_codes: [1, 137]\n'), then: (p) => step(p, 'a').retry, want: { limit: 3, exitCodes: [1, 137] } },
  { name: 'retry on any failure', yaml: pipeline('- name: a\n  image: x\n  retry: {limit: 2}\n'), then: (p) => step(p, 'a').retry, want: { limit: 2, exitCodes: [] } },

  // services
  { name: 'a service is detached and numbered after the clone', yaml: 'kind: pipeline\nservices:\n- name: db\n  image: postgres:16\nsteps:\n- name: a\n  image: x\n', then: (p) => { const s = step(p, 'db'); return [s.kind, s.detach, s.number]; }, want: ['service', true, 2] },
  { name: "a service without commands keeps its image's directory", yaml: 'kind: pipeline\nservices:\n- name: db\n  image: postgres\n', then: (p) => step(p, 'db').workingDir, want: undefined },
  { name: 'a service with commands starts in the workspace', yaml: 'kind: pipeline\nservices:\n- name: web\n  image: node\n  commands: [npm start]\n', then: (p) => step(p, 'web').workingDir, want: '/drone/src' },
  { name: 'plugins/docker as a service is not made privileged', yaml: 'kind: pipeline\nservices:\n- name: d\n  image: plugins/docker\n', then: (p) => step(p, 'd').privileged, want: false },
];

describe('compile: step fields', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(c.then(planOf(c.yaml, c.build)), c.want);
    });
  }
});

describe('compile: step dependencies', () => {
  test('given no depends_on, when compiled, then each step waits for the one before (clone, services, steps)', () => {
    const plan = planOf(yaml`
      kind: pipeline
      services:
      - name: db
        image: postgres
      steps:
      - name: a
        image: x
      - name: b
        image: x
    `);
    const s = stage(plan);
    assert.deepEqual(
      [...s.steps, ...s.services].sort((x, y) => x.number - y.number).map((x) => [x.number, x.name, x.dependsOn]),
      [
        [1, 'clone', []],
        [2, 'db', ['clone']],
        [3, 'a', ['db']],
        [4, 'b', ['a']],
      ],
    );
  });

  test('given depends_on, when compiled, then the graph is as written and steps naming nothing start after the clone', () => {
    const plan = planOf(yaml`
      kind: pipeline
      steps:
      - name: backend
        image: golang
        depends_on: [clone]
      - name: frontend
        image: node
        depends_on: [clone]
      - name: lint
        image: node
      - name: notify
        image: plugins/slack
        depends_on: [backend, frontend]
    `);
    assert.deepEqual(
      stage(plan).steps.map((x) => [x.name, x.dependsOn]),
      [
        ['clone', []],
        ['backend', ['clone']],
        ['frontend', ['clone']],
        ['lint', ['clone']],
        ['notify', ['backend', 'frontend']],
      ],
    );
  });

  test('given depends_on and no clone, then steps naming nothing start at once', () => {
    const plan = planOf(yaml`
      kind: pipeline
      clone:
        disable: true
      steps:
      - name: a
        image: x
      - name: b
        image: x
        depends_on: [a]
    `);
    assert.deepEqual(stage(plan).steps.map((x) => [x.name, x.dependsOn]), [['a', []], ['b', ['a']]]);
  });

  test('given a step depends on a step declared later, then runlog follows it and warns that Drone refuses it', () => {
    const text = yaml`
      kind: pipeline
      steps:
      - name: a
        image: x
        depends_on: [b]
      - name: b
        image: x
        depends_on: [clone]
    `;
    assert.deepEqual(step(planOf(text), 'a').dependsOn, ['b']);
    assert.deepEqual(problemsOf(text), ["5:16: warning: steps[0].depends_on[0]: 'b' is declared after this step; runlog follows it, Drone refuses the file"]);
  });
});

describe('compile: step environment', () => {
  const text = yaml`
    kind: pipeline
    name: build
    environment:
      SHARED: pipeline
      DRONE_BRANCH: overridden-by-drone
    steps:
    - name: a
      image: plugins/slack
      environment:
        SHARED: step
        DRONE_COMMIT_MESSAGE: step wins
        PLUGIN_CHANNEL: from-environment
      settings:
        channel: from-settings
  `;

  test('every step gets the build, stage, step and workspace variables', () => {
    const env = plainEnv(step(planOf(text), 'a'));
    assert.equal(env.CI, 'true');
    assert.equal(env.DRONE, 'true');
    assert.equal(env.DRONE_BUILD_NUMBER, '42');
    assert.equal(env.DRONE_REPO, 'octocat/hello-world');
    assert.equal(env.DRONE_COMMIT_SHA, '6f2a1c8e9b3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a');
    assert.equal(env.DRONE_STAGE_NAME, 'build');
    assert.equal(env.DRONE_STAGE_NUMBER, '1');
    assert.equal(env.DRONE_STEP_NAME, 'a');
    assert.equal(env.DRONE_STEP_NUMBER, '2');
    assert.equal(env.DRONE_WORKSPACE, '/drone/src');
    assert.equal(env.DRONE_WORKSPACE_BASE, '/drone/src');
    assert.equal(env.DRONE_WORKSPACE_PATH, '');
  });

  test("precedence: pipeline environment < Drone's variables < step environment < settings", () => {
    const env = plainEnv(step(planOf(text), 'a'));
    assert.equal(env.SHARED, 'step');
    assert.equal(env.DRONE_BRANCH, 'main');
    assert.equal(env.DRONE_COMMIT_MESSAGE, 'step wins');
    assert.equal(env.PLUGIN_CHANNEL, 'from-settings');
  });

  test('build parameters come first, under everything', () => {
    const plan = planOf('kind: pipeline\nsteps:\n- name: a\n  image: x\n  environment: {MODE: step}\n', {
      trigger: { params: { MODE: 'param', EXTRA: 'param', DRONE_BRANCH: 'param' } },
    });
    const env = plainEnv(step(plan, 'a'));
    assert.deepEqual([env.MODE, env.EXTRA, env.DRONE_BRANCH], ['step', 'param', 'main']);
  });
});
