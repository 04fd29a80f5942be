import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compile } from '../../src/pipeline/compile.ts';
import type { Plan } from '../../src/pipeline/plan.ts';
import { buildContext, pullRequestBuild, tagBuild } from './build-context.ts';
import { planOf, plainEnv, problemsOf, stage, step, yaml } from './compile-helpers.ts';
import type { Build } from './compile-helpers.ts';

/**
 * Pipeline fields and the rules across pipelines, one row per rule: given a small file,
 * when it compiles, then this part of the plan. Step fields: compile-steps.unit.test.ts;
 * errors and warnings: compile-diagnostics.unit.test.ts.
 */

interface Case {
  name: string;
  yaml: string;
  build?: Build;
  then: (plan: Plan) => unknown;
  want: unknown;
}

const one = 'steps:\n- name: a\n  image: x\n';

const cases: Case[] = [
  // kind, type, name, platform (drone/drone trigger.go defaults)
  { name: 'type defaults to docker', yaml: `kind: pipeline\n${one}`, then: (p) => stage(p).type, want: 'docker' },
  { name: 'name defaults to default', yaml: `kind: pipeline\n${one}`, then: (p) => stage(p).name, want: 'default' },
  { name: 'platform defaults to linux/amd64', yaml: `kind: pipeline\n${one}`, then: (p) => stage(p).platform, want: { os: 'linux', arch: 'amd64', variant: '', version: '', kernel: '' } },
  {
    name: 'platform arm64 with variant; version is the kernel runners match',
    yaml: `kind: pipeline\nplatform:\n  os: linux\n  arch: arm\n  variant: v7\n  version: "1809"\n${one}`,
    then: (p) => stage(p).platform,
    want: { os: 'linux', arch: 'arm', variant: 'v7', version: '1809', kernel: '1809' },
  },
  { name: 'node labels route the stage', yaml: `kind: pipeline\nnode:\n  region: eu\n  gpu: yes\n${one}`, then: (p) => stage(p).labels, want: { region: 'eu', gpu: 'yes' } },
  {
    name: 'type: exec runs commands on the host: no image, no clone image',
    yaml: 'kind: pipeline\ntype: exec\nplatform: {os: darwin, arch: arm64}\nsteps:\n- name: a\n  commands: [make]\n',
    then: (p) => [stage(p).type, stage(p).platform.os, step(p, 'a').image, step(p, 'a').workingDir],
    want: ['exec', 'darwin', '', '/drone/src'],
  },

  // workspace (drone-runner-docker workspace.go)
  { name: 'workspace defaults to /drone/src', yaml: `kind: pipeline\n${one}`, then: (p) => stage(p).workspace, want: { path: '/drone/src', base: '/drone/src' } },
  { name: 'workspace.path absolute is both base and path', yaml: `kind: pipeline\nworkspace:\n  path: /go/src/app\n${one}`, then: (p) => [stage(p).workspace, step(p, 'a').workingDir], want: [{ path: '/go/src/app', base: '/go/src/app' }, '/go/src/app'] },
  { name: 'workspace.path relative is under /drone/src', yaml: `kind: pipeline\nworkspace:\n  path: src/app\n${one}`, then: (p) => stage(p).workspace, want: { path: '/drone/src/src/app', base: '/drone/src' } },
  {
    name: "Drone 1.0's base + path: the volume at base, steps in base/path",
    yaml: `kind: pipeline\nworkspace:\n  base: /go\n  path: src/github.com/octocat/hello-world\n${one}`,
    then: (p) => [stage(p).workspace, plainEnv(step(p, 'a')).DRONE_WORKSPACE_BASE, plainEnv(step(p, 'a')).DRONE_WORKSPACE_PATH],
    want: [{ path: '/go/src/github.com/octocat/hello-world', base: '/go' }, '/go', 'src/github.com/octocat/hello-world'],
  },
  { name: 'a workspace in a system directory is /drone/src', yaml: `kind: pipeline\nworkspace:\n  path: /var/run\n${one}`, then: (p) => stage(p).workspace, want: { path: '/drone/src', base: '/drone/src' } },
  { name: 'a windows workspace is on drive c:', yaml: `kind: pipeline\nplatform: {os: windows, arch: amd64}\n${one}`, then: (p) => stage(p).workspace, want: { path: 'c:\\drone\\src', base: 'c:\\drone\\src' } },

  // clone (drone-runner-docker clone.go)
  {
    name: 'the clone step comes first, always runs, with no image of its own',
    yaml: `kind: pipeline\n${one}`,
    then: (p) => { const c = stage(p).steps[0]; return [c.number, c.name, c.kind, c.image, c.runsOn]; },
    want: [1, 'clone', 'clone', '', ['success', 'failure']],
  },
  { name: 'clone.disable removes the clone step', yaml: `kind: pipeline\nclone:\n  disable: true\n${one}`, then: (p) => stage(p).steps.map((s) => [s.number, s.name]), want: [[1, 'a']] },
  {
    name: 'clone depth, retries and skip_verify',
    yaml: `kind: pipeline\nclone:\n  depth: 50\n  retries: 3\n  skip_verify: true\n${one}`,
    then: (p) => [stage(p).clone, plainEnv(stage(p).steps[0]).PLUGIN_DEPTH, plainEnv(stage(p).steps[0]).GIT_SSL_NO_VERIFY],
    want: [{ disable: false, depth: 50, retries: 3, skipVerify: true, tags: false }, '50', 'true'],
  },

  // services, volumes
  { name: 'services are listed apart from steps', yaml: `kind: pipeline\nservices:\n- name: cache\n  image: redis\n${one}`, then: (p) => [stage(p).services.map((s) => s.name), stage(p).steps.map((s) => s.name)], want: [['cache'], ['clone', 'a']] },
  { name: 'a temp volume', yaml: `kind: pipeline\nvolumes:\n- name: cache\n  temp: {}\n${one}`, then: (p) => stage(p).volumes, want: [{ kind: 'temp', name: 'cache', medium: '' }] },
  { name: 'temp: with nothing after it is a temp volume', yaml: `kind: pipeline\nvolumes:\n- name: cache\n  temp:\n${one}`, then: (p) => stage(p).volumes, want: [{ kind: 'temp', name: 'cache', medium: '' }] },
  { name: 'a tmpfs volume (medium: memory) with a size limit', yaml: `kind: pipeline\nvolumes:\n- name: scratch\n  temp:\n    medium: memory\n    size_limit: 64m\n${one}`, then: (p) => stage(p).volumes, want: [{ kind: 'temp', name: 'scratch', medium: 'memory', sizeLimit: 67108864 }] },
  { name: 'a host volume', yaml: `kind: pipeline\nvolumes:\n- name: docker\n  host:\n    path: /var/run/docker.sock\n${one}`, then: (p) => stage(p).volumes, want: [{ kind: 'host', name: 'docker', path: '/var/run/docker.sock' }] },

  // environment, secrets, pull secrets, concurrency
  { name: 'pipeline environment reaches every step', yaml: `kind: pipeline\nenvironment:\n  GOFLAGS: -mod=vendor\n${one}`, then: (p) => plainEnv(step(p, 'a')).GOFLAGS, want: '-mod=vendor' },
  { name: 'pipeline environment from_secret (runlog addition)', yaml: `kind: pipeline\nenvironment:\n  TOKEN: {from_secret: token}\n${one}`, then: (p) => step(p, 'a').environment.TOKEN, want: { secret: 'token' } },
  { name: 'image_pull_secrets', yaml: `kind: pipeline\nimage_pull_secrets: [dockerconfig]\n${one}`, then: (p) => stage(p).imagePullSecrets, want: ['dockerconfig'] },
  {
    name: 'secrets: every name the stage references, sorted, once',
    yaml: yaml`
      kind: pipeline
      environment: {A: {from_secret: zeta}}
      image_pull_secrets: [dockerconfig]
      services:
      - name: db
        image: postgres
        environment: {POSTGRES_PASSWORD: {from_secret: db_password}}
      steps:
      - name: a
        image: plugins/docker
        environment: {B: {from_secret: zeta}}
        settings: {password: {from_secret: docker_password}, username: plain}
    `,
    then: (p) => stage(p).secrets,
    want: ['db_password', 'docker_password', 'dockerconfig', 'zeta'],
  },
  { name: 'concurrency.limit', yaml: `kind: pipeline\nconcurrency:\n  limit: 1\n${one}`, then: (p) => stage(p).concurrency, want: { limit: 1 } },
  { name: 'concurrency.limit 0 is no limit', yaml: `kind: pipeline\nconcurrency:\n  limit: 0\n${one}`, then: (p) => stage(p).concurrency, want: undefined },

  // trigger (drone/drone trigger.go)
  { name: 'a trigger that matches: no skip', yaml: `kind: pipeline\ntrigger:\n  branch: [main]\n  event: [push]\n${one}`, then: (p) => stage(p).skip, want: undefined },
  { name: 'a trigger that does not match: skipped, with which condition', yaml: `kind: pipeline\ntrigger:\n  event: [tag]\n${one}`, then: (p) => stage(p).skip, want: { condition: 'event', reason: "event 'push' does not match include [tag]" } },
  { name: 'trigger.ref glob for tags', yaml: `kind: pipeline\ntrigger:\n  ref: [refs/tags/v*]\n${one}`, build: { trigger: tagBuild }, then: (p) => stage(p).skip, want: undefined },
  { name: 'branch is the target branch of a pull request', yaml: `kind: pipeline\ntrigger:\n  branch: main\n${one}`, build: { trigger: pullRequestBuild }, then: (p) => stage(p).skip, want: undefined },
  { name: 'trigger.target for promotions', yaml: `kind: pipeline\ntrigger:\n  event: [promote]\n  target: [production]\n${one}`, build: { trigger: { event: 'promote', deployTo: 'staging' } }, then: (p) => stage(p).skip?.condition, want: 'target' },
  { name: 'trigger.cron', yaml: `kind: pipeline\ntrigger:\n  cron: [nightly]\n${one}`, build: { trigger: { event: 'cron', cron: 'nightly' } }, then: (p) => stage(p).skip, want: undefined },
  { name: 'trigger.status: failure → runs when a dependency failed', yaml: `kind: pipeline\ntrigger:\n  status: [failure]\n${one}`, then: (p) => stage(p).runsOn, want: ['failure'] },
  { name: 'no trigger.status → on success', yaml: `kind: pipeline\n${one}`, then: (p) => stage(p).runsOn, want: ['success'] },

  // substitution, anchors
  { name: '${DRONE_*} is substituted before parsing', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: app:${DRONE_COMMIT_SHA:0:8}\n', then: (p) => step(p, 'a').image, want: 'app:6f2a1c8e' },
  { name: '$${VAR} reaches the shell as ${VAR}', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  commands:\n  - echo $${HOME}\n', then: (p) => step(p, 'a').commands, want: ['echo ${HOME}'] },
  { name: '$VAR without braces is left for the shell', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  commands: [echo $HOME]\n', then: (p) => step(p, 'a').commands, want: ['echo $HOME'] },
  {
    name: 'YAML anchors and merge keys (<<) work as in Drone',
    yaml: yaml`
      kind: pipeline
      x-go: &go
        image: golang:1.22
        environment: {CGO_ENABLED: "0"}
      steps:
      - name: a
        <<: *go
        commands: [go build]
      - name: b
        <<: *go
        image: golang:1.21
    `,
    then: (p) => [step(p, 'a').image, plainEnv(step(p, 'a')).CGO_ENABLED, step(p, 'b').image],
    want: ['golang:1.22', '0', 'golang:1.21'],
  },
];

describe('compile: pipeline fields', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(c.then(planOf(c.yaml, c.build)), c.want);
    });
  }
});

