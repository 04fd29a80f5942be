import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileCaicloud } from '../../src/pipeline/caicloud-compile.ts';
import { compileConfig, configFormat } from '../../src/pipeline/config-format.ts';
import { Plan } from '../../src/pipeline/plan.ts';
import type { PlanStep } from '../../src/pipeline/plan.ts';
import { buildContext } from './build-context.ts';

/** Cyclone's example file, all five stages. */
const FULL = `pre_build:
  image: golang:1.22
  volumes:
    - .:/go/src/github.com/octocat/hello-world
  environment:
    - GOPATH=/go
    - CGO_ENABLED = 0
  commands:
    - go build -o app
  outputs:
    - app
build:
  context_dir: docker
  dockerfile_name: Dockerfile.prod
integration:
  services:
    web:
      image: BUILT_IMAGE
      commands:
        - /app
    mongo:
      image: mongo:3.0
      environment:
        - MONGO_INITDB_DATABASE=test
  links:
    - mongo:db
  environment:
    - TARGET=http://web:8080
  commands:
    - ./integration.sh
post_build:
  image: alpine:3.19
  environment:
    - STAGE=post
  commands:
    - echo done
deploy:
  - type: kubernetes
    deployment: hello
    cluster: prod
    namespace: web
    containers: [hello, sidecar]
    host: https://k8s.example.com:6443
    token:
      from_secret: k8s_token
`;

const COMMIT = '6f2a1c8e9b3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a';

function planOf(yaml: string, registry = '127.0.0.1:5000', trigger = {}) {
  const result = compileCaicloud(yaml, buildContext(trigger), { registry });
  assert.deepEqual(result.diagnostics.filter((d) => d.severity === 'error'), []);
  assert.ok(result.plan);
  return result.plan;
}

function problems(yaml: string, options: { registry?: string; trusted?: boolean } = {}): string[] {
  const result = compileCaicloud(yaml, buildContext({}, { trusted: options.trusted ?? true }), { registry: options.registry ?? 'r:5000' });
  return result.diagnostics.map((d) => `${d.line}:${d.column}: ${d.severity}: ${d.message}`);
}

const byName = (steps: PlanStep[], name: string) => {
  const step = steps.find((s) => s.name === name);
  assert.ok(step, `step ${name} is planned`);
  return step;
};

