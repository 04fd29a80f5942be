import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerSocket, testDocker, TEST_IMAGE } from '../support/docker.ts';
import { startRegistry, type LoopbackRegistry } from '../support/registry.ts';
import { runlog, runlogAsync } from './run-cli.ts';

/** `runlog lint`, `runlog plan` and `runlog exec` on caicloud.yml files, by name and by content, as a user runs them. */
describe('runlog lint, plan and exec read caicloud.yml', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runlog-caicloud-cli-'));
    await writeFile(join(dir, 'caicloud.yml'), 'pre_build:\n  image: busybox\nbuild: {}\nintegration:\n  image: busybox\n  services:\n    app:\n      image: BUILT_IMAGE\n');
    await writeFile(join(dir, 'ci.yml'), 'pre_build:\n  image: busybox\n  commands: [make]\nbuild:\n  context_dir: .\npostbuild:\n  image: x\n');
    await writeFile(join(dir, 'good.yml'), 'build:\n  dockerfile_name: Dockerfile\npost_build:\n  image: busybox\n  commands: [echo hi]\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('given errors, then each at its line, exit 1', () => {
    const byName = runlog(['lint', 'caicloud.yml'], dir);
    assert.equal(byName.code, 1);
    assert.equal(byName.stdout, 'caicloud.yml:3:1: error: build: needs context_dir or dockerfile_name (or both): where the Dockerfile is\n');
    const byContent = runlog(['lint', 'ci.yml'], dir);
    assert.equal(byContent.code, 1);
    assert.equal(byContent.stdout, "ci.yml:6:1: error: unknown stage 'postbuild': a caicloud.yml has pre_build, build, integration, post_build, deploy\n");
  });

  it('given errors, then plan and exec print them at the same line and column as lint, exit 1', () => {
    for (const [file, want] of [
      ['caicloud.yml', 'caicloud.yml:3:1: error: build: needs context_dir or dockerfile_name (or both): where the Dockerfile is\n'],
      ['ci.yml', "ci.yml:6:1: error: unknown stage 'postbuild': a caicloud.yml has pre_build, build, integration, post_build, deploy\n"],
    ]) {
      for (const command of ['plan', 'exec']) {
        const result = runlog([command, file], dir);
        assert.equal(result.code, 1, `${command} ${file}: ${result.stderr}`);
        assert.equal(result.stderr, want, `${command} ${file}`);
      }
    }
  });

  it('given a good file and a registry, then the plan pushes there', () => {
    const plan = runlog(['plan', 'good.yml', '--json', '--registry', '127.0.0.1:5000', '--repo', 'acme/web', '--commit', 'abc1234'], dir);
    assert.equal(plan.code, 0, plan.stderr);
    const build = JSON.parse(plan.stdout).stages[0].steps.find((s: { name: string }) => s.name === 'build');
    assert.deepEqual(build.build, { context: '.', dockerfile: 'Dockerfile', repo: '127.0.0.1:5000/acme/web', tags: ['abc1234', 'latest'], push: true });
  });
});

/**
 * `runlog exec` runs a caicloud.yml on Docker, from a git repository (the clone step clones
 * it): pre_build's output goes into the image, the image is pushed to `--registry` (a real
 * registry on loopback) as <registry>/<owner>/<name>, and post_build sees the source. A
 * .drone.yml's `runlog/build` step builds and pushes the same way, without plugins/docker.
 */
describe('runlog exec builds and pushes images from caicloud.yml and .drone.yml', { timeout: 120_000 }, async () => {
  const available = await testDocker();
  let dir: string;
  let repo: string;
  let registry: LoopbackRegistry;
  let commit: string;
  const images: string[] = [];

  before(async () => {
    if (available.skip) return;
    dir = await mkdtemp(join(tmpdir(), 'runlog-caicloud-exec-'));
    registry = await startRegistry(dir);
    repo = join(dir, 'repo');
    await mkdir(join(repo, 'image'), { recursive: true });
    await mkdir(join(repo, 'drone'), { recursive: true });
    await writeFile(join(repo, 'drone', 'Dockerfile'), `FROM ${TEST_IMAGE}\nCOPY hello.txt /hello.txt\n`);
    await writeFile(join(repo, 'drone', 'hello.txt'), 'hello\n');
    await writeFile(
      join(repo, '.drone.yml'),
      `kind: pipeline
type: docker
name: default
steps:
- name: publish
  image: runlog/build
  settings:
    repo: ${registry.host}/acme/drone
    context: drone
    tags: [v1, latest]
`,
    );
    await writeFile(join(repo, 'image', 'Dockerfile'), `FROM ${TEST_IMAGE}\nCOPY note.txt /note.txt\n`);
    await writeFile(
      join(repo, 'caicloud.yml'),
      `pre_build:
  image: ${TEST_IMAGE}
  environment:
    - WHO = runlog exec
  commands:
    - echo "built by $WHO" > note.txt
  outputs:
    - note.txt
build:
  context_dir: image
post_build:
  image: ${TEST_IMAGE}
  commands:
    - cat image/note.txt
`,
    );
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: repo, encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    git('add', '.');
    git('commit', '-qm', 'caicloud');
    commit = git('rev-parse', 'HEAD');
  });
  after(async () => {
    registry?.stop();
    for (const image of images) await available.docker?.getImage(image).remove({ force: true }).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('given --registry, when the file runs, then the image with pre_build\'s output is pushed there and post_build ran', { skip: available.skip }, async () => {
    const name = `${registry.host}/acme/exec`;
    images.push(`${name}:${commit}`, `${name}:latest`);
    const result = await runlogAsync(['exec', 'caicloud.yml', '--registry', registry.host, '--repo', 'acme/exec'], { cwd: repo, env: { DOCKER_HOST: `unix://${dockerSocket}` } });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const pushed = new RegExp(`pushed ${name.replace(/\./g, '\\.')}@(sha256:[0-9a-f]{64})`).exec(result.stdout);
    assert.ok(pushed, result.stdout);
    assert.match(result.stdout, /^\[post_build *\] built by runlog exec$/m, 'post_build sees the source, with pre_build\'s output in the context');

    // the registry serves the commit's tag, as the digest exec printed
    const manifest = await fetch(`http://${registry.host}/v2/acme/exec/manifests/${commit}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(manifest.status, 200);
    assert.equal(manifest.headers.get('docker-content-digest'), pushed[1]);
  });

  it('given a .drone.yml with a runlog/build step, when it runs, then the image is pushed to the repo its settings name', { skip: available.skip }, async () => {
    const name = `${registry.host}/acme/drone`;
    images.push(`${name}:v1`, `${name}:latest`);
    const result = await runlogAsync(['exec', '.drone.yml'], { cwd: repo, env: { DOCKER_HOST: `unix://${dockerSocket}` } });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const pushed = new RegExp(`pushed ${name.replace(/\./g, '\\.')}@(sha256:[0-9a-f]{64})`).exec(result.stdout);
    assert.ok(pushed, result.stdout);
    for (const tag of ['v1', 'latest']) {
      const manifest = await fetch(`http://${registry.host}/v2/acme/drone/manifests/${tag}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
      assert.equal(manifest.status, 200, tag);
      assert.equal(manifest.headers.get('docker-content-digest'), pushed[1], tag);
    }
  });
});
