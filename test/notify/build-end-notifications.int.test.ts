import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { openPostgres } from '../../src/events/database.ts';
import { notifyConfigFromEnv, type NotifyConfig } from '../../src/notify/build-end-notifier.ts';
import { newSecretKeyText, parseSecretKey } from '../../src/secrets/sealed-value.ts';
import { startServer, type RunningServer } from '../../src/server/runtime.ts';
import { verifyBody } from '../../src/webhooks/signature.ts';
import { adminHeaders } from '../support/api-server.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';

// Given/when/then against the real parts: Postgres, the exec runner, a real SMTP server
// (smtp-server, with a login) and an HTTP receiver on loopback.
const TOKEN = 'notify-admin-token';
const SMTP_PASSWORD = 's3cret-smtp-pass';
const HOOK_SECRET = 'repo-hook-secret-0123456789';
const SECRET_VALUE = 'hunter2-secret-value';
const admin = adminHeaders(TOKEN);

const pipeline = (pass: boolean) => `kind: pipeline
type: exec
name: default
clone:
  disable: true
steps:
- name: test
  environment:
    TOKEN: { from_secret: token }
  commands:
  - for i in $(seq 1 70); do echo "output line $i"; done
  - echo "token is $TOKEN"
  - ${pass ? 'true' : 'exit 3'}
`;

type Mail = { to: string[]; subject: string; text: string; messageId: string };

/** An SMTP server on loopback that wants a login and keeps what it receives (quoted-printable decoded). */
function smtpServer(port: number, mails: Mail[]): Promise<SMTPServer> {
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth: (auth, _session, callback) => (auth.username === 'ci' && auth.password === SMTP_PASSWORD ? callback(null, { user: 'ci' }) : callback(new Error('bad login'))),
    onData: (stream, session, callback) => {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      stream.on('end', () => {
        const [head = '', ...body] = raw.split('\r\n\r\n');
        const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(head)?.[1] ?? '';
        let text = body.join('\r\n\r\n');
        if (/quoted-printable/i.test(head)) text = text.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
        mails.push({ to: session.envelope.rcptTo.map((rcpt) => rcpt.address), subject: header('Subject'), text: text.replace(/\r\n/g, '\n'), messageId: header('Message-ID') });
        callback();
      });
    },
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

type Hooked = { status: number; delivery: string; signed: boolean; body: { action: string; previous_status: string; repo: { slug: string }; build: { number: number; status: string; finished: number } } };

/** A repo webhook receiver that refuses its first POST with a 500. */
function receiver(): Promise<{ server: Server; url: string; received: Hooked[] }> {
  const received: Hooked[] = [];
  const server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const status = received.length === 0 ? 500 : 200;
      received.push({ status, delivery: String(request.headers['x-runlog-delivery']), signed: verifyBody(HOOK_SECRET, raw, request.headers['x-runlog-signature'] as string), body: JSON.parse(raw) });
      response.writeHead(status).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ci`, received })));
}

async function until<T>(what: string, probe: () => T | undefined | false, detail: () => string = () => ''): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = probe();
    if (value) return value;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}; ${detail()}`);
}