describe('caicloud.yml compiles to the plan', () => {
  test('given all five stages, then one docker stage: clone, pre_build, build, services, integration, post_build, deploy', () => {
    const plan = planOf(FULL);
    Plan.parse(plan); // the same schema BuildCreated stores
    assert.equal(plan.stages.length, 1);
    const [stage] = plan.stages;
    assert.equal(stage.type, 'docker');
    assert.deepEqual(stage.steps.map((s) => s.name), ['clone', 'pre_build', 'build', 'integration', 'post_build', 'deploy-hello']);
    assert.deepEqual(stage.services.map((s) => s.name), ['web', 'mongo']);
    // serial, with services once the image exists and integration after them
    assert.deepEqual(byName(stage.steps, 'pre_build').dependsOn, ['clone']);
    assert.deepEqual(byName(stage.steps, 'build').dependsOn, ['pre_build']);
    assert.deepEqual(byName(stage.services, 'web').dependsOn, ['build']);
    assert.deepEqual(byName(stage.steps, 'integration').dependsOn, ['build', 'web', 'mongo']);
    assert.deepEqual(byName(stage.steps, 'post_build').dependsOn, ['integration']);
    assert.deepEqual(byName(stage.steps, 'deploy-hello').dependsOn, ['post_build']);
    // the `.` volume moves the source there
    assert.equal(stage.workspace.path, '/go/src/github.com/octocat/hello-world');
    assert.equal(stage.secrets.includes('k8s_token'), true);
  });

  test('given pre_build, then its environment in both forms, its commands, and its outputs copied into the build context', () => {
    const pre = byName(planOf(FULL).stages[0].steps, 'pre_build');
    assert.equal(pre.image, 'golang:1.22');
    assert.deepEqual(pre.environment.GOPATH, { value: '/go' });
    assert.deepEqual(pre.environment.CGO_ENABLED, { value: '0' });
    assert.equal(pre.commands[0], 'go build -o app');
    assert.match(pre.commands[1], /^mkdir -p 'docker' && for output in 'app'; do kept='docker'\//);
    assert.ok(pre.script?.includes('go build -o app'));
    assert.deepEqual(pre.environment.DRONE_REPO, { value: 'octocat/hello-world' }, 'the build variables are there as for .drone.yml');
  });

  test('given build, then an image build step: context, Dockerfile, the repo in the registry, commit/latest tags, pushed', () => {
    const build = byName(planOf(FULL).stages[0].steps, 'build');
    assert.deepEqual(build.build, {
      context: 'docker',
      dockerfile: 'Dockerfile.prod',
      repo: '127.0.0.1:5000/octocat/hello-world',
      tags: [COMMIT, 'latest'],
      push: true,
    });
    assert.equal(build.script, undefined);
    assert.equal(build.image, '');
  });

  test('given a tag build, then the tag is a tag of the image too; a pull request gets no latest', () => {
    const tagged = byName(planOf(FULL, 'r:5000', { event: 'tag', ref: 'refs/tags/v1.2.0', branch: '' }).stages[0].steps, 'build');
    assert.deepEqual(tagged.build?.tags, [COMMIT, 'v1.2.0', 'latest']);
    const pr = byName(planOf(FULL, 'r:5000', { event: 'pull_request', ref: 'refs/pull/1/head', pullRequest: 1 }).stages[0].steps, 'build');
    assert.deepEqual(pr.build?.tags, [COMMIT]);
  });

  test('given no registry, then the image is built under owner/name and not pushed', () => {
    const result = compileCaicloud('build:\n  context_dir: .\n', buildContext(), {});
    assert.deepEqual(byName(result.plan!.stages[0].steps, 'build').build, { context: '.', dockerfile: 'Dockerfile', repo: 'octocat/hello-world', tags: [COMMIT, 'latest'], push: false });
  });

  test('given BUILT_IMAGE services and links, then they run the commit-tagged image, never pulled, with their aliases', () => {
    const { services, steps } = planOf(FULL).stages[0];
    const web = byName(services, 'web');
    assert.equal(web.image, `127.0.0.1:5000/octocat/hello-world:${COMMIT}`);
    assert.equal(web.pull, 'never');
    assert.equal(web.detach, true);
    assert.deepEqual(web.commands, ['/app'], "a service's own commands");
    assert.deepEqual(byName(services, 'mongo').environment.MONGO_INITDB_DATABASE, { value: 'test' }, "a service's own environment");
    assert.deepEqual(byName(services, 'mongo').aliases, ['db']);
    assert.equal(byName(services, 'mongo').pull, 'default');
    const integration = byName(steps, 'integration');
    assert.equal(integration.image, web.image, 'integration runs in the built image by default');
    assert.deepEqual(integration.environment.TARGET, { value: 'http://web:8080' });
  });

  test('given deploy, then a deploy step with the target and the token as a secret', () => {
    const deploy = byName(planOf(FULL).stages[0].steps, 'deploy-hello');
    assert.deepEqual(deploy.deploy, {
      host: 'https://k8s.example.com:6443',
      cluster: 'prod',
      namespace: 'web',
      deployment: 'hello',
      containers: ['hello', 'sidecar'],
      image: `127.0.0.1:5000/octocat/hello-world:${COMMIT}`,
      timeoutSeconds: 300,
    });
    assert.deepEqual(deploy.environment.KUBERNETES_TOKEN, { secret: 'k8s_token' });
    assert.equal(JSON.stringify(deploy).includes('from_secret'), false);
  });

  test('given a host volume in a trusted repo, then the stage has the host volume and pre_build mounts it', () => {
    const plan = planOf('pre_build:\n  image: golang\n  volumes:\n    - /var/cache/go:/go/pkg\n  commands: [go build]\n');
    const [stage] = plan.stages;
    assert.deepEqual(stage.volumes, [{ kind: 'host', name: 'pre_build-0', path: '/var/cache/go' }]);
    assert.deepEqual(byName(stage.steps, 'pre_build').volumes, [{ name: 'pre_build-0', path: '/go/pkg' }]);
  });

  test('given environment as a map, then from_secret is a secret by name', () => {
    const plan = planOf('post_build:\n  image: alpine\n  environment:\n    A: 1.10\n    B:\n      from_secret: b\n  commands: [env]\n');
    const post = byName(plan.stages[0].steps, 'post_build');
    assert.deepEqual(post.environment.A, { value: '1.10' });
    assert.deepEqual(post.environment.B, { secret: 'b' });
  });
});

describe('caicloud.yml errors are at their line', () => {
  const cases: { name: string; yaml: string; want: string[]; trusted?: boolean }[] = [
    { name: 'a build with neither context_dir nor dockerfile_name', yaml: 'pre_build:\n  image: a\nbuild: {}\n', want: ['3:1: error: build: needs context_dir or dockerfile_name (or both): where the Dockerfile is'] },
    { name: 'an empty build section', yaml: 'pre_build:\n  image: a\n\nbuild:\n', want: ['4:1: error: build: needs context_dir or dockerfile_name (or both): where the Dockerfile is'] },
    { name: 'an unknown stage key', yaml: 'pre_build:\n  image: a\nbiuld:\n  context_dir: .\n', want: ["3:1: error: unknown stage 'biuld': a caicloud.yml has pre_build, build, integration, post_build, deploy"] },
    {
      name: 'a BUILT_IMAGE service without a build section',
      yaml: 'integration:\n  image: alpine\n  services:\n    web:\n      image: BUILT_IMAGE\n  commands: [true]\n',
      want: ['5:14: error: BUILT_IMAGE is the image the build section makes, and this file has no build section'],
    },
    { name: 'an unknown key in a stage', yaml: 'post_build:\n  image: a\n  command: [x]\n', want: ["3:3: error: post_build: unknown key 'command'"] },
    { name: 'pre_build without an image', yaml: 'pre_build:\n  commands: [make]\n', want: ['2:3: error: pre_build.image: required: the image pre_build runs in'] },
    { name: 'an environment line that is not KEY=value', yaml: 'post_build:\n  image: a\n  environment:\n    - OK=1\n    - not a pair\n', want: ["5:7: error: post_build.environment[1]: 'not a pair' is not KEY=value"] },
    { name: 'a link to no service', yaml: 'build:\n  context_dir: .\nintegration:\n  links: [db]\n  commands: [true]\n', want: ["4:11: error: links: no service 'db' in integration.services (none)"] },
    { name: 'integration with no image and no build', yaml: 'integration:\n  commands: [true]\n', want: ['1:1: error: integration: runs in the image build makes; with no build section, name an image'] },
    {
      name: 'a deploy token in clear text',
      yaml: 'build:\n  context_dir: .\ndeploy:\n  - deployment: a\n    containers: [a]\n    host: https://k\n    token: abc\n',
      want: ['7:12: error: token: write { from_secret: name }: a token in the file would be stored with the build'],
    },
    { name: 'deploy without a build', yaml: 'deploy:\n  - deployment: a\n    containers: [a]\n    host: https://k\n    token: {from_secret: t}\n', want: ['1:1: error: deploy: sets the image the build section makes, and this file has no build section'] },
    { name: 'a host volume in an untrusted repo', yaml: 'pre_build:\n  image: a\n  volumes:\n    - /var/cache:/cache\n', trusted: false, want: ['4:7: error: mounting the host path /var/cache needs a trusted repository'] },
    { name: 'a context_dir outside the repository', yaml: 'build:\n  context_dir: ../x\n', want: ["2:16: error: context_dir: '../x' is not a folder inside the repository"] },
    { name: 'a list instead of a map', yaml: '- pre_build\n', want: ['1:1: error: expected a map of stages (pre_build, build, integration, post_build, deploy), got a list or a single value'] },
    { name: 'a YAML syntax error', yaml: 'pre_build:\n  image: [a\n', want: ['3:1: error: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]'] },
  ];
  for (const { name, yaml, want, trusted } of cases) {
    test(name, () => {
      assert.deepEqual(problems(yaml, { trusted }), want);
      assert.equal(compileCaicloud(yaml, buildContext({}, { trusted: trusted ?? true }), { registry: 'r:5000' }).plan, undefined);
    });
  }
});

describe('which format a file is', () => {
  test('by name first, then by its top-level keys', () => {
    assert.equal(configFormat('caicloud.yml', 'steps: []'), 'caicloud');
    assert.equal(configFormat('ci/app.caicloud.yaml', ''), 'caicloud');
    assert.equal(configFormat('.drone.yml', 'build: {}'), 'drone');
    assert.equal(configFormat('ci.yml', 'pre_build:\n  image: a\nbuild:\n  context_dir: .\n'), 'caicloud');
    assert.equal(configFormat('ci.yml', 'kind: pipeline\nsteps: []\n'), 'drone');
    assert.equal(configFormat('ci.yml', 'build:\n  x: 1\nsteps: []\n'), 'drone');
  });

  test('compileConfig gives the caicloud plan and diagnostics carry the file name', () => {
    const good = compileConfig(FULL, buildContext(), { file: 'ci/pipeline.yml', registry: 'r:5000' });
    assert.equal(good.format, 'caicloud');
    assert.equal(good.plan?.stages[0].name, 'caicloud');
    const bad = compileConfig('pre_build:\n  image: a\nbiuld: {}\n', buildContext(), { file: 'caicloud.yml' });
    assert.equal(bad.diagnostics[0].file, 'caicloud.yml');
    assert.equal(bad.diagnostics[0].line, 3);
  });
});

describe('the compiler is total', () => {
  test('any map of stage keys to any YAML-ish values gives a plan or diagnostics, never a throw', () => {
    const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constant('BUILT_IMAGE'));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('image', 'commands', 'context_dir', 'services', 'environment', 'token', 'x'), tie('node'), { maxKeys: 3 })),
    })).node;
    const file = fc.dictionary(fc.constantFrom('pre_build', 'build', 'integration', 'post_build', 'deploy', 'other'), value, { maxKeys: 5 });
    fc.assert(
      fc.property(file, (content) => {
        const result = compileCaicloud(JSON.stringify(content), buildContext(), { registry: 'r:5000' });
        assert.ok(result.plan !== undefined || result.diagnostics.some((d) => d.severity === 'error'));
        if (result.plan) Plan.parse(result.plan);
      }),
      { numRuns: 300 },
    );
  });
});