describe('compile: several pipelines', () => {
  const file = yaml`
    kind: pipeline
    name: test
    steps:
    - name: a
      image: x
    ---
    kind: pipeline
    name: publish
    depends_on: [test]
    trigger:
      event: [tag]
    steps:
    - name: a
      image: x
    ---
    kind: pipeline
    name: deploy
    depends_on: [publish]
    steps:
    - name: a
      image: x
    ---
    kind: pipeline
    name: notify
    depends_on: [deploy, test]
    trigger:
      status: [success, failure]
    steps:
    - name: a
      image: x
  `;

  test('given depends_on, stages are numbered in dependency order', () => {
    const plan = planOf(file);
    assert.deepEqual(plan.stages.map((s) => [s.number, s.name]), [[1, 'test'], [2, 'publish'], [3, 'deploy'], [4, 'notify']]);
  });

  test('given a skipped pipeline, its dependents wait for what it waited for (Drone dag.Dependencies)', () => {
    const plan = planOf(file);
    assert.deepEqual(plan.stages.map((s) => [s.name, s.dependsOn, s.skip?.condition]), [
      ['test', [], undefined],
      ['publish', ['test'], 'event'],
      ['deploy', ['test'], undefined],
      ['notify', ['deploy', 'test'], undefined],
    ]);
    assert.equal(plainEnv(step(plan, 'a', 'deploy')).DRONE_STAGE_DEPENDS_ON, 'test');
  });

  test('given the pipelines are written out of order, dependencies still come first', () => {
    const plan = planOf(yaml`
      kind: pipeline
      name: b
      depends_on: [a]
      steps:
      - name: s
        image: x
      ---
      kind: pipeline
      name: a
      steps:
      - name: s
        image: x
    `);
    assert.deepEqual(plan.stages.map((s) => [s.number, s.name]), [[1, 'a'], [2, 'b']]);
  });

  test('given no depends_on, stages keep the written order', () => {
    const plan = planOf('kind: pipeline\nname: x\nsteps: [{name: a, image: x}]\n---\nkind: pipeline\nname: y\nsteps: [{name: a, image: x}]\n');
    assert.deepEqual(plan.stages.map((s) => s.name), ['x', 'y']);
  });
});