describe('build-end notifications (Postgres, exec runner, SMTP and HTTP on loopback)', () => {
  let server: RunningServer;
  let url: string;
  let smtp: SMTPServer;
  let smtpPort: number;
  let hook: Awaited<ReturnType<typeof receiver>>;
  const mails: Mail[] = [];
  const logLines: string[] = [];
  const secretKey = parseSecretKey(newSecretKeyText());
  let config: NotifyConfig;

  const start = async () =>
    startServer({
      database: await openPostgres(url),
      adminToken: TOKEN,
      secretKey,
      port: 0,
      hostname: '127.0.0.1',
      publicHost: 'ci.example.test',
      embeddedRunner: { engine: 'exec', capacity: 1 },
      notify: config,
      logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
      log: (message) => logLines.push(message),
    });
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, { method, headers: admin, ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }) });
    return { status: response.status, json: await response.json() };
  };
  /** Runs a build on main to its end; the build as the API tells it then. */
  const finished = async (pass: boolean) => {
    const created = await call('POST', '/api/repos/acme/web/builds?branch=main', { config: pipeline(pass) });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const number = created.json.number as number;
    for (let i = 0; i < 300; i++) {
      const { json } = await call('GET', `/api/repos/acme/web/builds/${number}`);
      if (!['pending', 'running'].includes(json.status)) return json as { number: number; status: string; version: number };
      await sleep(100);
    }
    return assert.fail(`build #${number} did not end`);
  };

  before(async () => {
    smtp = await smtpServer(0, mails);
    smtpPort = (smtp.server.address() as AddressInfo).port;
    hook = await receiver();
    config = notifyConfigFromEnv({
      RUNLOG_SMTP_URL: `smtp://ci:${SMTP_PASSWORD}@127.0.0.1:${smtpPort}`,
      RUNLOG_SMTP_FROM: 'runlog <ci@example.test>',
      RUNLOG_NOTIFY_EMAIL: 'ops@example.test',
    });
    config = { ...config, retryDelaysMs: [300, 600, 1200, 2400, 4800], timeoutMs: 3000 };
    url = await freshDatabaseUrl('runlog_notify');
    server = await start();
    assert.equal((await call('POST', '/api/repos/acme/web', {})).status, 200);
    assert.equal((await call('POST', '/api/repos/acme/web/secrets', { name: 'token', data: SECRET_VALUE })).status, 200);
    const patched = await call('PATCH', '/api/repos/acme/web', { notify_on: ['change'], notify_webhook: hook.url, notify_webhook_secret: HOOK_SECRET });
    assert.equal(patched.status, 200, JSON.stringify(patched.json));
    assert.equal(patched.json.notify_webhook_signed, true);
    assert.ok(!JSON.stringify(patched.json).includes(HOOK_SECRET), 'the webhook secret is write-only');
  });
  after(async () => {
    await server?.close();
    hook?.server.close();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    if (url) await dropDatabase(url);
  });

  test('given notify_on change, when builds fail, fail, pass, fail, then mail goes out for the two changes, with link and masked log tail', async () => {
    assert.equal((await finished(false)).status, 'failure'); // #1: first on the ref, no change
    assert.equal((await finished(false)).status, 'failure'); // #2: failure again
    assert.equal((await finished(true)).status, 'success'); // #3: changed
    assert.equal((await finished(false)).status, 'failure'); // #4: changed
    await until('two emails', () => mails.length >= 2, () => logLines.join('\n'));
    await sleep(500);
    assert.deepEqual(mails.map((mail) => mail.subject), ['[runlog] acme/web #3 success', '[runlog] acme/web #4 failure']);
    const [passed, failed] = mails as [Mail, Mail];
    assert.deepEqual(failed.to, ['ops@example.test'], "the server's recipients: the repo names none");
    assert.match(passed.text, /#3: success \(was failure\)/);
    assert.match(failed.text, /Link: +http:\/\/ci\.example\.test\/acme\/web\/4\n/);
    assert.match(failed.text, /Failed step: test \(stage default, exit code 3\)/);
    assert.match(failed.text, /Last 50 lines of its log:\n/);
    // 47 output lines, then the shell's trace of the last two commands and their output.
    assert.match(failed.text, /Last 50 lines of its log:\n  output line 24\n/);
    assert.doesNotMatch(failed.text, /output line 23\n/, 'only the last 50 lines');
    assert.match(failed.text, /token is \S+/);
    assert.ok(!failed.text.includes(SECRET_VALUE), 'the secret is masked in the mail as in the log');
  });

  test('given the repo webhook refuses the first POST, then every build end reaches it signed, the refused one again', async () => {
    await until('4 accepted webhook posts', () => hook.received.filter((r) => r.status === 200).length >= 4, () => JSON.stringify(hook.received));
    const [refused, retried] = hook.received as [Hooked, Hooked];
    assert.equal(refused.status, 500);
    assert.equal(retried.delivery, refused.delivery, 'the refused post is sent again, same delivery id');
    assert.ok(hook.received.every((r) => r.signed), 'every post carries a valid X-Runlog-Signature');
    const accepted = hook.received.filter((r) => r.status === 200);
    assert.deepEqual(accepted.map((r) => [r.body.action, r.body.build.number, r.body.build.status, r.body.previous_status]), [
      ['ended', 1, 'failure', ''],
      ['ended', 2, 'failure', 'failure'],
      ['ended', 3, 'success', 'failure'],
      ['ended', 4, 'failure', 'success'],
    ]);
    assert.ok(accepted.every((r) => r.body.build.finished > 0 && r.body.repo.slug === 'acme/web'), 'the build as it finished');
    assert.ok(accepted.every((r) => !('notify_webhook' in r.body.repo)), "the repo's notification settings stay out of the post");
    assert.ok(logLines.some((line) => /repo webhook of acme\/web#1 to http:\/\/127\.0\.0\.1:\d+ failed \(try 1 of/.test(line)), 'the refusal is logged');
  });

  test('given the SMTP server down, when a build fails, then it ends failed, the failure is logged and retried, and the mail goes out once the server is back', async () => {
    assert.equal((await call('PATCH', '/api/repos/acme/web', { notify_on: ['failure'], notify_email: ['dev@example.test'] })).status, 200);
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    const build = await finished(false); // #5
    assert.equal(build.status, 'failure', 'the build keeps its own status');
    await until('a logged failed try', () => logLines.some((line) => line.includes('"component":"notify"') && /email about acme\/web#5 to smtp:\S+ failed \(try 1/.test(line)), () => logLines.join('\n'));
    smtp = await smtpServer(smtpPort, mails);
    await until('the retried email', () => mails.find((mail) => mail.subject === '[runlog] acme/web #5 failure'), () => logLines.join('\n'));
    assert.deepEqual(mails.at(-1)!.to, ['dev@example.test'], "the repo's own recipients");
    const line = logLines.find((text) => /#5 to smtp:\S+ failed \(try 1/.test(text))!;
    assert.equal(JSON.parse(line).level, 40, 'a failed try is a pino warning');
    assert.match(line, /"target":"smtp:\/\/127\.0\.0\.1:\d+"/);
    const { json } = await call('GET', '/api/repos/acme/web/builds/5');
    assert.equal(json.version, build.version, 'the notification added nothing to the build');
    assert.equal(json.status, 'failure');
    assert.ok(!logLines.some((text) => text.includes('/ci"') || text.includes('/ci ')), 'webhook URLs are logged without their path (it may be a key)');
    assert.ok(!logLines.some((text) => text.includes(SMTP_PASSWORD) || text.includes(SECRET_VALUE) || text.includes(HOOK_SECRET)), 'no secret in the logs');
  });

  test('given a restart, then no build end is notified twice and the next one is', async () => {
    const before = { mails: mails.length, posts: hook.received.length };
    await server.close();
    server = await start();
    assert.equal((await finished(false)).status, 'failure'); // #6
    await until('the email of #6', () => mails.find((mail) => mail.subject === '[runlog] acme/web #6 failure'), () => logLines.join('\n'));
    await until('the post of #6', () => hook.received.find((r) => r.body.build.number === 6));
    await sleep(500);
    assert.equal(mails.length, before.mails + 1, mails.map((mail) => mail.subject).join(', '));
    assert.equal(hook.received.length, before.posts + 1);
  });

  test('given bad notification settings, then 400 naming the field, and bad server settings say what is wrong', async () => {
    for (const [body, field] of [
      [{ notify_email: ['not an address'] }, 'notify_email'],
      [{ notify_on: ['sometimes'] }, 'notify_on'],
      [{ notify_on: ['failure', 'failure'] }, 'notify_on'],
      [{ notify_webhook: 'ftp://x' }, 'notify_webhook'],
      [{ notify_webhook_secret: 'short' }, 'notify_webhook_secret'],
      [{ registry: 'not a host/' }, 'registry'],
    ] as const) {
      const answer = await call('PATCH', '/api/repos/acme/web', body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.match(answer.json.message, new RegExp(field), JSON.stringify(answer.json));
    }
    assert.throws(() => notifyConfigFromEnv({ RUNLOG_SMTP_URL: 'http://ci:pw@x' }), (error: Error) => /RUNLOG_SMTP_URL/.test(error.message) && !error.message.includes('pw'));
    assert.throws(() => notifyConfigFromEnv({ RUNLOG_NOTIFY_ON: 'failure,often' }), /RUNLOG_NOTIFY_ON.*often/);
    assert.throws(() => notifyConfigFromEnv({ RUNLOG_NOTIFY_EMAIL: 'ops' }), /RUNLOG_NOTIFY_EMAIL/);
    assert.deepEqual(notifyConfigFromEnv({}), { recipients: [], on: ['failure', 'change'] });
  });
});
