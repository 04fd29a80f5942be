import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createConfigSource } from '../../src/forge/config-source.ts';
import type { ForgeAccess } from '../../src/forge/forge-api.ts';
import { run as buildCommand } from '../../src/cli/build.ts';
import { listen } from '../../src/server/listen.ts';
import { startGitServer, type GitServer } from '../support/git-server.ts';
import { adminHeaders, startApiApp, type ApiApp } from '../support/api-server.ts';

const pipeline = (name: string) => `kind: pipeline
type: exec
name: ${name}
clone:
  disable: true
steps:
- name: hello
  commands: [echo ${name}]
`;
const BROKEN = 'kind: pipeline\nname: broken\nsteps:\n  - name: a\n    commands: [echo\n';
const TOKEN = 'config-admin-token';
const FORGE_TOKEN = 'ghp-fake-forge-token';
const HUB_HEAD = 'a'.repeat(40);
const HUB_OTHER = 'b'.repeat(40);

describe('config source through git (git http-backend on loopback)', () => {
  let server: GitServer;
  let first: string;
  let second: string;
  let third: string;
  const access = (): ForgeAccess => ({ forge: 'git', apiUrl: '', token: '', slug: 'acme/gitrepo', cloneUrl: server.url });
  const request = (commit: string, path = '.drone.yml') => ({ access: access(), path, commit, ref: 'refs/heads/main' });

  before(async () => {
    server = await startGitServer();
    first = server.commit({ '.drone.yml': pipeline('first') }, 'first');
    second = server.commit({ '.drone.yml': pipeline('second') }, 'second');
    third = server.commit({ '.drone.yml': null, 'README.md': 'no config here' }, 'third');
  });
  after(() => server.close());

  test('given two commits changing .drone.yml, when the first sha is read after the second was pushed, then its own text comes back', async () => {
    const source = createConfigSource();
    const old = await source(request(first));
    assert.deepEqual(old, { ok: true, text: pipeline('first'), commit: first });
    const newer = await source(request(second));
    assert.equal(newer.ok && newer.text, pipeline('second'));
  });

  test('given a commit read once, when it is read again, then the server sees no request (cached by sha); a branch read is not cached', async () => {
    const source = createConfigSource();
    assert.ok((await source(request(first))).ok);
    const served = server.requests.length;
    assert.ok(served > 0);
    const again = await source(request(first));
    assert.equal(again.ok && again.text, pipeline('first'));
    assert.equal(server.requests.length, served, 'the second read of a sha must not reach the server');
    const head = await source(request(''));
    assert.deepEqual(head, { ok: false, message: `.drone.yml: not found in ${server.url} at ${third}`, commit: third });
    assert.ok(server.requests.length > served, 'the branch tip is read anew');
  });

  test('given a commit without the file, then the answer names the file and the commit; an unknown host names the host', async () => {
    const missing = await createConfigSource()(request(third));
    assert.equal(missing.ok, false);
    assert.match(!missing.ok ? missing.message : '', new RegExp(`^\\.drone\\.yml: not found in .* at ${third}$`));
    const other = await createConfigSource()(request(first, 'ci/pipeline.yml'));
    assert.match(!other.ok ? other.message : '', /^ci\/pipeline\.yml: not found/);
    const down = await createConfigSource()({ ...request(first), access: { ...access(), cloneUrl: 'http://user:s3cret@127.0.0.1:9/repo.git' } });
    assert.equal(down.ok, false);
    assert.match(!down.ok ? down.message : '', /\.drone\.yml: git could not fetch/);
    assert.doesNotMatch(!down.ok ? down.message : '', /s3cret/);
  });
});

