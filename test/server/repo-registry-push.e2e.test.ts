import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type Docker from 'dockerode';
import { openPostgres } from '../../src/events/database.ts';
import { startServer, type RunningServer } from '../../src/server/runtime.ts';
import { dockerSocket, testDocker, TEST_IMAGE } from '../support/docker.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { startRegistry, type LoopbackRegistry } from '../support/registry.ts';

// The repo's `registry` setting on the server, for real: `runlog serve`'s parts (embedded
// docker runner) read a repo's caicloud.yml at its config_path from its git clone URL, build
// it and push the image to a registry on loopback (Debian's docker-registry) as
// <registry>/<owner>/<name>, which then serves it by digest.
const TOKEN = 'registry-push-admin-token';
const CAICLOUD = `build:
  context_dir: .
  dockerfile_name: Dockerfile
`;

describe('a repo registry setting pushes the server-built image there (Postgres, docker, docker-registry)', { timeout: 120_000 }, async () => {
  const available = await testDocker();
  let dir: string;
  let registry: LoopbackRegistry;
  let registryHost: string;
  let commit: string;
  let url: string;
  let server: RunningServer;
  let docker: Docker | undefined;
  const images: string[] = [];

  before(async () => {
    if (available.skip) return;
    docker = available.docker;
    dir = await mkdtemp(join(tmpdir(), 'runlog-registry-'));
    registry = await startRegistry(dir);
    registryHost = registry.host;
    const repo = join(dir, 'repo');
    await mkdir(repo);
    await writeFile(join(repo, 'Dockerfile'), `FROM ${TEST_IMAGE}\nCOPY hello.txt /hello.txt\n`);
    await writeFile(join(repo, 'hello.txt'), 'hello from the repo\n');
    await writeFile(join(repo, 'caicloud.yml'), CAICLOUD);
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: repo, encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    git('add', '.');
    git('commit', '-qm', 'image');
    commit = git('rev-parse', 'HEAD');

    process.env.DOCKER_HOST = `unix://${dockerSocket}`;
    url = await freshDatabaseUrl('runlog_registry');
    server = await startServer({
      database: await openPostgres(url),
      adminToken: TOKEN,
      port: 0,
      hostname: '127.0.0.1',
      embeddedRunner: { engine: 'docker', capacity: 1, name: `registry-${randomBytes(4).toString('hex')}` },
      log: () => {},
    });
  });
  after(async () => {
    await server?.close();
    registry?.stop();
    for (const image of images) await docker?.getImage(image).remove({ force: true }).catch(() => {});
    if (url) await dropDatabase(url);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('given registry host:port on the repo, when its caicloud.yml builds, then the image is pushed to <registry>/acme/hello and served by digest', { skip: available.skip }, async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: response.status, json: await response.json() };
    };
    const activated = await call('POST', '/api/repos/acme/hello', { clone_url: `file://${join(dir, 'repo')}`, config_path: 'caicloud.yml', registry: registryHost });
    assert.equal(activated.status, 200, JSON.stringify(activated.json));
    const repoName = `${registryHost}/acme/hello`;
    images.push(`${repoName}:${commit}`, `${repoName}:latest`);
    // no config in the body: the server reads caicloud.yml (the repo's config_path) from its git repository
    const created = await call('POST', `/api/repos/acme/hello/builds?branch=main&commit=${commit}`);
    assert.equal(created.status, 200, JSON.stringify(created.json));
    let build: { status: string; finished: number } = created.json;
    for (let i = 0; i < 600 && !build.finished; i++) {
      await sleep(100);
      build = (await call('GET', `/api/repos/acme/hello/builds/${created.json.number}`)).json;
    }
    const events = (await call('GET', `/api/repos/acme/hello/builds/${created.json.number}/events`)).json;
    const list = (Array.isArray(events) ? events : events.events) as Array<{ type: string; data: { repo?: string; digest?: string; tags?: string[] } }>;
    assert.equal(build.status, 'success', JSON.stringify(list.map((event) => [event.type, event.data])).slice(0, 3000));
    const published = list.find((event) => event.type === 'ImagePublished');
    assert.ok(published, 'ImagePublished recorded');
    assert.equal(published.data.repo, repoName);
    assert.match(published.data.digest!, /^sha256:[0-9a-f]{64}$/);
    const manifest = await fetch(`http://${registryHost}/v2/acme/hello/manifests/${published.data.digest}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(manifest.status, 200, 'the registry serves the pushed image by its digest');
  });
});
