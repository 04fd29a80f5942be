import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/server/runtime.ts';
import { adminHeaders, execPipeline, startApiServer } from '../support/api-server.ts';
import { openSse, type SseEvent } from '../support/sse-client.ts';

const TOKEN = 'streams-admin-token';
const admin = adminHeaders(TOKEN);
const LINES = 30;
// About three seconds of output: the runner stores it in several chunks (one a second).
const SLOW_PIPELINE = `kind: pipeline
type: exec
name: default
clone:
  disable: true
steps:
- name: count
  commands:
  - for i in $(seq 1 ${LINES}); do echo "line $i"; sleep 0.1; done
`;

async function call(server: RunningServer, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, { method, headers: admin, body: body === undefined ? undefined : JSON.stringify(body) });
  assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return response.json();
}

async function waitForBuild(server: RunningServer, slug: string, number: number) {
  for (let i = 0; i < 300; i++) {
    const build = await call(server, 'GET', `/api/repos/${slug}/builds/${number}`);
    if (!['pending', 'running'].includes(build.status)) return build;
    await sleep(100);
  }
  throw new Error(`build ${slug}#${number} did not end`);
}

/** Reads the log stream until `stopAfter` lines (then disconnects) or its end. */
async function readLog(server: RunningServer, path: string, options: { lastEventId?: string; stopAfter?: number } = {}) {
  const headers: Record<string, string> = { authorization: admin.authorization };
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
  const connection = await openSse(`${server.url}${path}`, headers);
  assert.equal(connection.status, 200);
  const lines: { pos: number; out: string; id: string }[] = [];
  let done: SseEvent | undefined;
  try {
    while (true) {
      const event = await connection.next(15_000);
      if (!event) break;
      if (event.event === 'done') {
        done = event;
        break;
      }
      assert.equal(event.event, 'message');
      const line = JSON.parse(event.data) as { pos: number; out: string };
      lines.push({ ...line, id: event.id! });
      if (options.stopAfter !== undefined && lines.length >= options.stopAfter) break;
    }
  } finally {
    connection.close();
  }
  return { lines, done };
}

