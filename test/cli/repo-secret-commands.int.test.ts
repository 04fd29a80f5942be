import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newSecretKeyText, parseSecretKey } from '../../src/secrets/sealed-value.ts';
import { startApiServer, type ApiServer } from '../support/api-server.ts';
import { runlogAsync, type CliResult } from './run-cli.ts';

// `runlog repo|secret` as a user runs them (build: api-commands.int.test.ts) (`node bin/runlog.js ...`) against a real
// server: startServer on a fresh Postgres database, its built-in runner on the exec engine.
const TOKEN = 'cli-admin-token';

describe('runlog repo and secret against a server', () => {
  let server: ApiServer;
  let cwd: string;

  before(async () => {
    server = await startApiServer({ postgres: 'runlog_cli_api', adminToken: TOKEN, secretKey: parseSecretKey(newSecretKeyText()) });
    cwd = await mkdtemp(join(tmpdir(), 'runlog-cli-'));
  });
  after(async () => {
    await server.close();
    await rm(cwd, { recursive: true, force: true });
  });

  const runlog = (args: string[], env: Record<string, string | undefined> = {}) =>
    runlogAsync(args, { cwd, env: { RUNLOG_SERVER: `http://127.0.0.1:${server.port}`, RUNLOG_TOKEN: TOKEN, RUNLOG_DATA: join(cwd, '.runlog'), ...env } });
  const ok = (result: CliResult) => {
    assert.equal(result.code, 0, `exit ${result.code}\n${result.stdout}${result.stderr}`);
    return result.stdout;
  };

  test('repo add, info and ls; adding twice says to update instead', async () => {
    assert.match(ok(await runlog(['repo', 'add', 'acme/web', '--clone-url', 'https://git.example.test/acme/web.git', '--trusted', '--timeout', '30'])), /Repository: acme\/web/);
    const info = ok(await runlog(['repo', 'info', 'acme/web']));
    assert.match(info, /Clone URL: +https:\/\/git\.example\.test\/acme\/web\.git/);
    assert.match(info, /Trusted: true/);
    assert.match(info, /Timeout: 30m/);
    assert.match(ok(await runlog(['repo', 'ls'])), /acme\/web +private +main/);
    const again = await runlog(['repo', 'add', 'acme/web']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already active: PATCH/);
    assert.match(ok(await runlog(['repo', 'update', 'acme/web', '--protected=false', '--timeout', '20'])), /Timeout: 20m/);
    const notify = ok(await runlog(['repo', 'update', 'acme/web', '--registry', 'registry.example:5000', '--notify-email', 'a@example.test, b@example.test', '--notify-on', 'failure,change', '--notify-webhook', 'https://hooks.example.test/ci']));
    assert.match(notify, /Registry: +registry\.example:5000/);
    assert.match(notify, /Notify: +email a@example\.test, b@example\.test on failure, change; webhook https:\/\/hooks\.example\.test\/ci/);
    assert.match(ok(await runlog(['repo', 'update', 'acme/web', '--notify-email', '', '--notify-on', 'default'])), /Notify: +email \(the server's\) on \(the server's\)/);
    const bad = await runlog(['repo', 'update', 'acme/web', '--notify-on', 'sometimes']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /notify_on/);
    const missing = await runlog(['repo', 'info', 'acme/nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /repository acme\/nope not found \(404\)/);
  });

  test('secret add, ls and rm with Drone\'s JSON; the value never comes back', async () => {
    assert.match(ok(await runlog(['secret', 'add', 'acme/web', '--name', 'docker_password', '--data', 'hunter2-correct-horse'])), /added secret docker_password to acme\/web/);
    const listed = ok(await runlog(['secret', 'ls', 'acme/web']));
    assert.match(listed, /docker_password +withheld/);
    const json = ok(await runlog(['secret', 'ls', 'acme/web', '--json']));
    assert.doesNotMatch(json, /hunter2/);
    assert.equal(JSON.parse(json)[0].name, 'docker_password');
    assert.match(ok(await runlog(['secret', 'rm', 'acme/web', '--name', 'docker_password'])), /removed secret docker_password/);
    assert.match(ok(await runlog(['secret', 'ls', 'acme/web'])), /no secrets in acme\/web/);
    const gone = await runlog(['secret', 'rm', 'acme/web', 'docker_password']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /not found \(404\)/);
  });

});