describe('manual builds read their config at the commit (Postgres, loopback git and fake GitHub)', () => {
  let git: GitServer;
  let first: string;
  let second: string;
  let broken: string;
  let forge: Server;
  const forgeSeen: { path: string; authorization: string }[] = [];
  let api: ApiApp;
  const headers = adminHeaders(TOKEN);
  const call = (method: string, path: string, body?: unknown) => api.app.request(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

  before(async () => {
    git = await startGitServer();
    first = git.commit({ '.drone.yml': pipeline('first') }, 'first');
    second = git.commit({ '.drone.yml': pipeline('second') }, 'second');
    broken = git.commit({ '.drone.yml': BROKEN }, 'broken yaml', 'broken');
    git.commit({ '.drone.yml': null }, 'no config', 'bare');
    // A fake GitHub API: the branch head and the contents endpoint, only with the repo's token.
    forge = createServer((request, response) => {
      const path = request.url ?? '';
      forgeSeen.push({ path, authorization: String(request.headers.authorization) });
      if (request.headers.authorization !== `Bearer ${FORGE_TOKEN}`) return response.writeHead(401).end('{"message":"Bad credentials"}');
      if (path === '/repos/acme/hub/commits/main') return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sha: HUB_HEAD }));
      if (path === '/repos/acme/hub/commits/down') return response.writeHead(503).end('maintenance');
      if (path === `/repos/acme/hub/contents/.drone.yml?ref=${HUB_HEAD}`) return response.writeHead(200).end(pipeline('hub-head'));
      if (path === `/repos/acme/hub/contents/.drone.yml?ref=${HUB_OTHER}`) return response.writeHead(200).end(pipeline('hub-other'));
      response.writeHead(404).end('{"message":"Not Found"}');
    });
    await new Promise<void>((resolve) => forge.listen(0, '127.0.0.1', resolve));
    const forgeUrl = `http://127.0.0.1:${(forge.address() as AddressInfo).port}`;
    api = await startApiApp({ postgres: 'runlog_config_source', adminToken: TOKEN });
    for (const [slug, body] of [
      ['acme/gitrepo', { clone_url: git.url }],
      ['acme/hub', { forge: 'github', forge_url: forgeUrl, forge_token: FORGE_TOKEN }],
    ] as const) {
      const response = await call('POST', `/api/repos/${slug}`, body);
      assert.equal(response.status, 200, await response.clone().text());
    }
  });
  after(async () => {
    await api.close();
    await new Promise((resolve) => forge.close(resolve));
    await git.close();
  });

  async function created(path: string, body?: unknown) {
    const response = await call('POST', path, body);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as { number: number; status: string; error: string; after: string; target: string; stages: { name: string }[] };
  }

  test('given a git repo, when a build is created with commit= of an older commit and no config, then it runs that commit\'s .drone.yml', async () => {
    const build = await created(`/api/repos/acme/gitrepo/builds?commit=${first}`);
    assert.equal(build.after, first);
    assert.equal(build.status, 'pending');
    assert.deepEqual(build.stages.map((stage) => stage.name), ['first']);
  });

  test('given a git repo, when a build is created with only branch=, then it is pinned to the branch head and its config', async () => {
    const build = await created('/api/repos/acme/gitrepo/builds?branch=main');
    assert.equal(build.after, second);
    assert.equal(build.target, 'main');
    assert.deepEqual(build.stages.map((stage) => stage.name), ['second']);
  });

  test('given invalid YAML at the commit, then an error build whose message names the file, line and column', async () => {
    const build = await created(`/api/repos/acme/gitrepo/builds?branch=broken&commit=${broken}`);
    assert.equal(build.status, 'error');
    assert.match(build.error, /\.drone\.yml:\d+:\d+/);
  });

  test('given a branch whose head has no .drone.yml, then an error build naming the file; an unknown branch is a 400', async () => {
    const build = await created('/api/repos/acme/gitrepo/builds?branch=bare');
    assert.equal(build.status, 'error');
    assert.match(build.error, /^\.drone\.yml: not found in .* at [0-9a-f]{40}$/);
    const unknown = await call('POST', '/api/repos/acme/gitrepo/builds?branch=nope');
    assert.equal(unknown.status, 400);
    assert.match((await unknown.json()).message, /branch: no branch 'nope' in acme\/gitrepo/);
  });

  test('given a config in the body, then it overrides the one at the commit', async () => {
    const build = await created(`/api/repos/acme/gitrepo/builds?commit=${first}`, { config: pipeline('override') });
    assert.equal(build.after, first);
    assert.deepEqual(build.stages.map((stage) => stage.name), ['override']);
  });

  test('given a GitHub repo, when a build is created with only branch=, then the head comes from the commits API and the config from the contents API, with the repo token', async () => {
    forgeSeen.length = 0;
    const build = await created('/api/repos/acme/hub/builds?branch=main');
    assert.equal(build.after, HUB_HEAD);
    assert.deepEqual(build.stages.map((stage) => stage.name), ['hub-head']);
    assert.deepEqual(
      forgeSeen.map((seen) => seen.path),
      ['/repos/acme/hub/commits/main', `/repos/acme/hub/contents/.drone.yml?ref=${HUB_HEAD}`],
    );
    assert.ok(forgeSeen.every((seen) => seen.authorization === `Bearer ${FORGE_TOKEN}`));
    const pinned = await created(`/api/repos/acme/hub/builds?branch=main&commit=${HUB_OTHER}`);
    assert.deepEqual(pinned.stages.map((stage) => stage.name), ['hub-other']);
  });

  test('given a GitHub repo, then an unknown branch is a 400, a forge that fails is a 502 telling to give commit, a sha without config an error build', async () => {
    const unknown = await call('POST', '/api/repos/acme/hub/builds?branch=nope');
    assert.equal(unknown.status, 400);
    assert.match((await unknown.json()).message, /branch: acme\/hub has no branch 'nope'/);
    const down = await call('POST', '/api/repos/acme/hub/builds?branch=down');
    assert.equal(down.status, 502);
    assert.match((await down.json()).message, /the forge answered 503.*give commit=<sha>/);
    const missing = await created(`/api/repos/acme/hub/builds?commit=${'c'.repeat(40)}`);
    assert.equal(missing.status, 'error');
    assert.match(missing.error, /^\.drone\.yml: not found in acme\/hub at c{40}$/);
  });

  test('given `runlog build create` without --config, then the server reads the config at --commit', async () => {
    const listener = await listen(api.app.fetch, 0, '127.0.0.1');
    try {
      let printed = '';
      const stdout = new (await import('node:stream')).Writable({ write: (chunk, _encoding, done) => ((printed += String(chunk)), done()) });
      const env = { RUNLOG_SERVER: `http://127.0.0.1:${listener.port}`, RUNLOG_TOKEN: TOKEN };
      assert.equal(await buildCommand(['create', 'acme/gitrepo', '--commit', first, '--json'], { stdout, env }), 0, printed);
      const build = JSON.parse(printed);
      assert.equal(build.after, first);
      assert.deepEqual(build.stages.map((stage: { name: string }) => stage.name), ['first']);
    } finally {
      await listener.close();
    }
  });
});
