import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Database } from '../../src/events/database.ts';
import { RepoSettings } from '../../src/events/repo-events.ts';
import { parseSecretKey, newSecretKeyText } from '../../src/secrets/sealed-value.ts';
import { createBuild } from '../../src/server/create-build.ts';
import { startApiServer, type ApiServer } from '../support/api-server.ts';

const TOKEN = 'secrets-test-admin-token';
const VALUE = 'hunter2-Zq8v-clear-value';
const PR_VALUE = 'pr-allowed-9f3k-clear';
// Exit codes carry what the step saw (its log masks the values): A must be set for a push
// and empty for a fork's pull request; B (pull_request allowed) is set for both.
const onlyB = `kind: pipeline
type: exec
name: default
clone:
  disable: true
steps:
- name: look
  environment:
    B: { from_secret: pr_token }
  commands:
  - test -n "$B"
`;
const pipeline = (expectA: 'set' | 'empty') => `kind: pipeline
type: exec
name: default
clone:
  disable: true
steps:
- name: look
  environment:
    A: { from_secret: deploy_key }
    B: { from_secret: pr_token }
  commands:
  - echo "A=$A B=$B"
  - test ${expectA === 'set' ? '-n' : '-z'} "$A"
  - test -n "$B"
`;

describe('secrets: sealed at rest, write-only in the API, withheld from fork pull requests (startServer, exec engine, Postgres)', () => {
  let database: Database;
  let server: ApiServer;
  const logs: string[] = [];
  const answers: string[] = [];

  before(async () => {
    server = await startApiServer({ postgres: 'runlog_secrets', adminToken: TOKEN, secretKey: parseSecretKey(newSecretKeyText()), log: (message) => logs.push(message) });
    database = server.database;
  });
  after(async () => {
    await server?.close();
  });

  async function call(method: string, path: string, body?: unknown, token: string | null = TOKEN) {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    answers.push(text);
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  }
  async function settled(number: number) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { json } = await call('GET', `/api/repos/acme/app/builds/${number}`);
      if (!['pending', 'running'].includes(json.status)) return json;
      if (Date.now() > deadline) throw new Error(`build ${number} still ${json.status} after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  test('the secret routes: happy paths, then 400, 401, 403, 404 and 409 with messages; no answer holds a value', async () => {
    assert.equal((await call('POST', '/api/repos/acme/app', { visibility: 'private' })).status, 200);
    const created = await call('POST', '/api/repos/acme/app/secrets', { name: 'deploy_key', data: VALUE });
    assert.equal(created.status, 200);
    assert.deepEqual([created.json.name, created.json.pull_request, 'data' in created.json], ['deploy_key', false, false]);
    assert.equal((await call('POST', '/api/repos/acme/app/secrets', { name: 'pr_token', data: 'first', pull_request: true })).status, 200);
    const patched = await call('PATCH', '/api/repos/acme/app/secrets/pr_token', { data: PR_VALUE });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.pull_request, true);
    const list = await call('GET', '/api/repos/acme/app/secrets');
    assert.deepEqual(list.json.map((s: { name: string }) => s.name), ['deploy_key', 'pr_token']);
    assert.equal((await call('GET', '/api/repos/acme/app/secrets/deploy_key')).json.name, 'deploy_key');
    assert.equal((await call('POST', '/api/repos/acme/app/secrets', { name: 'gone', data: 'x' })).status, 200);
    assert.equal((await call('DELETE', '/api/repos/acme/app/secrets/gone')).status, 204);

    const bad = await call('POST', '/api/repos/acme/app/secrets', { name: 'has space', data: 'x' });
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /name/);
    assert.match((await call('POST', '/api/repos/acme/app/secrets', { name: 'empty', data: '' })).json.message, /data: must not be empty/);
    assert.match((await call('POST', '/api/repos/acme/app/secrets', { name: 'deploy_key', data: 'again' })).json.message, /already exists/);
    assert.equal((await call('GET', '/api/repos/acme/app/secrets/nope')).status, 404);
    assert.equal((await call('DELETE', '/api/repos/acme/app/secrets/nope')).status, 404);
    assert.equal((await call('GET', '/api/repos/acme/app/secrets', undefined, null)).status, 401);
    assert.equal((await call('GET', '/api/repos/acme/other/secrets')).status, 404);

    const user = await call('POST', '/api/users', { login: 'dev' });
    assert.equal((await call('PUT', '/api/repos/acme/app/permissions/dev', { permission: 'write' })).status, 200);
    const forbidden = await call('GET', '/api/repos/acme/app/secrets', undefined, user.json.token);
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.json.message, /needs admin permission/);
  });

  test('a push build gets every secret; a fork pull request gets only the pull_request one', async () => {
    const push = await call('POST', '/api/repos/acme/app/builds', { config: pipeline('set') });
    assert.equal(push.status, 200);
    const { json: repo } = await call('GET', '/api/repos/acme/app');
    const fork = (text: string) =>
      createBuild(database, {
        repo: { id: repo.id, owner: 'acme', name: 'app', settings: RepoSettings.parse({}) },
        trigger: { event: 'pull_request', action: 'opened', ref: 'refs/pull/7/head', branch: 'main', commit: 'a'.repeat(40), pullRequest: 7, fork: 'mallory/app', sender: 'mallory' },
        config: { path: '.drone.yml', text },
        createdBy: 'test',
        system: { host: 'x', proto: 'http', version: 'test' },
        at: new Date(),
      });
    const withheld = await fork(pipeline('empty'));
    const allowed = await fork(onlyB);
    assert.equal((await settled(push.json.number)).status, 'success');
    // The runner refuses a step whose from_secret the build was not given: the fork never saw deploy_key.
    const refused = await settled(withheld.number);
    assert.equal(refused.status, 'error');
    assert.match(refused.stages[0].steps[0].error, /secret 'deploy_key' \(for A\) is not defined for this build/);
    assert.equal((await settled(allowed.number)).status, 'success', 'the pull_request secret reaches the fork');
    const log = await call('GET', `/api/repos/acme/app/builds/${push.json.number}/logs/1/1`);
    const text = log.json.map((line: { out: string }) => line.out).join('');
    assert.match(text, /A=\*+ B=\*+/, 'the values are masked in the log');
  });

  test('no clear value in any event, view row, API answer or log line', async () => {
    const events = JSON.stringify(await database.query(sql`select type, data, metadata from events`));
    const views = JSON.stringify(await database.query(sql`select * from secrets`));
    const chunks = JSON.stringify(await database.query(sql`select data from log_chunks`));
    for (const value of [VALUE, PR_VALUE]) {
      assert.ok(!events.includes(value), 'events');
      assert.ok(!views.includes(value), 'views');
      assert.ok(!chunks.includes(value), 'log chunks');
      assert.ok(!answers.some((answer) => answer.includes(value)), 'answers');
      assert.ok(!logs.some((line) => line.includes(value)), 'server log');
    }
    assert.match(events, /SecretCreated/);
    assert.match(views, /v1\./);
  });
});
