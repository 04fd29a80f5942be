import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApiApp, type ApiApp } from '../support/api-server.ts';

const TOKEN = 'test-admin-token';
const PIPELINE = 'kind: pipeline\ntype: exec\nname: default\nsteps:\n- name: a\n  commands: [echo hi]\n';

describe('users, tokens and repo permissions (Hono app over PGlite)', () => {
  let api: ApiApp;
  const tokens: Record<string, string> = {};

  before(async () => {
    api = await startApiApp({ adminToken: TOKEN });
  });
  after(() => api.close());

  const as = (token: string | undefined) => (method: string, path: string, body?: unknown) =>
    api.app.request(path, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const admin = as(TOKEN);
  const nobody = as(undefined);
  const expect = async (response: Response, status: number, message?: RegExp) => {
    const text = await response.text();
    assert.equal(response.status, status, text);
    if (message) assert.match(JSON.parse(text).message, message);
    return text === '' ? undefined : JSON.parse(text);
  };

  test('given the admin, when users are created, then each answer carries its token once and the list never does', async () => {
    for (const login of ['alice', 'bob', 'carol']) {
      const user = await expect(await admin('POST', '/api/users', { login, email: `${login}@example.test` }), 200);
      assert.equal(user.login, login);
      assert.equal(user.admin, false);
      assert.match(user.token, /^rl_[0-9a-f]{12}_/);
      tokens[login] = user.token;
    }
    const list = await expect(await admin('GET', '/api/users'), 200);
    assert.deepEqual(list.map((u: { login: string }) => u.login), ['alice', 'bob', 'carol']);
    assert.ok(!JSON.stringify(list).includes('rl_'));
    await expect(await admin('POST', '/api/users', { login: 'alice' }), 409, /already exists/);
    await expect(await admin('POST', '/api/users', { login: '-bad login' }), 400, /login/);
    await expect(await admin('POST', '/api/users', { login: 'dave', root: true }), 400, /root|unrecognized/i);
    await expect(await admin('GET', '/api/users/nobody-here'), 404, /user nobody-here not found/);
  });

  test('given a user token, GET /api/user answers its user; users routes need a server admin', async () => {
    const me = await expect(await as(tokens.alice)('GET', '/api/user'), 200);
    assert.equal(me.login, 'alice');
    await expect(await nobody('GET', '/api/user'), 401, /token/);
    await expect(await as('rl_000000000000_' + 'x'.repeat(43))('GET', '/api/user'), 401, /invalid token/);
    await expect(await as(tokens.alice)('GET', '/api/users'), 403, /server admin/);
    await expect(await as(tokens.alice)('POST', '/api/users', { login: 'mallory', admin: true }), 403, /server admin/);
  });

  test('given a private repo, a user sees it only once granted; read < write < admin decide 403s', async () => {
    await expect(await admin('POST', '/api/repos/acme/secret-app', { visibility: 'private' }), 200);
    await expect(await admin('POST', '/api/repos/acme/open', { visibility: 'public' }), 200);
    const alice = as(tokens.alice);
    await expect(await alice('GET', '/api/repos/acme/secret-app'), 404, /not found/);
    await expect(await nobody('GET', '/api/repos/acme/secret-app'), 401, /token/);
    await expect(await alice('GET', '/api/repos/acme/open'), 200);
    await expect(await alice('POST', '/api/repos/acme/open/builds', { config: PIPELINE }), 403, /write permission on acme\/open; you have read/);
    assert.deepEqual((await expect(await alice('GET', '/api/user/repos'), 200)).map((r: { slug: string }) => r.slug), ['acme/open']);

    await expect(await admin('PUT', '/api/repos/acme/secret-app/permissions/alice', { permission: 'read' }), 200);
    await expect(await alice('GET', '/api/repos/acme/secret-app'), 200);
    await expect(await alice('GET', '/api/repos/acme/secret-app/builds'), 200);
    assert.deepEqual((await expect(await alice('GET', '/api/user/repos'), 200)).map((r: { slug: string }) => r.slug), ['acme/open', 'acme/secret-app']);
    await expect(await alice('POST', '/api/repos/acme/secret-app/builds', { config: PIPELINE }), 403, /needs write/);

    await expect(await admin('PUT', '/api/repos/acme/secret-app/permissions/alice', { permission: 'write' }), 200);
    const build = await expect(await alice('POST', '/api/repos/acme/secret-app/builds', { config: PIPELINE }), 200);
    assert.equal(build.sender, 'alice');
    await expect(await alice('PATCH', '/api/repos/acme/secret-app', { timeout: 10 }), 403, /needs admin/);
    await expect(await alice('GET', '/api/repos/acme/secret-app/permissions'), 403, /needs admin/);

    await expect(await admin('PUT', '/api/repos/acme/secret-app/permissions/alice', { permission: 'admin' }), 200);
    await expect(await alice('PATCH', '/api/repos/acme/secret-app', { timeout: 10 }), 200);
    await expect(await alice('PUT', '/api/repos/acme/secret-app/permissions/bob', { permission: 'read' }), 200);
    const grants = await expect(await alice('GET', '/api/repos/acme/secret-app/permissions'), 200);
    assert.deepEqual(grants.map((g: { login: string; permission: string }) => [g.login, g.permission]), [['alice', 'admin'], ['bob', 'read']]);
    await expect(await alice('PUT', '/api/repos/acme/secret-app/permissions/bob', { permission: 'owner' }), 400, /permission/);
    await expect(await alice('PUT', '/api/repos/acme/secret-app/permissions/zed', { permission: 'read' }), 404, /user zed not found/);
    await expect(await nobody('PUT', '/api/repos/acme/secret-app/permissions/bob', { permission: 'read' }), 401);

    await expect(await alice('DELETE', '/api/repos/acme/secret-app/permissions/bob'), 204);
    await expect(await as(tokens.bob)('GET', '/api/repos/acme/secret-app'), 404);
  });

  test('a user granted admin before activation may activate the repo; others may not', async () => {
    await expect(await admin('PUT', '/api/repos/acme/fresh/permissions/carol', { permission: 'admin' }), 200);
    await expect(await as(tokens.bob)('POST', '/api/repos/acme/fresh', {}), 403, /needs admin permission/);
    await expect(await nobody('POST', '/api/repos/acme/fresh', {}), 401);
    await expect(await as(tokens.carol)('POST', '/api/repos/acme/fresh', {}), 200);
  });

  test('rotating a token revokes the old one; revoking leaves none; deleting a user ends its access', async () => {
    const rotated = await expect(await as(tokens.bob)('POST', '/api/user/token'), 200);
    assert.notEqual(rotated.token, tokens.bob);
    await expect(await as(tokens.bob)('GET', '/api/user'), 401, /invalid token/);
    await expect(await as(rotated.token)('GET', '/api/user'), 200);
    await expect(await as(rotated.token)('DELETE', '/api/user/token'), 204);
    await expect(await as(rotated.token)('GET', '/api/user'), 401);
    const issued = await expect(await admin('POST', '/api/users/bob/token'), 200);
    await expect(await as(issued.token)('GET', '/api/user'), 200);
    await expect(await admin('POST', '/api/user/token'), 400, /admin token belongs to no user/);

    await expect(await admin('PATCH', '/api/users/carol', { admin: true }), 200);
    await expect(await as(tokens.carol)('GET', '/api/users'), 200);
    await expect(await admin('PATCH', '/api/users/carol', { active: false }), 200);
    await expect(await as(tokens.carol)('GET', '/api/user'), 401);

    await expect(await admin('DELETE', '/api/users/alice'), 204);
    await expect(await as(tokens.alice)('GET', '/api/user'), 401);
    await expect(await admin('DELETE', '/api/users/alice'), 404, /not found/);
    const grants = await expect(await admin('GET', '/api/repos/acme/secret-app/permissions'), 200);
    assert.deepEqual(grants, []);
  });

  test('the event log holds token digests, never a token', async () => {
    const rows = await api.database.query<{ data: unknown }>((await import('drizzle-orm')).sql`select data from events`);
    const text = JSON.stringify(rows);
    for (const token of Object.values(tokens)) assert.ok(!text.includes(token));
    assert.ok(!/rl_[0-9a-f]{12}_/.test(text));
  });
});
