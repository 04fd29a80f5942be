import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { signBody } from '../../src/forge/hook-signature.ts';
import { adminHeaders, startApiApp, type ApiApp } from '../support/api-server.ts';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples/api.github.com/index.json') as { name: string; examples: Record<string, unknown>[] }[];
const example = (name: string, index: number) => {
  const payload = structuredClone(examples.find((e) => e.name === name)!.examples[index]!) as any;
  // The ping examples come from another repository of the same organisation: aim them at the registered one.
  if (name === 'ping') payload.repository.full_name = 'Codertocat/Hello-World';
  return payload as Record<string, unknown>;
};
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

const TOKEN = 'test-admin-token';
const SECRET = 'the-repo-webhook-secret-0123456789';
const admin = adminHeaders(TOKEN);
const PIPELINE = `kind: pipeline
type: docker
name: default
steps:
- name: test
  image: busybox
  commands: [true]
- name: docs
  image: busybox
  commands: [true]
  when:
    paths: [docs/**]
`;

describe('POST /hook (Postgres, fake forge APIs on loopback)', () => {
  let api: ApiApp;
  let forge: Server;
  let forgeUrl: string;
  const requests: string[] = [];

  before(async () => {
    forge = createServer((request, response) => {
      const path = request.url ?? '';
      requests.push(`${request.method} ${path}`);
      if (/\/(contents|raw)\/\.drone\.yml\?ref=|repository\/files\/\.drone\.yml\/raw/.test(path)) {
        if (path.includes('ref=0000missing') || path.includes('nocfg')) return response.writeHead(404).end('{"message":"Not Found"}');
        return response.writeHead(200, { 'content-type': 'text/plain' }).end(PIPELINE);
      }
      if (path.includes('/compare/')) return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ files: [{ filename: 'README.md' }] }));
      if (path.includes('/pulls/7/files')) return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ filename: 'docs/a.md' }]));
      if (path.includes('/repository/compare')) return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ diffs: [{ new_path: 'src/x.rb', old_path: 'src/x.rb' }] }));
      response.writeHead(404).end('{}');
    });
    await new Promise<void>((resolve) => forge.listen(0, '127.0.0.1', resolve));
    forgeUrl = `http://127.0.0.1:${(forge.address() as AddressInfo).port}`;
    api = await startApiApp({ postgres: 'runlog_hooks', adminToken: TOKEN });
    for (const [slug, kind] of [['Codertocat/Hello-World', 'github'], ['gitea/webhooks', 'gitea'], ['mike/diaspora', 'gitlab'], ['gitlabhq/gitlab-test', 'gitlab']] as const) {
      const response = await api.app.request(`/api/repos/${slug}`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ webhook_secret: SECRET, forge: kind, forge_url: forgeUrl, forge_token: 'forge-token-xyz', auto_cancel_pull_requests: true }),
      });
      assert.equal(response.status, 200, await response.clone().text());
      const repo = await response.json();
      assert.equal(repo.webhook_secret, SECRET);
    }
  });
  after(async () => {
    await api.close();
    await new Promise((resolve) => forge.close(resolve));
  });

  const eventCount = async () => Number((await api.database.query<{ n: string }>(sql`select count(*) as n from events`))[0]!.n);
  const createdEvents = async () =>
    (await api.database.query<{ data: any }>(sql`select data from events where type = 'BuildCreated' order by global_position`)).map((row) => row.data);

  function hook(forgeKind: 'github' | 'gitea' | 'gitlab', event: string, payload: unknown, signature: 'good' | 'none' | 'wrong' = 'good') {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    headers[forgeKind === 'github' ? 'x-github-event' : forgeKind === 'gitea' ? 'x-gitea-event' : 'x-gitlab-event'] = event;
    const header = forgeKind === 'github' ? 'x-hub-signature-256' : forgeKind === 'gitea' ? 'x-gitea-signature' : 'x-gitlab-token';
    if (signature !== 'none') headers[header] = signBody(forgeKind, body, signature === 'good' ? SECRET : 'not-the-secret-at-all');
    return api.app.request('/hook', { method: 'POST', headers, body });
  }

  test('given unsigned or wrongly signed real GitHub payloads, then each is 401 and nothing is stored', async () => {
    const before = await eventCount();
    for (const [name, index] of [['push', 4], ['push', 0], ['pull_request', 0], ['pull_request', 22], ['ping', 0]] as const) {
      for (const signature of ['none', 'wrong'] as const) {
        const response = await hook('github', name, example(name, index), signature);
        assert.equal(response.status, 401, `${name}[${index}] ${signature}`);
        assert.match((await response.json()).message, signature === 'none' ? /missing X-Hub-Signature-256/ : /does not match the webhook secret/);
      }
    }
    assert.equal(await eventCount(), before);
  });

  test('given a signed ping, then 200 and no build', async () => {
    const before = await eventCount();
    const response = await hook('github', 'ping', example('ping', 0));
    assert.equal(response.status, 200);
    assert.match((await response.json()).message, /pong/);
    assert.equal(await eventCount(), before);
  });

  test('given a signed push to a branch, then a push build with the commit, author, link and changed files, config read from the GitHub API at the sha', async () => {
    const response = await hook('github', 'push', example('push', 4));
    assert.equal(response.status, 201, await response.clone().text());
    const answer = await response.json();
    assert.equal(answer.build.number, 1);
    const created = (await createdEvents()).at(-1);
    assert.equal(created.trigger.event, 'push');
    assert.equal(created.trigger.ref, 'refs/heads/master');
    assert.equal(created.trigger.commit, '6113728f27ae82c7b1a177c8d03f9e96e0adf246');
    assert.equal(created.trigger.before, '0'.repeat(40));
    assert.equal(created.trigger.after, '6113728f27ae82c7b1a177c8d03f9e96e0adf246');
    assert.equal(created.trigger.link, 'https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246');
    assert.equal(created.trigger.fork, '');
    assert.equal(created.trigger.author.login, 'Codertocat');
    assert.equal(created.trigger.author.email, '21031067+Codertocat@users.noreply.github.com');
    assert.equal(created.trigger.message, 'Initial commit');
    assert.deepEqual(created.trigger.changedFiles, ['README.md']);
    assert.equal(created.createdBy, '@hook');
    assert.equal(created.config.text, PIPELINE);
    assert.ok(requests.includes('GET /repos/Codertocat/Hello-World/contents/.drone.yml?ref=6113728f27ae82c7b1a177c8d03f9e96e0adf246'));
    // `paths: [docs/**]` was really evaluated against README.md: the docs step is skipped in the plan.
    const docs = created.plan.stages[0].steps.find((step: { name: string }) => step.name === 'docs');
    assert.ok(docs.skip, 'the docs step should be skipped by its paths condition');
  });

  test('given a signed push deleting a branch, then no build and the answer says why', async () => {
    // octokit's examples delete only tags: the branch push, as GitHub sends it for a deleted branch.
    const push = structuredClone(example('push', 4)) as any;
    Object.assign(push, { ref: 'refs/heads/old-feature', before: push.after, after: '0'.repeat(40), deleted: true, created: false, commits: [], head_commit: null });
    const before = await eventCount();
    const deleted = await hook('github', 'push', push);
    assert.equal(deleted.status, 200);
    assert.match((await deleted.json()).message, /branch 'old-feature' was deleted: no build/);
    assert.equal(await eventCount(), before);
  });

  test('given a signed tag push, then a tag build; a deleted tag builds nothing and says why', async () => {
    const tag = await hook('github', 'push', example('push', 0));
    assert.equal(tag.status, 201);
    const created = (await createdEvents()).at(-1);
    assert.equal(created.trigger.event, 'tag');
    assert.equal(created.trigger.ref, 'refs/tags/simple-tag');
    const before = await eventCount();
    const deleted = await hook('github', 'push', example('push', 1));
    assert.equal(deleted.status, 200);
    assert.match((await deleted.json()).message, /tag 'simple-tag' was deleted: no build/);
    assert.equal(await eventCount(), before);
  });

  test('given pull_request opened then synchronize, then two pull request builds with files from the compare API; the second cancels the first (auto-cancel)', async () => {
    const opened = await hook('github', 'pull_request', example('pull_request', 0));
    assert.equal(opened.status, 201, await opened.clone().text());
    const first = (await opened.json()).build;
    const pr = (await createdEvents()).at(-1);
    assert.equal(pr.trigger.event, 'pull_request');
    assert.equal(pr.trigger.action, 'opened');
    assert.equal(pr.trigger.ref, 'refs/pull/2/head');
    assert.equal(pr.trigger.pullRequest, 2);
    assert.equal(pr.trigger.fork, '');
    assert.deepEqual(pr.trigger.changedFiles, ['README.md']);
    // Wait until the first is in the builds view, so auto-cancel can see it.
    for (let i = 0; i < 100; i += 1) {
      const rows = await api.database.query<{ n: string }>(sql`select count(*) as n from builds where id = ${first.id}`);
      if (Number(rows[0]!.n) === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const sync = await hook('github', 'pull_request', example('pull_request', 22));
    assert.equal(sync.status, 201);
    const second = await sync.json();
    assert.equal((await createdEvents()).at(-1).trigger.action, 'synchronized');
    assert.deepEqual(second.cancelled, [first.number]);
  });

  test('given pull request actions that do not build, then 200 with the reason; closed cancels that pull request\'s unfinished builds; reopened builds again', async () => {
    const createdBefore = (await createdEvents()).length;
    const labeled = await hook('github', 'pull_request', example('pull_request', 8));
    assert.equal(labeled.status, 200);
    assert.match((await labeled.json()).message, /action 'labeled' does not build/);
    const closed = await hook('github', 'pull_request', example('pull_request', 3));
    assert.equal(closed.status, 200);
    const answer = await closed.json();
    assert.match(answer.message, /pull request #2 closed/);
    assert.equal(answer.cancelled.length, 1);
    assert.equal((await createdEvents()).length, createdBefore, 'labeled and closed create no build');
    const reopened = await hook('github', 'pull_request', example('pull_request', 18));
    assert.equal(reopened.status, 201, await reopened.clone().text());
    assert.equal((await reopened.json()).build.status, 'pending');
    const created = (await createdEvents()).at(-1);
    assert.equal(created.trigger.action, 'reopened');
    assert.equal(created.trigger.ref, 'refs/pull/2/head');
  });

  test('given [ci skip] in the message, or an inactive repo, then no build and the answer says why', async () => {
    const push = structuredClone(example('push', 4)) as any;
    push.head_commit.message = 'docs only [CI SKIP]';
    const before = await eventCount();
    const skipped = await hook('github', 'push', push);
    assert.equal(skipped.status, 200);
    assert.match((await skipped.json()).message, /\[ci skip\]/);
    push.head_commit.message = 'wip [skip ci]';
    const other = await hook('github', 'push', push);
    assert.equal(other.status, 200);
    assert.match((await other.json()).message, /\[skip ci\]/);
    assert.equal(await eventCount(), before);

    // A repo deactivated in runlog still checks the signature, then says it does not build.
    const retired = structuredClone(example('push', 4)) as any;
    retired.repository.full_name = 'Codertocat/Retired';
    const activated = await api.app.request('/api/repos/Codertocat/Retired', { method: 'POST', headers: admin, body: JSON.stringify({ webhook_secret: SECRET, forge: 'github', forge_url: forgeUrl }) });
    assert.equal(activated.status, 200);
    assert.equal((await api.app.request('/api/repos/Codertocat/Retired', { method: 'DELETE', headers: admin })).status, 200);
    const afterDeactivation = await eventCount();
    assert.equal((await hook('github', 'push', retired, 'wrong')).status, 401);
    const inactive = await hook('github', 'push', retired);
    assert.equal(inactive.status, 200);
    assert.match((await inactive.json()).message, /repository Codertocat\/Retired is not active: no build/);
    assert.equal(await eventCount(), afterDeactivation);
  });

  test('given a pull request from a fork, then its build starts blocked (reason fork)', async () => {
    const payload = structuredClone(example('pull_request', 0)) as any;
    payload.pull_request.head.repo.full_name = 'stranger/Hello-World';
    const response = await hook('github', 'pull_request', payload);
    assert.equal(response.status, 201);
    const answer = await response.json();
    assert.equal(answer.build.status, 'blocked');
    assert.match(answer.message, /fork/);
    assert.equal((await createdEvents()).at(-1).trigger.fork, 'stranger/Hello-World');
  });

  test('given a commit without the config, then an error build whose message names the file', async () => {
    const push = structuredClone(example('push', 4)) as any;
    push.after = '0000missing000000000000000000000000000001';
    push.head_commit.message = 'nocfg';
    const response = await hook('github', 'push', push);
    assert.equal(response.status, 201);
    assert.equal((await response.json()).build.status, 'error');
    assert.match((await createdEvents()).at(-1).error, /^\.drone\.yml: not found in Codertocat\/Hello-World/);
  });

  test('given Gitea push and pull request payloads (from its documentation), then builds with their files', async () => {
    const push = await hook('gitea', 'push', fixture('gitea-push.json'));
    assert.equal(push.status, 201, await push.clone().text());
    const created = (await createdEvents()).at(-1);
    assert.equal(created.trigger.branch, 'develop');
    assert.deepEqual(created.trigger.changedFiles, ['docs/intro.md', 'src/main.go']);
    const pr = await hook('gitea', 'pull_request', fixture('gitea-pull-request.json'));
    assert.equal(pr.status, 201);
    assert.equal((await pr.json()).build.status, 'blocked'); // from a fork
    const prCreated = (await createdEvents()).at(-1);
    assert.deepEqual(prCreated.trigger.changedFiles, ['docs/a.md']);
    assert.ok(requests.some((r) => r.startsWith('GET /repos/gitea/webhooks/raw/.drone.yml?ref=a4c3e1cf')));
    assert.equal((await hook('gitea', 'push', fixture('gitea-push.json'), 'wrong')).status, 401);
  });

  test('given GitLab push and merge request payloads (from its documentation), then builds; a wrong token is 401', async () => {
    const before = await eventCount();
    assert.equal((await hook('gitlab', 'Push Hook', fixture('gitlab-push.json'), 'wrong')).status, 401);
    assert.equal((await hook('gitlab', 'Push Hook', fixture('gitlab-push.json'), 'none')).status, 401);
    assert.equal(await eventCount(), before);
    const push = await hook('gitlab', 'Push Hook', fixture('gitlab-push.json'));
    assert.equal(push.status, 201, await push.clone().text());
    const created = (await createdEvents()).at(-1);
    assert.equal(created.trigger.commit, 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7');
    assert.deepEqual(created.trigger.changedFiles, ['CHANGELOG', 'app/controller/application.rb']);
    assert.ok(requests.includes('GET /projects/mike%2Fdiaspora/repository/files/.drone.yml/raw?ref=da1560886d4f094c3e6c9ef40349f7d38b5d27d7'));
    const mr = await hook('gitlab', 'Merge Request Hook', fixture('gitlab-merge-request.json'));
    assert.equal(mr.status, 201, await mr.clone().text());
    const mrCreated = (await createdEvents()).at(-1);
    assert.equal(mrCreated.trigger.ref, 'refs/merge-requests/1/head');
    assert.deepEqual(mrCreated.trigger.changedFiles, ['src/x.rb']);
  });

  test('400 and 404 paths say what is wrong', async () => {
    const none = await api.app.request('/hook', { method: 'POST', body: '{}' });
    assert.equal(none.status, 400);
    assert.match((await none.json()).message, /X-GitHub-Event/);
    const badJson = await api.app.request('/hook', { method: 'POST', headers: { 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=00' }, body: '{nope' });
    assert.equal(badJson.status, 400);
    assert.match((await badJson.json()).message, /not valid JSON/);
    const unknown = structuredClone(example('push', 4)) as any;
    unknown.repository.full_name = 'nobody/nothing';
    const missing = await hook('github', 'push', unknown);
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).message, /not registered/);
  });

  test('repair rotates the webhook secret: the old one no longer signs', async () => {
    const repaired = await api.app.request('/api/repos/gitlabhq/gitlab-test/repair', { method: 'POST', headers: admin });
    assert.equal(repaired.status, 200);
    const secret = (await repaired.json()).webhook_secret;
    assert.ok(secret.length >= 32 && secret !== SECRET);
    assert.equal((await hook('gitlab', 'Merge Request Hook', fixture('gitlab-merge-request.json'))).status, 401);
    const stored = await api.database.query<{ data: unknown }>(sql`select data from events where stream_id like 'repo-%'`);
    assert.ok(!JSON.stringify(stored).includes(secret) && !JSON.stringify(stored).includes(SECRET), 'no webhook secret in clear in the events');
  });

  test('given a repo activated without webhook_secret, then one is generated, shown to its admins only, and signs its hooks', async () => {
    const activated = await api.app.request('/api/repos/Codertocat/Generated', { method: 'POST', headers: admin, body: JSON.stringify({ forge: 'github', forge_url: forgeUrl, visibility: 'public' }) });
    assert.equal(activated.status, 200);
    const generated = (await activated.json()).webhook_secret;
    assert.ok(typeof generated === 'string' && generated.length >= 32, `a generated secret, got ${generated}`);
    assert.equal((await (await api.app.request('/api/repos/Codertocat/Generated', { headers: admin })).json()).webhook_secret, generated);
    const user = await (await api.app.request('/api/users', { method: 'POST', headers: admin, body: JSON.stringify({ login: 'writer' }) })).json();
    assert.equal((await api.app.request('/api/repos/Codertocat/Generated/permissions/writer', { method: 'PUT', headers: admin, body: JSON.stringify({ permission: 'write' }) })).status, 200);
    for (const headers of [{}, { authorization: `Bearer ${user.token}` }] as Record<string, string>[]) {
      const shown = await api.app.request('/api/repos/Codertocat/Generated', { headers });
      assert.equal(shown.status, 200);
      assert.ok(!('webhook_secret' in (await shown.json())), 'only a repo admin sees the webhook secret');
    }
    const push = structuredClone(example('push', 4)) as any;
    push.repository.full_name = 'Codertocat/Generated';
    const body = JSON.stringify(push);
    const signed = await api.app.request('/hook', { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signBody('github', body, generated) }, body });
    assert.equal(signed.status, 201, await signed.clone().text());
    assert.equal((await signed.json()).build.number, 1);
  });

  test('given a protected repo, then a push changing its config starts blocked and one that does not runs', async () => {
    const activated = await api.app.request('/api/repos/Codertocat/Guarded', { method: 'POST', headers: admin, body: JSON.stringify({ webhook_secret: SECRET, forge: 'github', forge_url: forgeUrl, protected: true }) });
    assert.equal(activated.status, 200);
    const push = (files: string[]) => {
      const payload = structuredClone(example('push', 4)) as any;
      payload.repository.full_name = 'Codertocat/Guarded';
      Object.assign(payload.commits[0], { added: [], removed: [], modified: files });
      return payload;
    };
    const changed = await hook('github', 'push', push(['src/app.js', '.drone.yml']));
    assert.equal(changed.status, 201);
    const blocked = await changed.json();
    assert.equal(blocked.build.status, 'blocked');
    assert.match(blocked.message, /the config changed in a protected repo/);
    const plain = await hook('github', 'push', push(['src/app.js']));
    assert.equal(plain.status, 201);
    assert.equal((await plain.json()).build.status, 'pending');
  });

  test('given auto_cancel_pushes, then a newer push of a branch cancels its older unfinished push builds; off, it cancels none', async () => {
    const first = await (await hook('github', 'push', example('push', 4))).json();
    const kept = await (await hook('github', 'push', example('push', 4))).json();
    assert.equal(kept.cancelled, undefined, 'auto_cancel_pushes is off: the first push build stays');
    const patched = await api.app.request('/api/repos/Codertocat/Hello-World', { method: 'PATCH', headers: admin, body: JSON.stringify({ auto_cancel_pushes: true }) });
    assert.equal((await patched.clone().json()).auto_cancel_pushes, true);
    const newest = await hook('github', 'push', example('push', 4));
    assert.equal(newest.status, 201);
    const answer = await newest.json();
    assert.ok(answer.cancelled.includes(first.build.number) && answer.cancelled.includes(kept.build.number), JSON.stringify(answer));
    // Cancelled: push builds only; the tag and pull request builds of the same repo are not the branch's.
    const repoId = (await patched.clone().json()).id;
    const rows = await api.database.query<{ number: number; event: string }>(sql`select number, event from builds where repo_id = ${repoId}`);
    assert.deepEqual([...new Set(rows.filter((row) => answer.cancelled.includes(row.number)).map((row) => row.event))], ['push']);
  });

  test('property: random bodies and headers to /hook never get a 5xx', async () => {
    const headerName = fc.constantFrom('x-github-event', 'x-gitea-event', 'x-gitlab-event', 'x-hub-signature-256', 'x-gitea-signature', 'x-gitlab-token', 'content-type');
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(headerName, fc.string({ maxLength: 30 }), { maxKeys: 4 }),
        fc.oneof(fc.string({ maxLength: 200 }), fc.json(), fc.constant(JSON.stringify({ repository: { full_name: 'Codertocat/Hello-World' } }))),
        async (headers, body) => {
          const response = await api.app.request('/hook', { method: 'POST', headers, body });
          assert.ok(response.status < 500, `${response.status} for ${JSON.stringify(headers)} ${body.slice(0, 80)}`);
        },
      ),
      { numRuns: 150 },
    );
  });
});
