import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { createApp, type App } from '../../src/api/app.ts';
import { signBody } from '../../src/forge/hook-signature.ts';
import { newSecretKeyText, parseSecretKey, type SecretKey } from '../../src/secrets/sealed-value.ts';
import { adminHeaders, startApiApp, type ApiApp } from '../support/api-server.ts';

// A repo's webhook secret and forge token at rest: sealed with RUNLOG_SECRET_KEY (the key
// pipeline secrets use), or — on a `runlog server` without one — with a key derived from the
// admin token, which keeps opening after RUNLOG_SECRET_KEY is set. A key that does not open
// them is an answer that says so, never a 500.

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples/api.github.com/index.json') as { name: string; examples: Record<string, unknown>[] }[];
const TOKEN = 'repo-secrets-admin-token';
const admin = adminHeaders(TOKEN);
const PIPELINE = 'kind: pipeline\ntype: exec\nname: default\nclone:\n  disable: true\nsteps:\n- name: a\n  commands: [true]\n';
const clear = {
  legacyHook: 'legacy-hook-secret-Q7wz-0123456789',
  legacyToken: 'legacy-forge-token-Xc4v',
  hook: 'keyed-hook-secret-M2pt-0123456789',
  token: 'keyed-forge-token-Rb8n',
};

function pushFor(slug: string) {
  const payload = structuredClone(examples.find((e) => e.name === 'push')!.examples[4]!) as any;
  payload.repository.full_name = slug;
  return payload;
}

describe('repo secrets sealed at rest (Postgres, fake GitHub API on loopback)', () => {
  let api: ApiApp;
  let forge: Server;
  let forgeUrl: string;
  let appFor: (secretKey?: SecretKey) => App;
  const key = parseSecretKey(newSecretKeyText());
  const otherKey = parseSecretKey(newSecretKeyText());

  before(async () => {
    forge = createServer((request, response) => {
      if ((request.url ?? '').includes('/contents/.drone.yml')) return response.writeHead(200, { 'content-type': 'text/plain' }).end(PIPELINE);
      if ((request.url ?? '').includes('/compare/')) return response.writeHead(200, { 'content-type': 'application/json' }).end('{"files":[]}');
      response.writeHead(404).end('{}');
    });
    await new Promise<void>((resolve) => forge.listen(0, '127.0.0.1', resolve));
    forgeUrl = `http://127.0.0.1:${(forge.address() as AddressInfo).port}`;
    api = await startApiApp({ postgres: 'runlog_repo_secrets', adminToken: TOKEN });
    // One database, servers configured differently over it (as restarts with other settings are).
    appFor = (secretKey) => createApp({ ...api.deps, ...(secretKey ? { secretKey } : {}) });
  });
  after(async () => {
    await api.close();
    await new Promise((resolve) => forge.close(resolve));
  });

  const activate = async (app: App, slug: string, hookSecret: string, token: string) => {
    const response = await app.request(`/api/repos/${slug}`, { method: 'POST', headers: admin, body: JSON.stringify({ webhook_secret: hookSecret, forge: 'github', forge_url: forgeUrl, forge_token: token }) });
    assert.equal(response.status, 200, await response.clone().text());
  };
  const push = (app: App, slug: string, secret: string) => {
    const body = JSON.stringify(pushFor(slug));
    return app.request('/hook', { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signBody('github', body, secret) }, body });
  };
  const shownSecret = async (app: App, slug: string) => (await (await app.request(`/api/repos/${slug}`, { headers: admin })).json()).webhook_secret;
  const eventCount = async () => Number((await api.database.query<{ n: string }>(sql`select count(*) as n from events`))[0]!.n);

  test('given repos activated without and then with RUNLOG_SECRET_KEY, then neither the events nor the views hold a clear value', async () => {
    await activate(appFor(), 'acme/legacy', clear.legacyHook, clear.legacyToken);
    await activate(appFor(key), 'acme/keyed', clear.hook, clear.token);
    const stored = JSON.stringify([
      await api.database.query(sql`select data, metadata from events`),
      await api.database.query(sql`select * from repos`),
    ]);
    for (const value of Object.values(clear)) assert.ok(!stored.includes(value), `${value} is stored in clear`);
    const sealed = await api.database.query<{ webhook_secret: string; forge_token: string }>(sql`select webhook_secret, forge_token from repos where slug = 'acme/keyed'`);
    assert.match(sealed[0]!.webhook_secret, /^v1\.[\w-]{16}\.[\w-]+$/);
    assert.match(sealed[0]!.forge_token, /^v1\./);
  });

  test('given a value sealed before RUNLOG_SECRET_KEY was set, then it still opens with it: the admin sees it, a hook signed with it builds', async () => {
    const app = appFor(key);
    assert.equal(await shownSecret(app, 'acme/legacy'), clear.legacyHook);
    const built = await push(app, 'acme/legacy', clear.legacyHook);
    assert.equal(built.status, 201, await built.clone().text());
    assert.equal((await built.json()).build.status, 'pending');
  });

  test('given a value sealed with RUNLOG_SECRET_KEY, then a server without it or with another key does not open it: the hook is a 401 that says so, the repo shows no secret', async () => {
    for (const app of [appFor(), appFor(otherKey)]) {
      const before = await eventCount();
      const refused = await push(app, 'acme/keyed', clear.hook);
      assert.equal(refused.status, 401);
      assert.match((await refused.json()).message, /X-Hub-Signature-256 does not match the webhook secret of acme\/keyed/);
      assert.equal(await eventCount(), before);
      assert.equal(await shownSecret(app, 'acme/keyed'), '');
    }
  });

  test('given a forge token that does not open but a webhook secret that does, then the push is a 503 naming forge_token, with no stack and nothing stored', async () => {
    const app = appFor(otherKey);
    const changed = await app.request('/api/repos/acme/keyed', { method: 'PATCH', headers: admin, body: JSON.stringify({ webhook_secret: clear.hook }) });
    assert.equal(changed.status, 200, await changed.clone().text());
    const before = await eventCount();
    const refused = await push(app, 'acme/keyed', clear.hook);
    assert.equal(refused.status, 503);
    const text = await refused.text();
    assert.match(JSON.parse(text).message, /^the forge_token of acme\/keyed does not open with this server's key .*PATCH \/api\/repos\/acme\/keyed/);
    assert.doesNotMatch(text, /\n\s+at |RepoSecretError/);
    assert.equal(await eventCount(), before);
    // Set again, the same delivery builds.
    const fixed = await app.request('/api/repos/acme/keyed', { method: 'PATCH', headers: admin, body: JSON.stringify({ forge_token: clear.token }) });
    assert.equal(fixed.status, 200);
    assert.equal((await push(app, 'acme/keyed', clear.hook)).status, 201);
  });
});