describe('compile: substitution per stage', () => {
  test("given ${DRONE_STAGE_NAME}, then each pipeline gets its own stage's value, as Drone substitutes per stage", () => {
    const plan = planOf(yaml`
      kind: pipeline
      name: linux
      steps:
      - name: a
        image: alpine
        commands:
        - echo \${DRONE_STAGE_NAME} \${DRONE_STAGE_NUMBER} \${DRONE_STAGE_ARCH}
      ---
      kind: pipeline
      name: arm
      platform: {arch: arm64}
      depends_on: [linux]
      steps:
      - name: a
        image: alpine
        commands:
        - echo \${DRONE_STAGE_NAME} \${DRONE_STAGE_NUMBER} \${DRONE_STAGE_DEPENDS_ON}
    `);
    assert.deepEqual(step(plan, 'a', 'linux').commands, ['echo linux 1 amd64']);
    assert.deepEqual(step(plan, 'a', 'arm').commands, ['echo arm 2 linux']);
  });

  test('given build parameters, then they win over Drone variables in substitution (runner-go puts them last)', () => {
    const plan = planOf('kind: pipeline\nsteps:\n- name: a\n  image: x:${DRONE_BRANCH}-${TARGET}\n', { trigger: { params: { DRONE_BRANCH: 'override', TARGET: 'prod' } } });
    assert.equal(step(plan, 'a').image, 'x:override-prod');
  });
});

