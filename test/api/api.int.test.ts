import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { adminHeaders, startApiApp, type ApiApp } from '../support/api-server.ts';

const TOKEN = 'test-admin-token';
const auth = adminHeaders(TOKEN);
const PIPELINE = `kind: pipeline
type: docker
name: default
steps:
- name: test
  image: golang:1.22
  commands: [go test ./...]
`;

describe('API (Hono app over PGlite, no socket)', () => {
  let api: ApiApp;

  before(async () => {
    api = await startApiApp({ adminToken: TOKEN });
  });
  after(() => api.close());

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) =>
    api.app.request(path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });

  test('given no repo, when one is activated, then it reads back with Drone field names', async () => {
    const created = await call('POST', '/api/repos/acme/web', { clone_url: 'https://git.example.test/acme/web.git', default_branch: 'main', timeout: 30, trusted: true });
    assert.equal(created.status, 200);
    const repo = await created.json();
    assert.equal(repo.slug, 'acme/web');
    assert.equal(repo.git_http_url, 'https://git.example.test/acme/web.git');
    assert.equal(repo.timeout, 30);
    assert.equal(repo.trusted, true);
    assert.equal(repo.active, true);
    const read = await (await call('GET', '/api/repos/acme/web')).json();
    assert.deepEqual(read, repo);
  });

  test('given an active repo, when one setting is patched, then the others stay as they were', async () => {
    const patched = await call('PATCH', '/api/repos/acme/web', { timeout: 45 });
    assert.equal(patched.status, 200);
    const repo = await patched.json();
    assert.equal(repo.timeout, 45);
    assert.equal(repo.trusted, true);
    assert.equal(repo.git_http_url, 'https://git.example.test/acme/web.git');
  });

  test('given an active repo, when it is activated again, then 409 says to PATCH', async () => {
    const again = await call('POST', '/api/repos/acme/web', {});
    assert.equal(again.status, 409);
    assert.match((await again.json()).message, /PATCH/);
  });

  test('given a repo, when a build is created with a config, then it has number 1, its stage and steps, and its events', async () => {
    const response = await call('POST', '/api/repos/acme/web/builds?branch=main&commit=0123456789abcdef0123456789abcdef01234567&DEPLOY=yes', { config: PIPELINE });
    assert.equal(response.status, 200, await response.clone().text());
    const build = await response.json();
    assert.equal(build.number, 1);
    assert.equal(build.status, 'pending');
    assert.equal(build.event, 'custom');
    assert.equal(build.after, '0123456789abcdef0123456789abcdef01234567');
    assert.deepEqual(build.params, { DEPLOY: 'yes' });
    assert.equal(build.stages.length, 1);
    assert.equal(build.stages[0].name, 'default');
    assert.deepEqual(
      build.stages[0].steps.map((step: { name: string }) => step.name),
      ['clone', 'test'],
    );
    const events = await (await call('GET', '/api/repos/acme/web/builds/1/events')).json();
    assert.deepEqual(
      events.map((event: { type: string }) => event.type),
      ['BuildCreated', 'StageQueued'],
    );
    assert.equal(events[0].version, 1);
    assert.equal(events[1].prev_hash, events[0].hash);
    const second = await (await call('POST', '/api/repos/acme/web/builds?branch=dev', { config: PIPELINE })).json();
    assert.equal(second.number, 2);
    const list = await (await call('GET', '/api/repos/acme/web/builds?branch=dev')).json();
    assert.deepEqual(
      list.map((b: { number: number }) => b.number),
      [2],
    );
  });

  test('given a config with an error, when a build is created, then it ends in error naming line and column', async () => {
    const build = await (await call('POST', '/api/repos/acme/web/builds', { config: 'kind: pipeline\nsteps:\n- name: a\n  image: 12\n  commands: {' })).json();
    assert.equal(build.status, 'error');
    assert.match(build.error, /\.drone\.yml:\d+:\d+/);
  });

  test('given a running build, when it is cancelled, then it is killed', async () => {
    const build = await (await call('POST', '/api/repos/acme/web/builds', { config: PIPELINE })).json();
    const cancelled = await call('DELETE', `/api/repos/acme/web/builds/${build.number}`);
    assert.equal(cancelled.status, 200);
    assert.equal((await cancelled.json()).status, 'killed');
    const again = await call('POST', `/api/repos/acme/web/builds/${build.number}/approve`);
    assert.equal(again.status, 409);
  });

  test('bad bodies get 400 naming the field', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/api/repos/acme/api', { timeout: 'long' }, /timeout/],
      ['POST', '/api/repos/acme/api', { clone_url: 'not a url' }, /clone_url/],
      ['POST', '/api/repos/acme/api', { colour: 'red' }, /colour|unrecognized/i],
      ['POST', '/api/repos/acme/api', '{not json', /JSON/],
      ['POST', '/api/repos/acme/api', [1, 2], /body|expected object/i],
      ['POST', '/api/repos/acme/api', { config_path: '../../etc/passwd' }, /config_path/],
      ['PATCH', '/api/repos/acme/web', { trusted: 'yes' }, /trusted/],
      ['POST', '/api/repos/acme/web/builds', { config: 42 }, /config/],
      // (`{}` is no longer bad: the config is read at the commit — test/forge/config-source.int.test.ts.)
      ['POST', '/api/repos/acme/web/builds?commit=zzz', { config: PIPELINE }, /commit/],
      ['GET', '/api/repos/acme/web/builds?per_page=1000', undefined, /per_page/],
      ['GET', '/api/repos/acme/web/builds/abc', undefined, /number/],
      ['POST', '/api/repos/bad%20owner/web', {}, /owner/],
    ];
    for (const [method, path, body, field] of cases) {
      const response = await call(method, path, body);
      assert.equal(response.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
      assert.match((await response.json()).message, field, `${method} ${path}`);
    }
  });

  test('unknown repos, builds and routes get 404', async () => {
    assert.equal((await call('GET', '/api/repos/acme/nope')).status, 404);
    assert.equal((await call('GET', '/api/repos/acme/web/builds/999')).status, 404);
    assert.equal((await call('GET', '/api/repos/acme/web/builds/999/events')).status, 404);
    assert.equal((await call('DELETE', '/api/repos/acme/web/builds/999')).status, 404);
    assert.equal((await call('GET', '/api/nothing')).status, 404);
  });

  test('a wrong token is 401, no token may read public repos only, and writes need the token', async () => {
    assert.equal((await call('GET', '/api/repos/acme/web', undefined, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await call('GET', '/api/repos/acme/web', undefined, {})).status, 401);
    assert.equal((await call('POST', '/api/repos/acme/open', {}, { 'content-type': 'application/json' })).status, 401);
    await call('POST', '/api/repos/acme/open', { visibility: 'public' });
    assert.equal((await call('GET', '/api/repos/acme/open', undefined, {})).status, 200);
    assert.equal((await call('GET', '/api/repos/acme/open/builds', undefined, {})).status, 200);
  });

  test('property: no body, query or path ever gets a 500', async () => {
    const body = fc.oneof(
      fc.json(),
      fc.string(),
      fc.record({ clone_url: fc.string(), timeout: fc.oneof(fc.integer(), fc.string(), fc.double()), trusted: fc.anything(), visibility: fc.string() }, { requiredKeys: [] }),
      fc.record({ config: fc.oneof(fc.string(), fc.constantFrom(PIPELINE, 'kind: pipeline\nsteps: [', '---\n---\n')) }, { requiredKeys: [] }),
    );
    const segment = fc.oneof(fc.constantFrom('acme', 'web', '1', '-1', '0', '99999999999'), fc.stringMatching(/^[A-Za-z0-9._%-]{1,12}$/));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE'), segment, segment, fc.option(segment), body, fc.string({ maxLength: 30 }), async (method, owner, name, number, payload, query) => {
        const path = `/api/repos/${owner}/${name}${number === null ? '' : `/builds/${number}`}?${encodeURIComponent(query)}`;
        const response = await call(method, path, method === 'GET' ? undefined : payload);
        assert.ok(response.status < 500, `${method} ${path} ${JSON.stringify(payload)?.slice(0, 80)} -> ${response.status} ${await response.text()}`);
      }),
      { numRuns: 150 },
    );
  });

  test('healthz answers with the database kind', async () => {
    const response = await api.app.request('/healthz');
    assert.equal(response.status, 200);
    assert.equal((await response.json()).database, 'pglite');
  });
});