function streamCases(name: string, database: { postgres?: string }) {
  describe(`live streams over real HTTP (${name})`, () => {
    let server: RunningServer;

    before(async () => {
      server = await startApiServer({ ...database, adminToken: TOKEN });
      await call(server, 'POST', '/api/repos/acme/web', { visibility: 'public' });
    });
    after(() => server?.close());

    test('given a step writing its log, when the client drops mid-log and reconnects with Last-Event-ID, then it gets every line exactly once', async () => {
      const build = await call(server, 'POST', '/api/repos/acme/web/builds', { config: SLOW_PIPELINE });
      const path = `/api/stream/acme/web/${build.number}/1/1`;
      const first = await readLog(server, path, { stopAfter: 3 });
      assert.equal(first.lines.length, 3);
      assert.equal(first.done, undefined, 'the step is still running when the client drops');
      await sleep(700); // lines keep coming while the client is away
      const rest = await readLog(server, path, { lastEventId: first.lines.at(-1)!.id });
      assert.ok(rest.done, 'the stream ends with done once the step finished');
      assert.deepEqual(JSON.parse(rest.done.data), { status: 'success', exit_code: 0 });
      const all = [...first.lines, ...rest.lines];
      const expected = Array.from({ length: LINES }, (_, i) => `line ${i + 1}\n`);
      assert.deepEqual(
        all.filter((line) => line.out.startsWith('line ')).map((line) => line.out),
        expected,
      );
      assert.deepEqual(
        all.map((line) => line.pos),
        all.map((_, i) => i),
        'positions are consecutive across the reconnect',
      );
      // Whole, after the end, the stream is the stored log (Drone's log endpoint) line by line.
      const stored = await call(server, 'GET', `/api/repos/acme/web/builds/${build.number}/logs/1/1`);
      assert.deepEqual(
        all.map((line) => line.out),
        stored.map((line: { out: string }) => line.out),
      );
      const again = await readLog(server, path, { lastEventId: all.at(-1)!.id });
      assert.deepEqual(again.lines, [], 'a client that had everything gets nothing twice');
      assert.ok(again.done);
    });

    if (name !== 'postgres') return;

    test('given a client on the build feed, when a build runs, then it sees each transition in log order', async () => {
      const feed = await openSse(`${server.url}/api/stream`);
      try {
        assert.equal(feed.status, 200);
        await sleep(300); // the feed's follower starts at the log's end
        const build = await call(server, 'POST', '/api/repos/acme/web/builds', { config: execPipeline() });
        const seen: { id: string; type: string; status: string; number: number }[] = [];
        while (!seen.some((event) => event.number === build.number && event.type === 'BuildFinished')) {
          const event = (await feed.next(15_000))!;
          const data = JSON.parse(event.data);
          assert.equal(data.slug, 'acme/web');
          seen.push({ id: event.id!, type: data.event_type, status: data.build.status, number: data.build.number });
        }
        const mine = seen.filter((event) => event.number === build.number);
        const history = await call(server, 'GET', `/api/repos/acme/web/builds/${build.number}/events`);
        assert.deepEqual(
          mine.map((event) => event.type),
          history.map((event: { type: string }) => event.type),
        );
        assert.deepEqual(
          mine.map((event) => event.id),
          history.map((event: { position: string }) => event.position),
        );
        const statuses = mine.map((event) => event.status).filter((status, i, all) => status !== all[i - 1]);
        assert.deepEqual(statuses, ['pending', 'running', 'success']);

        // A client that saw only the first two events resumes after the second: the rest, once each.
        const resumed = await openSse(`${server.url}/api/stream`, { 'last-event-id': mine[1]!.id });
        try {
          const rest: string[] = [];
          while (rest.length < mine.length - 2) rest.push((await resumed.next(10_000))!.id!);
          assert.deepEqual(
            rest,
            mine.slice(2).map((event) => event.id),
          );
        } finally {
          resumed.close();
        }
      } finally {
        feed.close();
      }
    });

    test('given a private repo, when its build runs, then anonymous feed clients do not see it and the admin does', async () => {
      await call(server, 'POST', '/api/repos/acme/secret', { visibility: 'private' });
      const anonymous = await openSse(`${server.url}/api/stream`);
      const adminFeed = await openSse(`${server.url}/api/stream`, { authorization: admin.authorization });
      try {
        await sleep(300);
        const hidden = await call(server, 'POST', '/api/repos/acme/secret/builds', { config: execPipeline() });
        const shown = await call(server, 'POST', '/api/repos/acme/web/builds', { config: execPipeline() });
        const adminSlugs = new Set<string>();
        while (!adminSlugs.has('acme/web') || !adminSlugs.has('acme/secret')) adminSlugs.add(JSON.parse((await adminFeed.next(10_000))!.data).slug);
        let sawShown = false;
        while (!sawShown) {
          const data = JSON.parse((await anonymous.next(10_000))!.data);
          assert.notEqual(data.slug, 'acme/secret', `build ${hidden.number} of a private repo leaked to an anonymous client`);
          sawShown = data.build.number === shown.number;
        }
        await waitForBuild(server, 'acme/secret', hidden.number);
        const refused = await fetch(`${server.url}/api/stream/acme/secret/${hidden.number}/1/1`);
        assert.equal(refused.status, 401);
      } finally {
        anonymous.close();
        adminFeed.close();
      }
    });

    test('given a bad Last-Event-ID or step, when a stream is opened, then 400/404 JSON says why', async () => {
      const feed = await fetch(`${server.url}/api/stream`, { headers: { 'last-event-id': 'not-a-position' } });
      assert.equal(feed.status, 400);
      assert.match((await feed.json()).message, /Last-Event-ID/);
      const log = await fetch(`${server.url}/api/stream/acme/web/1/1/1`, { headers: { 'last-event-id': 'x' } });
      assert.equal(log.status, 400);
      const missing = await fetch(`${server.url}/api/stream/acme/web/1/1/9`);
      assert.equal(missing.status, 404);
      assert.match((await missing.json()).message, /step 1\/9/);
    });
  });
}

streamCases('postgres', { postgres: 'runlog_streams' });

streamCases('pglite', {});
