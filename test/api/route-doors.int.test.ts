import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newSecretKeyText, parseSecretKey } from '../../src/secrets/sealed-value.ts';
import { adminHeaders, startApiApp, type ApiApp } from '../support/api-server.ts';

// Every route's door, route by route: who is refused with which status and which words.
// The table below names the door of each route the app has; a route added without a row
// fails the first test, so no route can land without its 401/403/404/400 answers being shown.
// (What lies behind each door — happy paths, bodies, paging — is in the route's own tests.)
const TOKEN = 'route-doors-admin-token';
const PIPELINE = 'kind: pipeline\ntype: docker\nname: default\nsteps:\n- name: test\n  image: busybox\n  commands: [true]\n';

/**
 * - `open`: anyone (what it shows may depend on the caller);
 * - `signed-in`: any token; `server-admin`: the admin token or an admin user;
 * - `read`/`write`/`admin`: that permission on the repository the path names;
 * - `activate`: admin on a repository that need not exist yet (POST /api/repos/{o}/{n});
 * - `grants`: admin on the repository; a server admin may grant on one not activated yet.
 */
type Door = 'open' | 'signed-in' | 'server-admin' | 'read' | 'write' | 'admin' | 'activate' | 'grants';

const DOORS: Record<string, Door> = {
  'GET /healthz': 'open',
  'GET /metrics': 'server-admin',
  'POST /hook': 'open', // signed by the forge instead: test/forge/hook.int.test.ts
  'POST /api/repos/:owner/:name/repair': 'admin',
  'GET /api/user/repos': 'open', // anonymous: the public repos
  'GET /api/repos': 'server-admin',
  'POST /api/repos/:owner/:name': 'activate',
  'GET /api/repos/:owner/:name': 'read',
  'PATCH /api/repos/:owner/:name': 'admin',
  'DELETE /api/repos/:owner/:name': 'admin',
  'GET /api/repos/:owner/:name/builds/latest': 'read',
  'GET /api/repos/:owner/:name/builds/:number/events': 'read',
  'GET /api/repos/:owner/:name/builds/:number': 'read',
  'GET /api/repos/:owner/:name/builds': 'read',
  'POST /api/repos/:owner/:name/builds': 'write',
  'GET /api/repos/:owner/:name/builds/:number/logs/:stage/:step': 'read',
  'DELETE /api/repos/:owner/:name/builds/:number': 'write',
  'POST /api/repos/:owner/:name/builds/:number/approve': 'admin',
  'POST /api/repos/:owner/:name/builds/:number/decline': 'admin',
  'POST /api/repos/:owner/:name/builds/:number/approve/:stage': 'admin',
  'POST /api/repos/:owner/:name/builds/:number/decline/:stage': 'admin',
  'GET /api/badges/:owner/:name/status.svg': 'open', // a private repo's badge says none: test/api/badges.int.test.ts
  'GET /api/badges/:owner/:name/cc.xml': 'open',
  'GET /api/stream': 'open', // anonymous: public repos' builds only (test/api/streams.int.test.ts)
  'GET /api/stream/:owner/:name/:number/:stage/:step': 'read',
  'POST /api/repos/:owner/:name/builds/:number': 'write',
  'POST /api/repos/:owner/:name/builds/:number/promote': 'write',
  'POST /api/repos/:owner/:name/builds/:number/rollback': 'write',
  'POST /api/repos/:owner/:name/builds/:number/restart': 'write',
  'GET /api/runners': 'server-admin',
  'DELETE /api/repos/:owner/:name/builds/:number/logs/:stage/:step': 'admin',
  'GET /api/queue': 'server-admin',
  'DELETE /api/queue': 'server-admin',
  'POST /api/queue': 'server-admin',
  'POST /api/queue/pause': 'server-admin',
  'POST /api/queue/resume': 'server-admin',
  'GET /api/user': 'signed-in',
  'POST /api/user/token': 'signed-in',
  'DELETE /api/user/token': 'signed-in',
  'GET /api/users': 'server-admin',
  'POST /api/users': 'server-admin',
  'GET /api/users/:login': 'server-admin',
  'PATCH /api/users/:login': 'server-admin',
  'DELETE /api/users/:login': 'server-admin',
  'POST /api/users/:login/token': 'server-admin',
  'DELETE /api/users/:login/token': 'server-admin',
  'GET /api/repos/:owner/:name/permissions': 'grants',
  'PUT /api/repos/:owner/:name/permissions/:login': 'grants',
  'DELETE /api/repos/:owner/:name/permissions/:login': 'grants',
  'GET /api/repos/:owner/:name/secrets': 'admin',
  'GET /api/repos/:owner/:name/secrets/:secret': 'admin',
  'POST /api/repos/:owner/:name/secrets': 'admin',
  'PATCH /api/repos/:owner/:name/secrets/:secret': 'admin',
  'DELETE /api/repos/:owner/:name/secrets/:secret': 'admin',
  'GET /api/repos/:owner/:name/cron': 'admin',
  'GET /api/repos/:owner/:name/cron/:cron': 'admin',
  'POST /api/repos/:owner/:name/cron': 'admin',
  'PATCH /api/repos/:owner/:name/cron/:cron': 'admin',
  'DELETE /api/repos/:owner/:name/cron/:cron': 'admin',
  'GET /openapi.json': 'open',
  'GET /docs': 'open',
  'GET /assets/:file': 'open',
  'GET /*': 'open', // the web page
};

