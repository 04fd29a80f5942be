import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createApp, type App } from '../../src/api/app.ts';
import { openPostgres, type Database } from '../../src/events/database.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { projections } from '../../src/projections/index.ts';
import { startProjector } from '../../src/projections/projector.ts';
import { startGitServer, type GitServer } from '../support/git-server.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';

const pipeline = (name: string) => `kind: pipeline
type: exec
name: ${name}
clone:
  disable: true
steps:
- name: hello
  commands: [echo ${name}]
`;
const TOKEN = 'short-sha-admin-token';
const SHORT = 'abc1234';
const FULL = `${SHORT}${'d'.repeat(33)}`;
const UNKNOWN = 'fedcba9';
const DOWN = '0000000';

describe('manual builds resolve an abbreviated commit= to the full sha (Postgres, fake GitHub/Gitea/GitLab, loopback git)', () => {
  let git: GitServer;
  let first: string;
  let forge: Server;
  const forgeSeen: string[] = [];
  let url: string;
  let database: Database;
  let app: App;
  const stop = new AbortController();
  let projectorDone: Promise<void>;
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const call = (method: string, path: string, body?: unknown) => app.request(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

  // Each forge's commit endpoint and the field it names the full sha in.
  const commitPaths = {
    hub: { commit: (ref: string) => `/repos/acme/hub/commits/${ref}`, answer: { sha: FULL }, unknown: 422 },
    tea: { commit: (ref: string) => `/repos/acme/tea/git/commits/${ref}`, answer: { sha: FULL }, unknown: 404 },
    lab: { commit: (ref: string) => `/projects/acme%2Flab/repository/commits/${ref}`, answer: { id: FULL }, unknown: 404 },
  };
  const configPaths = [
    `/repos/acme/hub/contents/.drone.yml?ref=${FULL}`,
    `/repos/acme/tea/raw/.drone.yml?ref=${FULL}`,
    `/projects/acme%2Flab/repository/files/.drone.yml/raw?ref=${FULL}`,
  ];

  before(async () => {
    git = await startGitServer();
    first = git.commit({ '.drone.yml': pipeline('first') }, 'first');
    git.commit({ '.drone.yml': pipeline('second') }, 'second');
    forge = createServer((request, response) => {
      const path = request.url ?? '';
      forgeSeen.push(path);
      for (const forgeKind of Object.values(commitPaths)) {
        if (path === forgeKind.commit(SHORT)) return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(forgeKind.answer));
        if (path === forgeKind.commit(DOWN)) return response.writeHead(503).end('maintenance');
        if (path === forgeKind.commit(UNKNOWN)) return response.writeHead(forgeKind.unknown).end('{"message":"No commit found"}');
      }
      if (configPaths.includes(path)) return response.writeHead(200).end(pipeline('at-full-sha'));
      response.writeHead(404).end('{"message":"Not Found"}');
    });
    await new Promise<void>((resolve) => forge.listen(0, '127.0.0.1', resolve));
    const forgeUrl = `http://127.0.0.1:${(forge.address() as AddressInfo).port}`;
    url = await freshDatabaseUrl('runlog_short_sha');
    database = await openPostgres(url);
    const store = createEventStore(database);
    const projector = startProjector({ database, store, projections, signal: stop.signal });
    projectorDone = projector.done;
    app = createApp({
      database,
      store,
      adminToken: TOKEN,
      system: { host: 'ci.example.test', proto: 'https', version: 'test' },
      waitForProjections: (checkpoint) => (checkpoint ? projector.waitFor(checkpoint) : Promise.resolve()),
      log: () => {},
    });
    for (const [slug, body] of [
      ['acme/hub', { forge: 'github', forge_url: forgeUrl, forge_token: 'hub-token' }],
      ['acme/tea', { forge: 'gitea', forge_url: forgeUrl, forge_token: 'tea-token' }],
      ['acme/lab', { forge: 'gitlab', forge_url: forgeUrl, forge_token: 'lab-token' }],
      ['acme/gitrepo', { clone_url: git.url }],
    ] as const) {
      const response = await call('POST', `/api/repos/${slug}`, body);
      assert.equal(response.status, 200, await response.clone().text());
    }
  });
  after(async () => {
    stop.abort();
    await projectorDone;
    await database.close();
    await dropDatabase(url);
    await new Promise((resolve) => forge.close(resolve));
    await git.close();
  });

  for (const name of ['hub', 'tea', 'lab'] as const) {
    test(`given acme/${name} on its forge, when a build is created with a 7-character commit=, then the build names the full sha and its config is read at it`, async () => {
      forgeSeen.length = 0;
      // Upper case as well: hex is case-free, the build names the commit in lower case.
      const response = await call('POST', `/api/repos/acme/${name}/builds?branch=main&commit=${SHORT.toUpperCase()}`);
      assert.equal(response.status, 200, await response.clone().text());
      const build = (await response.json()) as { after: string; stages: { name: string }[] };
      assert.equal(build.after, FULL);
      assert.deepEqual(build.stages.map((stage) => stage.name), ['at-full-sha']);
      assert.equal(forgeSeen[0], commitPaths[name].commit(SHORT));
      const read = await call('GET', `/api/repos/acme/${name}/builds`);
      const [listed] = (await read.json()) as { after: string }[];
      assert.equal(listed!.after, FULL);
    });

    test(`given acme/${name}, then an unknown short sha is a 400 naming it and a forge that fails is a 502`, async () => {
      const unknown = await call('POST', `/api/repos/acme/${name}/builds?commit=${UNKNOWN}`);
      assert.equal(unknown.status, 400);
      assert.match((await unknown.json()).message, new RegExp(`commit: acme/${name} has no commit '${UNKNOWN}'`));
      const down = await call('POST', `/api/repos/acme/${name}/builds?commit=${DOWN}`);
      assert.equal(down.status, 502);
      assert.match((await down.json()).message, new RegExp(`could not resolve commit ${DOWN}.*the forge answered 503`));
    });
  }

  test('given a full sha, then the forge is not asked to resolve it', async () => {
    forgeSeen.length = 0;
    const response = await call('POST', `/api/repos/acme/hub/builds?commit=${FULL}`);
    assert.equal(response.status, 200, await response.clone().text());
    // (Its config was read at this sha above and is cached, so the forge may see no request at all.)
    assert.deepEqual(forgeSeen.filter((path) => path.startsWith('/repos/acme/hub/commits/')), []);
  });

  test('given a git-only repo, when a build is created with a short sha of an older commit, then git names it in full and reads its config', async () => {
    const response = await call('POST', `/api/repos/acme/gitrepo/builds?branch=main&commit=${first.slice(0, 8)}`);
    assert.equal(response.status, 200, await response.clone().text());
    const build = (await response.json()) as { after: string; stages: { name: string }[] };
    assert.equal(build.after, first);
    assert.deepEqual(build.stages.map((stage) => stage.name), ['first']);
  });

  test('given a git-only repo, then a short sha not on the branch is a 400 naming it', async () => {
    const response = await call('POST', `/api/repos/acme/gitrepo/builds?branch=main&commit=${UNKNOWN}`);
    assert.equal(response.status, 400);
    assert.match((await response.json()).message, new RegExp(`commit: no commit '${UNKNOWN}'`));
  });

  test('given a commit= that is not hex, then it is refused with 400 before any forge is asked', async () => {
    forgeSeen.length = 0;
    for (const bad of ['main', 'abc12', 'g'.repeat(40), 'abc1234 ', 'a'.repeat(65)]) {
      const response = await call('POST', `/api/repos/acme/hub/builds?commit=${encodeURIComponent(bad)}`);
      assert.equal(response.status, 400, bad);
      assert.match((await response.json()).message, /commit: expected a hexadecimal commit sha/);
    }
    assert.deepEqual(forgeSeen, []);
  });
});
