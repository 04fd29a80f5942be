import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createApp } from '../../src/api/app.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { adminHeaders, execPipeline, startApiServer, type ApiServer } from '../support/api-server.ts';

const TOKEN = 'operator-admin-token';
const admin = adminHeaders(TOKEN);

/** Prometheus text format: comments, or `name{labels} value`. */
const METRIC_LINE = /^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+|[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\} (\+Inf|NaN))$/;

function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.trimEnd().split('\n')) {
    assert.match(line, METRIC_LINE, `not a Prometheus line: ${line}`);
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

describe('operator surface: metrics, request ids, OpenAPI (Postgres, real HTTP)', () => {
  let server: ApiServer;
  const logLines: string[] = [];

  before(async () => {
    const logger = pino({}, { write: (line: string) => void logLines.push(line) });
    server = await startApiServer({ postgres: 'runlog_operator', adminToken: TOKEN, embeddedRunner: { engine: 'exec', capacity: 1 }, logger });
  });
  after(() => server?.close());

  const metrics = async () => {
    const response = await fetch(`${server.url}/metrics`, { headers: admin });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseMetrics(await response.text());
  };

  test('given a build that runs, when /metrics is scraped before and after, then every line parses and the numbers move', async () => {
    assert.equal((await fetch(`${server.url}/metrics`)).status, 401, 'metrics need the admin token');
    const before = await metrics();
    assert.equal(before.get('runlog_builds{status="success"}') ?? 0, 0);
    await fetch(`${server.url}/api/repos/acme/web`, { method: 'POST', headers: admin, body: '{}' });
    const build = await (await fetch(`${server.url}/api/repos/acme/web/builds`, { method: 'POST', headers: admin, body: JSON.stringify({ config: execPipeline() }) })).json();
    for (let i = 0; i < 200; i++) {
      const now = await (await fetch(`${server.url}/api/repos/acme/web/builds/${build.number}`, { headers: admin })).json();
      if (now.status === 'success') break;
      await sleep(100);
    }
    const afterRun = await metrics();
    assert.equal(afterRun.get('runlog_builds{status="success"}'), 1);
    assert.equal(afterRun.get('runlog_stage_duration_seconds_count'), 1);
    assert.equal(afterRun.get('runlog_stage_duration_seconds_bucket{le="+Inf"}'), 1);
    assert.equal(afterRun.get('runlog_queue_depth'), 0);
    assert.ok(afterRun.has('runlog_runners'));
    assert.ok((afterRun.get('runlog_http_requests_total{route="/api/repos/:owner/:name/builds",method="POST",status="200"}') ?? 0) >= 1);
    assert.ok((afterRun.get('runlog_http_requests_total{route="/metrics",method="GET",status="401"}') ?? 0) >= 1);
  });

  test('given a request with X-Request-Id, then it is echoed and in its log line; without one, one is made', async () => {
    const given = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'req-abc.123' } });
    assert.equal(given.headers.get('x-request-id'), 'req-abc.123');
    const made = await fetch(`${server.url}/api/repos/nobody/nothing`);
    assert.equal(made.status, 404);
    const id = made.headers.get('x-request-id')!;
    assert.match(id, /^[0-9a-f-]{36}$/);
    const bad = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'spaces are not ok' } });
    assert.notEqual(bad.headers.get('x-request-id'), 'spaces are not ok');
    await sleep(50);
    const lines = logLines.map((line) => JSON.parse(line) as { requestId?: string; status?: number; route?: string });
    assert.ok(lines.some((line) => line.requestId === 'req-abc.123' && line.status === 200 && line.route === '/healthz'));
    assert.ok(lines.some((line) => line.requestId === id && line.status === 404));
  });

  test('given the app, when /openapi.json is read, then it is OpenAPI 3.1 with every route and resolvable schemas', async () => {
    const app = createApp({ database: server.database, store: createEventStore(server.database), adminToken: TOKEN, system: { host: 'x', proto: 'http', version: 't' }, waitForProjections: async () => {}, log: () => {} });
    const document = await (await app.request('/openapi.json')).json();
    assert.equal(document.openapi, '3.1.0');
    for (const route of app.routes) {
      if (route.method === 'ALL' || route.path.includes('*')) continue;
      const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      assert.ok(document.paths[path]?.[route.method.toLowerCase()], `${route.method} ${route.path} is documented`);
    }
    const refs = JSON.stringify(document).match(/"\$ref":"[^"]+"/g) ?? [];
    assert.ok(refs.length > 0);
    for (const ref of refs) {
      const target = ref.slice(8, -1).replace(/^#\//, '').split('/');
      assert.ok(target.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document), `${ref} resolves`);
    }
    assert.equal(document.components.schemas.RepoBody.type, 'object');
    const page = await (await app.request('/docs')).text();
    assert.match(page, /<table>/);
    assert.doesNotMatch(page, /<(script|link)[^>]+(src|href)="https?:/, 'no CDN: the page works offline');
    assert.ok(page.includes('/api/stream'));
  });

  test('given bad requests, then every refusal is JSON with a message and a 4xx', async () => {
    for (const [method, path, body] of [
      ['POST', '/api/repos/acme/web/builds', '{not json'],
      ['PUT', '/api/repos/acme/web', '{}'],
      ['GET', '/api/repos/acme/web/builds/abc', undefined],
    ] as const) {
      const response = await fetch(`${server.url}${path}`, { method, headers: admin, body });
      assert.ok(response.status >= 400 && response.status < 500, `${method} ${path}: ${response.status}`);
      assert.equal(typeof (await response.json()).message, 'string');
    }
  });
});