describe('compile: other documents', () => {
  test('kind: secret → an external secret by path and key', () => {
    const plan = planOf(yaml`
      kind: pipeline
      steps:
      - name: a
        image: x
      ---
      kind: secret
      name: docker_password
      get:
        path: secret/data/docker
        name: password
    `);
    assert.deepEqual(plan.externalSecrets, [{ name: 'docker_password', path: 'secret/data/docker', key: 'password' }]);
  });

  test('kind: signature → the hmac kept for the signature check', () => {
    const plan = planOf('kind: pipeline\nsteps: [{name: a, image: x}]\n---\nkind: signature\nhmac: 4f6a0b1c\n');
    assert.equal(plan.signature, '4f6a0b1c');
  });

  test('empty documents are skipped, as Drone does', () => {
    const plan = planOf('---\n---\nkind: pipeline\nsteps: [{name: a, image: x}]\n---\n');
    assert.equal(plan.stages.length, 1);
  });
});

describe('compile: the result', () => {
  test('is JSON-serialisable: a round trip gives the same plan', () => {
    const plan = planOf(`kind: pipeline\nservices: [{name: db, image: postgres}]\n${one}`);
    assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
  });

  test('carries the file name given, and no plan when there are errors', () => {
    const result = compile('kind: pipeline\nsteps:\n- name: a\n', buildContext(), { file: 'ci/.drone.yml' });
    assert.equal(result.plan, undefined);
    assert.deepEqual(result.diagnostics.map((d) => [d.file, d.document, d.severity]), [['ci/.drone.yml', 0, 'error']]);
  });

  test('an invalid build context is a diagnostic, not a throw', () => {
    const result = compile('kind: pipeline\n', { trigger: { event: 'nope' } } as never);
    assert.equal(result.plan, undefined);
    assert.match(result.diagnostics[0].message, /^the build's context is invalid: /);
  });

  test('warnings do not prevent a plan', () => {
    const text = `kind: pipeline\nfoo: bar\n${one}`;
    assert.ok(planOf(text));
    assert.deepEqual(problemsOf(text), ['2:1: warning: foo: unknown field, ignored as Drone ignores it']);
  });
});
