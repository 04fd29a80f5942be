import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { BuildEvent, EventOf } from '../../src/events/build-events.ts';
import { compileCaicloud } from '../../src/pipeline/caicloud-compile.ts';
import type { PlanStage } from '../../src/pipeline/plan.ts';
import { Trigger } from '../../src/pipeline/trigger.ts';
import { createDockerEngine } from '../../src/runner/docker/engine.ts';
import { createLocalBuild } from '../../src/runner/reporter.ts';
import { runStage } from '../../src/runner/stage-runner.ts';
import { startRegistry, type LoopbackRegistry } from '../support/registry.ts';

/**
 * A caicloud.yml with all five stages, end to end on the docker engine: `pre_build`
 * writes a file and keeps it as an output, `build` makes an image with it from a
 * Dockerfile on the local busybox image (the build API with `pull: false`: nothing is ever
 * pulled) and pushes it to a real registry on loopback (Debian's docker-registry, one per
 * run of this file), `integration` starts that image as a service and reaches it by name
 * and by its link alias, `post_build` sees the source, and `deploy` talks to a loopback
 * stand-in of the Kubernetes API that checks the request's shape. The pushed image is
 * then pulled back from the registry by its digest. The registry takes any login, so the
 * credentials the push carries (from secrets) are read off the engine's client.
 */

const SOCKET = process.env.RUNLOG_TEST_DOCKER_SOCK ?? '/var/run/docker.sock';
const RUNNER = 'runlog-test-caicloud';
const GOOD_TOKEN = 'k8s-g00d-t0ken-value';
const REGISTRY_USER = 'ci-pusher';
const REGISTRY_PASSWORD = 'r3gistry-pa55word';

/** The engine's client, watched: any pull during the run is a bug; build and push options are kept. */
const engineDocker = new Docker({ socketPath: SOCKET });
const pulls: string[] = [];
const builds: Record<string, unknown>[] = [];
const pushes: { image: string; authconfig?: unknown }[] = [];
engineDocker.pull = (async (image: string) => {
  pulls.push(image);
  throw new Error(`test: pull of ${image} attempted`);
}) as unknown as Docker['pull'];
const realBuild = engineDocker.buildImage.bind(engineDocker);
engineDocker.buildImage = ((file: NodeJS.ReadableStream, options: Record<string, unknown>) => {
  builds.push(options);
  return realBuild(file, options);
}) as unknown as Docker['buildImage'];
const realGetImage = engineDocker.getImage.bind(engineDocker);
engineDocker.getImage = ((name: string) => {
  const image = realGetImage(name);
  const push = image.push.bind(image);
  image.push = ((options?: Docker.ImagePushOptions) => {
    pushes.push({ image: name, authconfig: options?.authconfig });
    return push(options);
  }) as typeof image.push;
  return image;
}) as Docker['getImage'];
/** A plain client for the checks (pull by digest). */
const docker = new Docker({ socketPath: SOCKET });

const caicloudYml = (k8s: string) => `pre_build:
  image: runlog-test/busybox:latest
  environment:
    - GREETING = hello from pre_build
  commands:
    - mkdir -p out && echo "$GREETING" > out/hello.txt
  outputs:
    - out/hello.txt
build:
  context_dir: .
  dockerfile_name: Dockerfile
  username:
    from_secret: registry_user
  password:
    from_secret: registry_password
integration:
  services:
    app:
      image: BUILT_IMAGE
  links:
    - app:web
  environment:
    - TRIES=50
  commands:
    - for i in $(seq 1 $TRIES); do wget -qO- http://app:8080/hello.txt >/dev/null 2>&1 && break; sleep 0.2; done
    - wget -qO- http://app:8080/hello.txt
    - wget -qO- http://web:8080/hello.txt
post_build:
  image: runlog-test/busybox:latest
  commands:
    - test -f Dockerfile && echo post_build sees the source
deploy:
  - type: kubernetes
    deployment: hello
    namespace: web
    cluster: loopback
    containers: [hello]
    host: ${k8s}
    token:
      from_secret: k8s_token
    timeout: 20
`;

const DOCKERFILE = `FROM runlog-test/busybox:latest
COPY hello.txt /www/hello.txt
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
`;

type Patch = { method: string; url: string; contentType: string; authorization: string; body: unknown };

