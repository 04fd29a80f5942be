import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { openPostgres } from '../../src/events/database.ts';
import { RepoSettings } from '../../src/events/repo-events.ts';
import { repoIdFor } from '../../src/events/repo-decider.ts';
import { createBuild } from '../../src/server/create-build.ts';
import { startServer, type RunningServer } from '../../src/server/runtime.ts';
import { adminHeaders, execPipeline } from '../support/api-server.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';

const TOKEN = 'status-admin-token';
const GITHUB_TOKEN = 'ghp-status-token-0123';
const GITLAB_TOKEN = 'glpat-status-token-4567';
const GITEA_TOKEN = 'gitea-status-token-89ab';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const SHA2 = 'fedcba9876543210fedcba9876543210fedcba98';
const admin = adminHeaders(TOKEN);

type Posted = { path: string; answered: number; body: Record<string, string> };

/**
 * A fake GitHub and GitLab on loopback: takes statuses only at the forge's path with the
 * repo's token, answers 500 to the first status it is sent, and records every request.
 */
async function fakeForge(): Promise<{ server: Server; url: string; posted: Posted[] }> {
  const posted: Posted[] = [];
  const server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const path = request.url ?? '';
      const github = /^\/repos\/acme\/hub\/statuses\/[0-9a-f]{40}$/.test(path) && request.headers.authorization === `Bearer ${GITHUB_TOKEN}`;
      const gitlab = /^\/projects\/group%2Flab\/statuses\/[0-9a-f]{40}$/.test(path) && request.headers['private-token'] === GITLAB_TOKEN;
      const gitea = /^\/api\/v1\/repos\/org\/tea\/statuses\/[0-9a-f]{40}$/.test(path) && request.headers.authorization === `token ${GITEA_TOKEN}`;
      const json = request.headers['content-type'] === 'application/json' && request.method === 'POST';
      const answered = !(github || gitlab || gitea) || !json ? 401 : posted.length === 0 ? 500 : 201;
      posted.push({ path, answered, body: raw ? JSON.parse(raw) : {} });
      response.writeHead(answered, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, posted };
}

