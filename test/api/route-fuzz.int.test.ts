import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { createApp, type App } from '../../src/api/app.ts';
import { createBuildFeed } from '../../src/live/build-feed.ts';
import { createLogTail } from '../../src/live/log-tail.ts';
import { openPglite, type Database } from '../../src/events/database.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { projections } from '../../src/projections/index.ts';
import { startProjector } from '../../src/projections/projector.ts';
import { createRpcApp } from '../../src/rpc/routes.ts';

// A living check: every route the app has — the ones here today and whatever anyone adds
// tomorrow — gets random paths, queries, headers and bodies, and must never answer 5xx.
// The routes come from the app itself (`app.routes`), so a new route is covered the day it lands.
const TOKEN = 'route-fuzz-token';
const RPC_SECRET = 'route-fuzz-rpc-secret-0123456789';
const PIPELINE = 'kind: pipeline\ntype: docker\nname: default\nsteps:\n- name: test\n  image: runlog-test/busybox:latest\n  commands: [echo hi]\n';

describe('every route, fuzzed (no 5xx; every 4xx JSON with a message)', () => {
  let database: Database;
  let app: App;
  const stop = new AbortController();
  let projectorDone: Promise<void>;
  let closeLive: () => Promise<unknown>;

  before(async () => {
    database = await openPglite();
    const store = createEventStore(database);
    const projector = startProjector({ database, store, projections, signal: stop.signal });
    projectorDone = projector.done;
    const deps = {
      database,
      store,
      adminToken: TOKEN,
      system: { host: 'ci.example.test', proto: 'https', version: 'test' },
      waitForProjections: (checkpoint: Parameters<typeof projector.waitFor>[0] | undefined) => (checkpoint ? projector.waitFor(checkpoint) : Promise.resolve()),
      log: () => {},
    };
    const live = { feed: createBuildFeed(deps), logs: createLogTail(deps) };
    closeLive = () => Promise.all([live.feed.close(), live.logs.close()]);
    app = createApp({ ...deps, live });
    app.route('/rpc', createRpcApp({ database, store, secret: RPC_SECRET, leaseTtlSeconds: 60, log: () => {} }));
    // Something for the paths to find: a repo, a public one, builds with stages and steps.
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    await app.request('/api/repos/acme/web', { method: 'POST', headers, body: '{}' });
    await app.request('/api/repos/acme/open', { method: 'POST', headers, body: '{"visibility":"public"}' });
    for (let i = 0; i < 2; i++) {
      const created = await app.request('/api/repos/acme/web/builds?branch=main', { method: 'POST', headers, body: JSON.stringify({ config: PIPELINE }) });
      assert.equal(created.status, 200);
    }
  });
  after(async () => {
    await closeLive();
    stop.abort();
    await projectorDone;
    await database.close();
  });

  test('property: random paths, queries, headers and bodies on every route get an answer below 500, and a refusal is JSON with a message', async () => {
    // Middleware (`use`) shows in app.routes as method ALL; the routes are the rest.
    const routes = app.routes.filter((route) => route.method !== 'ALL');
    const unique = [...new Map(routes.map((route) => [`${route.method} ${route.path}`, route])).values()];
    assert.ok(unique.length >= 20, `expected the app's routes, found ${unique.length}`);

    const known = fc.constantFrom('acme', 'web', 'open', '1', '2', '0', '-1', 'latest', '99999999999', 'x'.repeat(300), '%00', '..', 'a%2Fb', '%E2%82%AC');
    const segment = fc.oneof(known, fc.stringMatching(/^[A-Za-z0-9._~%-]{1,16}$/));
    // Mostly the values that reach a handler's depths (the seeded repo, its builds, the token), sometimes anything.
    const plausible: Record<string, string[]> = { owner: ['acme'], name: ['web', 'open'], number: ['1', '2'], build: ['1', '2'], stage: ['1'], step: ['1', '2'] };
    const token = fc.oneof({ weight: 3, arbitrary: fc.constant(`Bearer ${TOKEN}`) }, { weight: 2, arbitrary: fc.constantFrom( `Bearer ${RPC_SECRET}`, 'Bearer wrong', 'Basic abc', '', 'Bearer ', `bearer ${TOKEN}`) });
    const contentType = fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', '', 'application/x-ndjson');
    const body = fc.oneof(
      fc.constant(undefined),
      fc.json(),
      fc.string({ maxLength: 200 }),
      fc.dictionary(fc.constantFrom('config', 'name', 'data', 'clone_url', 'timeout', 'trusted', 'visibility', 'target', 'branch', 'stage', 'offset'), fc.anything(), { maxKeys: 4 }).map((o) => JSON.stringify(o)),
      fc.constant(JSON.stringify({ config: PIPELINE })),
      fc.string({ maxLength: 40 }).map((s) => `branch=${encodeURIComponent(s)}&target=${encodeURIComponent(s)}`),
    );
    const query = fc.dictionary(
      fc.oneof(fc.constantFrom('page', 'per_page', 'branch', 'ref', 'commit', 'target', 'at', 'after', 'limit', 'format', 'remove', 'stage', 'step', 'access_token'), fc.stringMatching(/^[A-Za-z_.-]{1,10}$/)),
      fc.oneof(fc.constantFrom('1', '0', '-5', 'abc', '', 'true', 'main', '100000000000000000000', TOKEN), fc.string({ maxLength: 20 })),
      { maxKeys: 4 },
    );
    const request = fc.record({
      route: fc.constantFrom(...unique),
      // Now and then the wrong method for the path.
      otherMethod: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE') }),
      segments: fc.array(segment, { minLength: 8, maxLength: 8 }),
      useful: fc.array(fc.nat(9), { minLength: 8, maxLength: 8 }),
      query,
      authorization: token,
      contentType,
      body,
      lastEventId: fc.option(fc.oneof(fc.constantFrom('0', '1', '-1', '9'.repeat(30)), fc.string({ maxLength: 10 }))),
    });

    const answered = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        let i = 0;
        // `:name` and `:name{regex}` parameters; a trailing `*` gets a segment too.
        const path = r.route.path
          .replace(/:([A-Za-z_]+)(\{[^}]*\})?/g, (_all, param: string) => {
            const k = i++ % r.segments.length;
            const values = plausible[param];
            return values && r.useful[k]! < 7 ? values[r.useful[k]! % values.length]! : r.segments[k]!;
          })
          .replace(/\*$/, r.segments[7]!);
        const search = new URLSearchParams(r.query).toString();
        const method = r.otherMethod ?? r.route.method;
        const headers: Record<string, string> = {};
        if (r.authorization !== '') headers.authorization = r.authorization;
        if (r.contentType !== '') headers['content-type'] = r.contentType;
        if (r.lastEventId !== null) headers['last-event-id'] = r.lastEventId;
        const url = `http://localhost${path}${search ? `?${search}` : ''}`;
        const response = await app.request(url, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : r.body });
        const text = response.headers.get('content-type')?.startsWith('text/event-stream') ? (await response.body?.cancel(), '(stream)') : await response.text();
        // A deactivated seed repo would turn every later path into a 404: bring it back.
        if (method === 'DELETE' && /^\/api\/repos\/acme\/(web|open)$/.test(path) && response.status === 200) {
          await app.request(path, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
        }
        answered.set(`${response.status}`, (answered.get(`${response.status}`) ?? 0) + 1);
        assert.ok(response.status < 500, `${method} ${url} ${JSON.stringify(headers)} ${String(r.body).slice(0, 120)} -> ${response.status} ${text.slice(0, 300)}`);
        // Every refusal is JSON `{ "message": ... }` (issue 6), whichever route and whatever went wrong.
        if (response.status >= 400) {
          let message: unknown;
          try {
            message = (JSON.parse(text) as { message?: unknown }).message;
          } catch {
            message = undefined;
          }
          assert.ok(typeof message === 'string' && message !== '', `${method} ${url} -> ${response.status} is not JSON with a message: ${text.slice(0, 300)}`);
        }
      }),
      { numRuns: 600 },
    );
    // The fuzz reached the handlers, not only the doors: some requests succeeded.
    const succeeded = [...answered].filter(([status]) => status.startsWith('2')).reduce((sum, [, n]) => sum + n, 0);
    assert.ok(succeeded > 30, `only ${succeeded} of 600 requests succeeded: ${JSON.stringify([...answered])}`);
  });
});