/** The Kubernetes API, as much as a deploy needs: one deployment, a rollout over two reads, a 401 for any other token. */
function kubernetesStandIn(): { server: Server; patches: Patch[]; reads: number } {
  const state = { patches: [] as Patch[], reads: 0, server: undefined as unknown as Server };
  let generation = 1;
  let observed = 1;
  let updated = 2;
  const deployment = () => ({
    kind: 'Deployment',
    metadata: { name: 'hello', namespace: 'web', generation },
    spec: { replicas: 2 },
    status: { observedGeneration: observed, replicas: 2, updatedReplicas: updated, availableReplicas: updated },
  });
  state.server = createServer(async (request: IncomingMessage, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const send = (status: number, json: unknown) => {
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(json));
    };
    if (request.headers.authorization !== `Bearer ${GOOD_TOKEN}`) {
      send(401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      return;
    }
    if (request.url !== '/apis/apps/v1/namespaces/web/deployments/hello') {
      send(404, { kind: 'Status', status: 'Failure', message: `${request.url} not found`, code: 404 });
      return;
    }
    if (request.method === 'PATCH') {
      state.patches.push({
        method: request.method,
        url: request.url,
        contentType: request.headers['content-type'] ?? '',
        authorization: request.headers.authorization ?? '',
        body: JSON.parse(body),
      });
      generation += 1; // the new template: observed later, replicas replaced one by one
      updated = 0;
      send(200, deployment());
      return;
    }
    state.reads += 1;
    observed = generation;
    updated = Math.min(2, updated + 1);
    send(200, deployment());
  });
  return state;
}

function followProgress(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())));
}

