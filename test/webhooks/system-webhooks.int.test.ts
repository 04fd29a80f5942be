import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { verifyBody } from '../../src/webhooks/signature.ts';
import { webhookConfigFromEnv } from '../../src/webhooks/system-webhooks.ts';
import { adminHeaders, execPipeline, startApiServer, type ApiServer } from '../support/api-server.ts';

const TOKEN = 'webhooks-admin-token';
const SECRET = 'a-webhook-secret-of-some-length';
const admin = adminHeaders(TOKEN);

type Received = { status: number; delivery: string; event: string; signed: boolean; body: { event: string; action: string; repo: { slug: string }; build?: { number: number; status: string } } };

/** A loopback receiver that answers 500 to the first request, then 200, and records everything. */
function receiver(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const status = received.length === 0 ? 500 : 200;
      received.push({
        status,
        delivery: String(request.headers['x-runlog-delivery']),
        event: String(request.headers['x-runlog-event']),
        signed: verifyBody(SECRET, raw, request.headers['x-runlog-signature'] as string | undefined),
        body: JSON.parse(raw),
      });
      response.writeHead(status).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received })));
}

describe('system webhooks to a loopback receiver (Postgres, exec runner)', () => {
  let server: ApiServer;
  let hook: Awaited<ReturnType<typeof receiver>>;
  const logs: string[] = [];

  before(async () => {
    hook = await receiver();
    server = await startApiServer({
      postgres: 'runlog_webhooks',
      adminToken: TOKEN,
      embeddedRunner: { engine: 'exec', capacity: 1 },
      // The second endpoint refuses connections: it must cost a log line, never the first endpoint's messages.
      webhooks: { endpoints: [hook.url, 'http://127.0.0.1:9/closed'], secret: SECRET, retryDelaysMs: [100, 200] },
      log: (message) => logs.push(message),
    });
  });
  after(async () => {
    await server?.close();
    hook?.server.close();
  });

  test('given a repo enabled and a build run, then the receiver gets signed repo and build messages, the refused first one again', async () => {
    const call = async (method: string, path: string, body?: unknown) => (await fetch(`${server.url}${path}`, { method, headers: admin, body: JSON.stringify(body ?? {}) })).json();
    await call('POST', '/api/repos/acme/web', { visibility: 'public' });
    const build = await call('POST', '/api/repos/acme/web/builds', { config: execPipeline() });
    const wanted = (r: Received) => r.body.event === 'build' && r.body.build?.status === 'success';
    for (let i = 0; i < 200 && !hook.received.some(wanted); i++) await sleep(100);
    assert.ok(hook.received.some(wanted), `no success message; got ${JSON.stringify(hook.received.map((r) => r.body.action))}; logs ${logs.join('\n')}`);

    assert.ok(hook.received.every((r) => r.signed), 'every message carries a valid X-Runlog-Signature');
    const [refused, retried] = hook.received;
    assert.equal(refused!.status, 500);
    assert.equal(retried!.delivery, refused!.delivery, 'the refused message is sent again, same delivery id');
    assert.deepEqual(retried!.body, refused!.body);

    const accepted = hook.received.filter((r) => r.status === 200);
    assert.deepEqual(
      accepted.map((r) => [r.body.event, r.body.action, r.body.build?.status ?? '']),
      [
        ['repo', 'enabled', ''],
        ['build', 'created', 'pending'],
        ['build', 'updated', 'running'],
        ['build', 'updated', 'success'],
      ],
    );
    assert.ok(accepted.every((r) => r.body.repo.slug === 'acme/web' && r.event === r.body.event));
    assert.ok(accepted.slice(1).every((r) => r.body.build!.number === build.number));
    assert.equal(new Set(accepted.map((r) => r.delivery)).size, accepted.length, 'one delivery id per message');
    assert.ok(logs.some((line) => /system webhook .* to http:\/\/127\.0\.0\.1:9\/closed failed after 3 tries/.test(line)), logs.join('\n'));
  });

  test('given a repo changed and then deactivated, then the receiver gets signed repo updated and disabled messages with the repo as it became', async () => {
    const call = (method: string, path: string, body?: unknown) => fetch(`${server.url}${path}`, { method, headers: admin, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    await call('POST', '/api/repos/acme/settings', {});
    assert.equal((await call('PATCH', '/api/repos/acme/settings', { timeout: 42 })).status, 200);
    assert.equal((await call('DELETE', '/api/repos/acme/settings')).status, 200);
    const mine = () => hook.received.filter((r) => r.status === 200 && r.body.event === 'repo' && r.body.repo.slug === 'acme/settings');
    for (let i = 0; i < 100 && mine().length < 3; i++) await sleep(100);
    const messages = mine() as (Received & { body: { repo: { timeout: number; active: boolean } } })[];
    assert.deepEqual(messages.map((r) => r.body.action), ['enabled', 'updated', 'disabled']);
    assert.ok(messages.every((r) => r.signed && r.event === 'repo'));
    assert.equal(messages[1]!.body.repo.timeout, 42);
    assert.equal(messages[2]!.body.repo.active, false);
  });

  test('given bad settings, when read from the environment, then the error says what is wrong', () => {
    assert.equal(webhookConfigFromEnv({}), undefined);
    assert.throws(() => webhookConfigFromEnv({ RUNLOG_WEBHOOK_ENDPOINT: 'ftp://x', RUNLOG_WEBHOOK_SECRET: SECRET }), /http\(s\) URLs/);
    assert.throws(() => webhookConfigFromEnv({ RUNLOG_WEBHOOK_ENDPOINT: 'http://x/a' }), /RUNLOG_WEBHOOK_SECRET/);
    assert.deepEqual(webhookConfigFromEnv({ RUNLOG_WEBHOOK_ENDPOINT: 'http://a/1, https://b/2', RUNLOG_WEBHOOK_SECRET: SECRET }), { endpoints: ['http://a/1', 'https://b/2'], secret: SECRET });
  });
});