const LEVELS = ['read', 'write', 'admin'] as const;
/** The permission a repo route needs; undefined for the routes that name no repo. */
const levelOf = (door: Door) => (door === 'grants' ? 'admin' : LEVELS.find((level) => level === door));
const VALUES: Record<string, string> = { owner: 'acme', name: 'private', number: '1', stage: '1', step: '1', cron: 'nightly', secret: 'token', login: 'writer', file: 'app.js' };

describe('every route\'s door: 401, 403, 404 and 400 with their messages (Hono app over PGlite)', () => {
  let api: ApiApp;
  const tokens: Record<string, string> = {};
  const routes: { method: string; path: string; door: Door }[] = [];

  before(async () => {
    api = await startApiApp({ adminToken: TOKEN, secretKey: parseSecretKey(newSecretKeyText()) });
    const admin = adminHeaders(TOKEN);
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await api.app.request(path, { method, headers: admin, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const text = await response.text();
      assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${text}`);
      return text === '' ? undefined : JSON.parse(text);
    };
    await call('POST', '/api/repos/acme/private', { visibility: 'private' });
    await call('POST', '/api/repos/acme/private/builds', { config: PIPELINE });
    await call('POST', '/api/repos/acme/private/cron', { name: 'nightly', expr: '@daily' });
    await call('POST', '/api/repos/acme/private/secrets', { name: 'token', data: 'not-shown-anywhere' });
    for (const [login, permission] of [['reader', 'read'], ['writer', 'write'], ['stranger', undefined]] as const) {
      tokens[login] = (await call('POST', '/api/users', { login })).token;
      if (permission) await call('PUT', `/api/repos/acme/private/permissions/${login}`, { permission });
    }
    const seen = new Set<string>();
    for (const route of api.app.routes) {
      const key = `${route.method} ${route.path}`;
      if (route.method === 'ALL' || seen.has(key)) continue;
      seen.add(key);
      routes.push({ method: route.method, path: route.path, door: DOORS[key]! });
    }
  });
  after(() => api.close());

  const pathOf = (path: string, values: Record<string, string> = {}) =>
    path.replace(/:([A-Za-z_]+)/g, (_all, param: string) => encodeURIComponent(values[param] ?? VALUES[param] ?? param)).replace(/\*$/, 'somewhere');

  /** The answer as a refusal: its status, and its JSON message (every refusal is JSON with one). */
  async function ask(method: string, path: string, token?: string) {
    const response = await api.app.request(path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
      await response.body?.cancel();
      return { status: response.status, message: '' };
    }
    const text = await response.text();
    if (response.status < 400) return { status: response.status, message: '' };
    let message: unknown;
    try {
      message = (JSON.parse(text) as { message?: unknown }).message;
    } catch {
      assert.fail(`${method} ${path}: the ${response.status} is not JSON: ${text.slice(0, 200)}`);
    }
    assert.equal(typeof message, 'string', `${method} ${path}: the ${response.status} carries no message: ${text.slice(0, 200)}`);
    return { status: response.status, message: message as string };
  }

  function expectRefusal(answer: { status: number; message: string }, status: number, words: RegExp, what: string) {
    assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.message}`);
    assert.match(answer.message, words, what);
  }

  /** Past the door: whatever the route answers next (200, 400 for the empty body, 409 …), it is not the door's refusal. */
  function expectPast(answer: { status: number; message: string }, what: string) {
    assert.ok(answer.status !== 401 && answer.status !== 403, `${what}: refused at the door: ${answer.status} ${answer.message}`);
    assert.doesNotMatch(answer.message, /repository acme\/private not found/, what);
  }

  test('every route of the app has a door in the table, and the table names no route the app lacks', () => {
    const missing = routes.filter((route) => route.door === undefined).map((route) => `${route.method} ${route.path}`);
    assert.deepEqual(missing, [], 'routes without a row in DOORS: say who may use them');
    const known = new Set(routes.map((route) => `${route.method} ${route.path}`));
    assert.deepEqual(Object.keys(DOORS).filter((key) => !known.has(key)), [], 'rows in DOORS for routes the app no longer has');
  });

  test('given no token, then every route but the open ones is a 401 that says to send one; the open ones answer', async () => {
    for (const { method, path, door } of routes) {
      const answer = await ask(method, pathOf(path));
      const what = `anonymous ${method} ${path}`;
      if (door === 'open') assert.ok(answer.status !== 401 && answer.status !== 403, `${what}: ${answer.status} ${answer.message}`);
      else expectRefusal(answer, 401, /needs a token: send Authorization: Bearer <token>/, what);
    }
  });

  test('given a user, then server-admin routes are a 403 naming a server admin; signed-in ones let them in', async () => {
    let guests = 0;
    for (const { method, path, door } of routes.filter((route) => route.door === 'server-admin' || route.door === 'signed-in')) {
      // A user of its own for each: the token routes rotate or revoke the token they are called with.
      const guest = await api.app.request('/api/users', { method: 'POST', headers: adminHeaders(TOKEN), body: JSON.stringify({ login: `guest${(guests += 1)}` }) });
      const answer = await ask(method, pathOf(path), ((await guest.json()) as { token: string }).token);
      const what = `user ${method} ${path}`;
      if (door === 'server-admin') expectRefusal(answer, 403, /this needs a server admin/, what);
      else expectPast(answer, what);
    }
  });

  test('given a private repo, then a user without access gets 404 (its name does not leak); read < write < admin decide the 403s, naming what is needed and what they have', async () => {
    for (const { method, path, door } of routes) {
      const need = levelOf(door);
      if (!need) continue;
      const at = pathOf(path);
      expectRefusal(await ask(method, at, tokens.stranger), 404, /^repository acme\/private not found$/, `stranger ${method} ${path}`);
      for (const [login, has] of [['reader', 'read'], ['writer', 'write']] as const) {
        const answer = await ask(method, at, tokens[login]);
        const what = `${login} ${method} ${path}`;
        if (LEVELS.indexOf(need) <= LEVELS.indexOf(has)) expectPast(answer, what);
        else expectRefusal(answer, 403, new RegExp(`^this needs ${need} permission on acme/private; you have ${has}$`), what);
      }
    }
    for (const login of ['reader', 'writer']) {
      const answer = await ask('POST', '/api/repos/acme/other', tokens[login]);
      expectRefusal(answer, 403, /activating acme\/other needs admin permission on it/, `${login} activating`);
    }
  });

  test('given the admin, then an unknown repository is a 404 naming it and a bad path segment a 400 naming the parameter', async () => {
    for (const { method, path, door } of routes.filter((route) => levelOf(route.door) || route.door === 'activate')) {
      if (door !== 'activate' && door !== 'grants') {
        expectRefusal(await ask(method, pathOf(path, { name: 'nope' }), TOKEN), 404, /^repository acme\/nope not found$/, `admin ${method} ${path} of an unknown repo`);
      }
      expectRefusal(await ask(method, pathOf(path, { owner: 'bad owner' }), TOKEN), 400, /^owner: 'bad owner' is not a valid name/, `admin ${method} ${path} with a bad owner`);
      for (const param of ['number', 'stage', 'step'] as const) {
        if (!path.includes(`:${param}`)) continue;
        expectRefusal(await ask(method, pathOf(path, { [param]: 'x' }), TOKEN), 400, new RegExp(`^${param}: `), `admin ${method} ${path} with ${param} x`);
      }
    }
  });
});
