import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { adminHeaders, execPipeline, startApiServer, type ApiServer } from '../support/api-server.ts';

const TOKEN = 'badges-admin-token';
const admin = adminHeaders(TOKEN);

describe('badges (status.svg and cc.xml) over real HTTP, Postgres', () => {
  let server: ApiServer;

  before(async () => {
    server = await startApiServer({ postgres: 'runlog_badges', adminToken: TOKEN, publicHost: 'ci.example.test' });
  });
  after(() => server?.close());

  async function call(method: string, path: string, body?: unknown) {
    const response = await fetch(`${server.url}${path}`, { method, headers: admin, body: body === undefined ? undefined : JSON.stringify(body) });
    assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
    return response.json();
  }
  async function settled(slug: string, number: number) {
    for (let i = 0; i < 300; i++) {
      const build = await call('GET', `/api/repos/${slug}/builds/${number}`);
      if (!['pending', 'running'].includes(build.status)) return build;
      await sleep(100);
    }
    throw new Error(`build ${number} did not end`);
  }
  const badge = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}/api/badges/${path}`, { headers });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/svg+xml');
    assert.match(response.headers.get('cache-control') ?? '', /no-cache/);
    const svg = await response.text();
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    return /aria-label="build: (\w+)"/.exec(svg)?.[1];
  };
  const cc = async (path: string) => {
    const response = await fetch(`${server.url}/api/badges/${path}`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/xml/);
    const xml = await response.text();
    return Object.fromEntries([...xml.matchAll(/(\w+)="([^"]*)"/g)].filter(([, key]) => key !== 'version' && key !== 'encoding').map(([, key, value]) => [key, value]));
  };

  test('given builds ending each way, when the badge of their branch is asked, then it has Drone\'s word for it', async () => {
    await call('POST', '/api/repos/acme/web', { visibility: 'public', default_branch: 'main' });
    assert.equal(await badge('acme/web/status.svg'), 'none', 'no build yet');
    assert.deepEqual(await cc('acme/web/cc.xml'), { name: 'acme/web', activity: 'Sleeping', lastBuildStatus: 'Unknown', lastBuildLabel: '', lastBuildTime: '', webUrl: 'http://ci.example.test/acme/web' });

    const passing = await call('POST', '/api/repos/acme/web/builds?branch=main', { config: execPipeline('echo ok') });
    assert.equal((await settled('acme/web', passing.number)).status, 'success');
    assert.equal(await badge('acme/web/status.svg'), 'passing');
    const ccPassing = await cc('acme/web/cc.xml');
    assert.equal(ccPassing.lastBuildStatus, 'Success');
    assert.equal(ccPassing.lastBuildLabel, String(passing.number));
    assert.match(ccPassing.lastBuildTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const failing = await call('POST', '/api/repos/acme/web/builds?branch=fix', { config: execPipeline('exit 1') });
    assert.equal((await settled('acme/web', failing.number)).status, 'failure');
    assert.equal(await badge('acme/web/status.svg?branch=fix'), 'failing');
    assert.equal((await cc('acme/web/cc.xml?branch=fix')).lastBuildStatus, 'Failure');
    assert.equal(await badge('acme/web/status.svg'), 'passing', 'the default branch is unchanged');

    const broken = await call('POST', '/api/repos/acme/web/builds?branch=broken', { config: 'kind: pipeline\nsteps: {' });
    assert.equal(broken.status, 'error');
    assert.equal(await badge('acme/web/status.svg?ref=refs/heads/broken'), 'error');
    assert.equal((await cc('acme/web/cc.xml?branch=broken')).lastBuildStatus, 'Exception');

    const slow = await call('POST', '/api/repos/acme/web/builds?branch=slow', { config: execPipeline('sleep 30') });
    assert.equal(await badge('acme/web/status.svg?branch=slow'), 'started');
    assert.equal((await cc('acme/web/cc.xml?branch=slow')).activity, 'Building');
    await call('DELETE', `/api/repos/acme/web/builds/${slow.number}`);
    assert.equal((await settled('acme/web', slow.number)).status, 'killed');
    assert.equal(await badge('acme/web/status.svg?branch=slow'), 'failing', 'killed counts as failing, as in Drone');
  });

  test('given a private repo, when its badge is asked without a token, then it is none; with one, its status', async () => {
    await call('POST', '/api/repos/acme/private', { visibility: 'private', default_branch: 'main' });
    const build = await call('POST', '/api/repos/acme/private/builds?branch=main', { config: execPipeline('echo ok') });
    await settled('acme/private', build.number);
    assert.equal(await badge('acme/private/status.svg'), 'none');
    assert.equal(await badge(`acme/private/status.svg?access_token=${TOKEN}`), 'passing');
    assert.equal((await fetch(`${server.url}/api/badges/acme/private/cc.xml`)).status, 404);
    assert.equal(await badge('nobody/nothing/status.svg'), 'none');
    const bad = await fetch(`${server.url}/api/badges/acme/web%20x/status.svg`);
    assert.equal(bad.status, 400);
    assert.ok((await bad.json()).message);
  });
});
