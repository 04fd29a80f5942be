import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { adminHeaders, startApiApp, type ApiApp } from '../support/api-server.ts';

// An event appended while a request is handled carries that request's id in its metadata
// (`requestId`, beside the actor), the id the answer's X-Request-Id and the access log line
// carry: `runlog events --json` and the logs meet on it.

const TOKEN = 'request-id-admin-token';
const admin = adminHeaders(TOKEN);
const PIPELINE = 'kind: pipeline\ntype: exec\nname: default\nclone:\n  disable: true\nsteps:\n- name: a\n  commands: [true]\n';

describe('request ids in event metadata (Postgres, no socket)', () => {
  let api: ApiApp;
  const logLines: { requestId?: string; path?: string; status?: number }[] = [];

  before(async () => {
    const logger = pino({}, { write: (line: string) => void logLines.push(JSON.parse(line)) });
    api = await startApiApp({ postgres: 'runlog_request_id', adminToken: TOKEN, logger });
  });
  after(() => api.close());

  const eventsSince = async (position: number) =>
    api.database.query<{ type: string; metadata: Record<string, unknown>; global_position: string }>(
      sql`select type, metadata, global_position from events where global_position > ${position} order by global_position`,
    );
  const lastPosition = async () => Number((await api.database.query<{ p: string | null }>(sql`select max(global_position) as p from events`))[0]!.p ?? 0);

  test('given a request with a sane X-Request-Id, then it is echoed, and the events it appended (event store and createBuild paths) carry it beside the actor, as its log line does', async () => {
    const start = await lastPosition();
    const activated = await api.app.request('/api/repos/acme/web', { method: 'POST', headers: { ...admin, 'x-request-id': 'req-activate.1' }, body: '{}' });
    assert.equal(activated.status, 200);
    assert.equal(activated.headers.get('x-request-id'), 'req-activate.1');
    const created = await api.app.request('/api/repos/acme/web/builds', { method: 'POST', headers: { ...admin, 'x-request-id': 'req_build-2' }, body: JSON.stringify({ config: PIPELINE }) });
    assert.equal(created.status, 200, await created.clone().text());
    const { number } = await created.json();
    const cancelled = await api.app.request(`/api/repos/acme/web/builds/${number}`, { method: 'DELETE', headers: { ...admin, 'x-request-id': 'req-cancel-3' } });
    assert.ok(cancelled.status < 300, await cancelled.clone().text());

    const events = await eventsSince(start);
    const byType = (type: string) => events.filter((event) => event.type === type);
    assert.ok(byType('RepoActivated').length === 1, events.map((e) => e.type).join());
    assert.equal(byType('RepoActivated')[0]!.metadata.requestId, 'req-activate.1');
    assert.equal(byType('BuildCreated')[0]!.metadata.requestId, 'req_build-2');
    assert.equal(byType('CancelRequested')[0]!.metadata.requestId, 'req-cancel-3');
    assert.equal(byType('CancelRequested')[0]!.metadata.actor, 'admin');
    for (const event of events) assert.match(String(event.metadata.requestId), /^req/, `${event.type} has a request id`);
    for (const id of ['req-activate.1', 'req_build-2', 'req-cancel-3']) {
      assert.ok(logLines.some((line) => line.requestId === id && (line.status ?? 500) < 300), `a log line for ${id}`);
    }
  });

  test('given no X-Request-Id or one that is not sane, then the server makes one, answers with it and puts that one in the events', async () => {
    for (const given of [undefined, 'has spaces', 'x'.repeat(200), 'semi;colon']) {
      const start = await lastPosition();
      const headers = given === undefined ? admin : { ...admin, 'x-request-id': given };
      const response = await api.app.request('/api/repos/acme/web', { method: 'PATCH', headers, body: JSON.stringify({ timeout: 30 + start }) });
      assert.equal(response.status, 200, await response.clone().text());
      const id = response.headers.get('x-request-id')!;
      assert.match(id, /^[0-9a-f-]{36}$/);
      const events = await eventsSince(start);
      assert.ok(events.length >= 1);
      for (const event of events) assert.equal(event.metadata.requestId, id);
    }
  });

  test('given an event appended outside any request, then it carries no request id', async () => {
    const start = await lastPosition();
    await api.store.append('test-outside-1', 0, [{ type: 'Noted', data: {} }], { actor: 'test' });
    const [event] = await eventsSince(start);
    assert.deepEqual(event!.metadata, { actor: 'test' });
  });
});