describe('caicloud.yml end to end on the docker engine', { timeout: 120_000 }, () => {
  let dir: string;
  let registry: LoopbackRegistry;
  let registryHost: string;
  let k8s: ReturnType<typeof kubernetesStandIn>;
  let k8sUrl: string;
  let commit: string;
  const images = new Set<string>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runlog-caicloud-'));
    registry = await startRegistry(dir);
    registryHost = registry.host;

    k8s = kubernetesStandIn();
    await new Promise<void>((resolve) => k8s.server.listen(0, '127.0.0.1', resolve));
    k8sUrl = `http://127.0.0.1:${(k8s.server.address() as { port: number }).port}`;

    const repo = join(dir, 'repo');
    await mkdir(repo);
    await writeFile(join(repo, 'Dockerfile'), DOCKERFILE);
    await writeFile(join(repo, 'caicloud.yml'), caicloudYml(k8sUrl));
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'add', '.');
    git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'caicloud');
    commit = git('rev-parse', 'HEAD');
  });

  after(async () => {
    registry?.stop();
    await new Promise<void>((resolve) => (k8s?.server ? k8s.server.close(() => resolve()) : resolve()));
    for (const image of images) await docker.getImage(image).remove({ force: true }).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  function plan(): PlanStage {
    const trigger = { event: 'push' as const, ref: 'refs/heads/main', branch: 'main', commit };
    const result = compileCaicloud(caicloudYml(k8sUrl), { trigger, repo: { owner: 'acme', name: 'hello', slug: 'acme/hello', trusted: true }, build: { number: 1, createdAt: new Date().toISOString() } }, { registry: registryHost });
    assert.deepEqual(result.diagnostics, []);
    return result.plan!.stages[0];
  }

  async function run(stage: PlanStage, secrets: Record<string, string>) {
    const trigger = Trigger.parse({ event: 'push', ref: 'refs/heads/main', branch: 'main', commit });
    const { reporter, buildId, leaseToken } = await createLocalBuild({ plan: { version: 1, stages: [stage], externalSecrets: [] }, trigger, repo: 'acme/hello' });
    const result = await runStage({
      engine: createDockerEngine({ docker: engineDocker, runner: RUNNER }),
      reporter,
      run: {
        buildId,
        repo: 'acme/hello',
        buildNumber: 1,
        stage,
        runId: `caicloud-${crypto.randomUUID().slice(0, 8)}`,
        trusted: true,
        clone: { url: `file://${join(dir, 'repo')}`, commit, ref: 'refs/heads/main', depth: 0 },
      },
      leaseToken,
      secrets,
      now: () => new Date(),
      limits: { timeoutMinutes: 5, cancelPollMs: 200, log: { batchIntervalMs: 50 } },
    });
    const events = reporter.events();
    const log = (name: string) => {
      const step = [...stage.services, ...stage.steps].find((s) => s.name === name)!;
      return reporter.logText(stage.number, step.number);
    };
    return { result, events, log };
  }

  const ofType = <T extends BuildEvent['type']>(events: BuildEvent[], type: T) => events.filter((e): e is EventOf<T> => e.type === type);

  it('given all five stages, when the stage runs, then the image is built, pushed, served, tested and deployed', async () => {
    const stage = plan();
    const repo = `${registryHost}/acme/hello`;
    for (const tag of [commit, 'latest']) images.add(`${repo}:${tag}`);
    const { result, events, log } = await run(stage, { k8s_token: GOOD_TOKEN, registry_user: REGISTRY_USER, registry_password: REGISTRY_PASSWORD });

    const finished = ofType(events, 'StepFinished').map((e) => [stage.steps.concat(stage.services).find((s) => s.number === e.data.step)?.name, e.data.status]);
    assert.equal(result.status, 'success', `${result.error ?? ''}\n${JSON.stringify(finished)}\nbuild log:\n${log('build')}\nintegration log:\n${log('integration')}\ndeploy log:\n${log('deploy-hello')}`);
    assert.deepEqual(pulls, [], 'nothing was pulled');
    assert.equal(builds.length, 1);
    assert.equal(builds[0].pull, false, 'the build API is asked not to pull');
    assert.equal(builds[0].t, `${repo}:${commit}`);

    assert.match(log('pre_build'), /kept=/);
    assert.match(log('build'), /pushed 127\.0\.0\.1:\d+\/acme\/hello@sha256:[0-9a-f]{64}/);
    // every tag is pushed with the login from the build section's secrets
    assert.deepEqual(
      pushes.map((push) => push.image),
      [commit, 'latest'].map((tag) => `${repo}:${tag}`),
    );
    for (const push of pushes) assert.deepEqual(push.authconfig, { username: REGISTRY_USER, password: REGISTRY_PASSWORD, serveraddress: registryHost });
    assert.equal(JSON.stringify(events).includes(REGISTRY_PASSWORD), false, 'the registry password is in no event');
    assert.equal(log('build').includes(REGISTRY_PASSWORD), false, 'the registry password is in no log');
    assert.equal(log('integration').split('\n').filter((line) => line === 'hello from pre_build').length, 2, 'reached by name and by link alias');
    assert.match(log('post_build'), /post_build sees the source/);

    const [published] = ofType(events, 'ImagePublished');
    assert.ok(published, 'ImagePublished recorded');
    assert.equal(published.data.repo, repo);
    assert.deepEqual(published.data.tags, [commit, 'latest']);
    assert.match(published.data.digest, /^sha256:[0-9a-f]{64}$/);

    // the stand-in saw the Kubernetes shape of the request
    assert.equal(k8s.patches.length, 1);
    const [patch] = k8s.patches;
    assert.equal(patch.url, '/apis/apps/v1/namespaces/web/deployments/hello');
    assert.equal(patch.contentType, 'application/strategic-merge-patch+json');
    assert.equal(patch.authorization, `Bearer ${GOOD_TOKEN}`);
    assert.deepEqual(patch.body, { spec: { template: { spec: { containers: [{ name: 'hello', image: `${repo}:${commit}` }] } } } });
    assert.ok(k8s.reads >= 1, 'the rollout was watched');
    const [deployed] = ofType(events, 'DeploymentUpdated');
    assert.ok(deployed, 'DeploymentUpdated recorded');
    assert.deepEqual(
      { cluster: deployed.data.cluster, namespace: deployed.data.namespace, deployment: deployed.data.deployment, image: deployed.data.image, generation: deployed.data.generation },
      { cluster: 'loopback', namespace: 'web', deployment: 'hello', image: `${repo}:${commit}`, generation: 2 },
    );
    assert.match(log('deploy-hello'), /rolled out: 2 of 2 replicas/);
    assert.equal(JSON.stringify(events).includes(GOOD_TOKEN), false, 'the token is in no event');
    assert.equal(log('deploy-hello').includes(GOOD_TOKEN), false, 'the token is in no log');

    // the registry serves the manifest by digest, and the daemon pulls the image back by it
    const manifest = await fetch(`http://${registryHost}/v2/acme/hello/manifests/${published.data.digest}`, {
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.equal(manifest.status, 200);
    for (const tag of [commit, 'latest']) await docker.getImage(`${repo}:${tag}`).remove({ force: true }).catch(() => {});
    const byDigest = `${repo}@${published.data.digest}`;
    images.add(byDigest);
    await followProgress(await docker.pull(byDigest));
    const pulled = await docker.getImage(byDigest).inspect();
    assert.ok(pulled.RepoDigests.includes(byDigest));
    assert.deepEqual(pulled.Config.Cmd, ['httpd', '-f', '-p', '8080', '-h', '/www']);
  });

  it('given a token the cluster refuses, when the deploy runs, then the stage fails and the events say why', async () => {
    const full = plan();
    const deploy = full.steps.find((s) => s.name === 'deploy-hello')!;
    const stage: PlanStage = { ...full, services: [], steps: [{ ...deploy, number: 1, dependsOn: [] }], clone: { ...full.clone, disable: true } };
    const patchesBefore = k8s.patches.length;
    const { result, events, log } = await run(stage, { k8s_token: 'not-the-token' });
    assert.equal(result.status, 'failure');
    const [failed] = ofType(events, 'DeploymentFailed');
    assert.ok(failed, 'DeploymentFailed recorded');
    assert.match(failed.data.error, /the cluster refused the token \(401: Unauthorized\)/);
    assert.equal(ofType(events, 'DeploymentUpdated').length, 0);
    assert.match(log('deploy-hello'), /deploy failed: PATCH \/apis\/apps\/v1\/namespaces\/web\/deployments\/hello: the cluster refused the token/);
    assert.equal(k8s.patches.length, patchesBefore, 'nothing was changed');
    assert.equal(JSON.stringify(events).includes('not-the-token'), false);
  });
});