describe('commit statuses to the forge (Postgres, exec runner, fake forge on loopback)', () => {
  let server: RunningServer | undefined;
  let url: string;
  let forge: Awaited<ReturnType<typeof fakeForge>>;
  const logs: string[] = [];
  const start = async () =>
    (server = await startServer({
      database: await openPostgres(url),
      adminToken: TOKEN,
      port: 0,
      hostname: '127.0.0.1',
      embeddedRunner: { engine: 'exec', capacity: 1 },
      commitStatuses: { retryDelaysMs: [100, 200] },
      log: (message) => logs.push(message),
    }));
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server!.url}${path}`, { method, headers: admin, ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }) });
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
    return response.json();
  };
  const accepted = (repoPath: string, sha: string) => forge.posted.filter((p) => p.answered === 201 && p.path.endsWith(`${repoPath}/statuses/${sha}`));
  async function until(what: string, done: () => boolean) {
    for (let i = 0; i < 300 && !done(); i++) await sleep(100);
    assert.ok(done(), `timed out waiting for ${what}; forge saw ${JSON.stringify(forge.posted)}`);
  }

  before(async () => {
    forge = await fakeForge();
    url = await freshDatabaseUrl('runlog_commit_status');
    await start();
    await call('POST', '/api/repos/acme/hub', { forge: 'github', forge_url: forge.url, forge_token: GITHUB_TOKEN });
    await call('POST', '/api/repos/group/lab', { forge: 'gitlab', forge_url: forge.url, forge_token: GITLAB_TOKEN });
    await call('POST', '/api/repos/org/tea', { forge: 'gitea', forge_url: `${forge.url}/api/v1`, forge_token: GITEA_TOKEN });
    await call('POST', '/api/repos/acme/badtoken', { forge: 'github', forge_url: forge.url, forge_token: 'not-the-token' });
    // A forge without a token gets no statuses (and a git-only repo has no API to post them to).
    await call('POST', '/api/repos/acme/notoken', { forge: 'github', forge_url: forge.url });
  });
  after(async () => {
    await server?.close();
    forge?.server.close();
    if (url) await dropDatabase(url);
  });

  test('given a GitHub repo, when a build runs to success, then the forge gets pending, running, success in order with the build link; the refused first one again; the build is unaffected', async () => {
    const build = await call('POST', `/api/repos/acme/hub/builds?commit=${SHA}`, { config: execPipeline() });
    await until('the success status', () => accepted('/repos/acme/hub', SHA).some((p) => p.body.description === 'Build is passing'));
    const statuses = accepted('/repos/acme/hub', SHA).map((p) => p.body);
    assert.deepEqual(
      statuses.map((s) => [s.state, s.description]),
      [
        ['pending', 'Build is pending'],
        ['pending', 'Build is running'],
        ['success', 'Build is passing'],
      ],
    );
    for (const s of statuses) {
      assert.equal(s.target_url, `http://localhost:${server!.port}/acme/hub/${build.number}`);
      assert.equal(s.context, 'continuous-integration/runlog/custom');
    }
    // The forge's 500 cost a retry of the same status, a log line without the token, and nothing else.
    assert.equal(forge.posted[0]!.answered, 500);
    assert.deepEqual(forge.posted[1]!.body, forge.posted[0]!.body);
    assert.ok(logs.some((line) => line.includes('commit status not taken; trying again') && line.includes('500')), logs.join('\n'));
    assert.ok(!logs.some((line) => line.includes(GITHUB_TOKEN)));
    // The statuses follow the event log, the API its views: the success status can reach the
    // forge before the builds view has the build's end (it said running, once in three runs).
    let status = '';
    for (let i = 0; i < 100 && status !== 'success'; i++) {
      if (i > 0) await sleep(50);
      status = (await call('GET', `/api/repos/acme/hub/builds/${build.number}`)).status;
    }
    assert.equal(status, 'success');
  });

  test('given a GitLab repo, then its own path, token header and states: pending, running, success', async () => {
    await call('POST', `/api/repos/group/lab/builds?commit=${SHA}`, { config: execPipeline() });
    await until('the GitLab success', () => accepted('/projects/group%2Flab', SHA).some((p) => p.body.state === 'success'));
    const statuses = accepted('/projects/group%2Flab', SHA).map((p) => p.body);
    assert.deepEqual(statuses.map((s) => s.state), ['pending', 'running', 'success']);
    assert.ok(statuses.every((s) => s.name === 'continuous-integration/runlog/custom' && s.target_url.endsWith('/group/lab/1')));
  });

  test('given a Gitea repo, then /api/v1/repos/{o}/{n}/statuses/{sha} with its token header', async () => {
    await call('POST', `/api/repos/org/tea/builds?commit=${SHA}`, { config: execPipeline() });
    await until('the Gitea success', () => accepted('/api/v1/repos/org/tea', SHA).some((p) => p.body.state === 'success'));
    assert.deepEqual(accepted('/api/v1/repos/org/tea', SHA).map((p) => p.body.description), ['Build is pending', 'Build is running', 'Build is passing']);
  });

  test('given a token the forge refuses (401), then each status is tried once, logged and skipped; the build still succeeds', async () => {
    const build = await call('POST', `/api/repos/acme/badtoken/builds?commit=${SHA}`, { config: execPipeline() });
    const tried = () => forge.posted.filter((p) => p.path.includes('/acme/badtoken/'));
    await until('three refused statuses', () => tried().length >= 3);
    await sleep(500); // a retry would come after 100 ms
    assert.deepEqual(tried().map((p) => [p.answered, p.body.description]), [
      [401, 'Build is pending'],
      [401, 'Build is running'],
      [401, 'Build is passing'],
    ]);
    assert.ok(logs.some((line) => line.includes('commit status not taken; skipped') && line.includes('acme/badtoken') && line.includes('401')));
    assert.equal((await call('GET', `/api/repos/acme/badtoken/builds/${build.number}`)).status, 'success');
  });

  test('given a repo whose forge has no token, then nothing is posted for it', async () => {
    const build = await call('POST', `/api/repos/acme/notoken/builds?commit=${SHA}`, { config: execPipeline() });
    for (let i = 0; i < 100 && (await call('GET', `/api/repos/acme/notoken/builds/${build.number}`)).status !== 'success'; i++) await sleep(100);
    await sleep(300); // the follower is past the build's events by now
    assert.ok(!forge.posted.some((p) => p.path.includes('/acme/notoken/')));
  });

  test('given the server restarted, then builds made while it was down get their statuses and nothing older is posted again', async () => {
    await server!.close();
    server = undefined;
    const before = forge.posted.length;
    // While the server is down, a build is made straight in the log (its config is missing: it is created in error, one status).
    const database = await openPostgres(url);
    const repoId = repoIdFor('acme/hub');
    await createBuild(database, {
      repo: { id: repoId, owner: 'acme', name: 'hub', settings: RepoSettings.parse({}) },
      trigger: { event: 'custom', ref: 'refs/heads/main', branch: 'main', commit: SHA2, after: SHA2, sender: 'offline' },
      config: { path: '.drone.yml', text: '' },
      configError: '.drone.yml: not found',
      createdBy: 'offline',
      system: { host: 'x', proto: 'http', version: 'test' },
      at: new Date(),
    });
    await database.close();
    await start();
    await until('the offline build statuses', () => accepted('/repos/acme/hub', SHA2).some((p) => p.body.state === 'error'));
    await sleep(500);
    const after = forge.posted.slice(before);
    assert.deepEqual(
      after.map((p) => [p.path.slice(-40), p.body.state, p.body.description]),
      [[SHA2, 'error', 'Build errored']],
    );
  });

  test('given a server first starting with history (no stored place), then nothing old is posted, and the next build is', async () => {
    await server!.close();
    server = undefined;
    const database = await openPostgres(url);
    await database.query(sql`delete from checkpoints where name = 'forge:commit-statuses'`);
    await database.close();
    const before = forge.posted.length;
    await start();
    await sleep(1000);
    assert.equal(forge.posted.length, before, 'no status of the builds before this first start');
    const build = await call('POST', `/api/repos/acme/hub/builds?commit=${SHA}`, { config: execPipeline() });
    await until('the new build\'s success', () => forge.posted.slice(before).some((p) => p.body.state === 'success'));
    assert.ok(forge.posted.slice(before).every((p) => p.body.target_url?.endsWith(`/acme/hub/${build.number}`)));
  });
});
