import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newSecretKeyText, parseSecretKey } from '../../src/secrets/sealed-value.ts';
import { startApiServer, type ApiServer } from '../support/api-server.ts';
import { runlogAsync, type CliResult } from './run-cli.ts';

// `runlog build|repo|secret` as a user runs them (`node bin/runlog.js ...`) against a real
// server: startServer on a fresh Postgres database, its built-in runner on the exec engine.
const TOKEN = 'cli-admin-token';
const PIPELINE = `kind: pipeline
type: exec
name: default
clone:
  disable: true
steps:
- name: greet
  commands:
  - echo one
  - sleep 1
  - echo two
`;

describe('runlog build against a server', () => {
  let server: ApiServer;
  let cwd: string;

  before(async () => {
    server = await startApiServer({ postgres: 'runlog_cli_api', adminToken: TOKEN, secretKey: parseSecretKey(newSecretKeyText()) });
    cwd = await mkdtemp(join(tmpdir(), 'runlog-cli-'));
    await writeFile(join(cwd, '.drone.yml'), PIPELINE);
    const activated = await fetch(`${server.url}/api/repos/acme/web`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(activated.status, 200);
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

  test('build create, ls, info, logs --follow while it runs, then restart as a new build with a parent', async () => {
    const created = ok(await runlog(['build', 'create', 'acme/web', '--config', '.drone.yml', '--branch', 'main', '--param', 'GREETING=hi']));
    assert.match(created, /Build #1: pending/);
    assert.match(created, /Params: +GREETING=hi/);
    const followed = ok(await runlog(['build', 'logs', 'acme/web', '1', '1', '1', '--follow', '--interval', '200ms']));
    assert.match(followed, /one\n[\s\S]*two\n/);
    const info = ok(await runlog(['build', 'info', 'acme/web', '1']));
    assert.match(info, /Build #1: success/);
    assert.match(info, /1\/1 greet: success exit 0/);
    assert.match(ok(await runlog(['build', 'logs', 'acme/web', '1', '1', '1'])), /one\n[\s\S]*two\n/);
    const listed = ok(await runlog(['build', 'ls', 'acme/web']));
    assert.match(listed, /^BUILD +STATUS +EVENT +BRANCH/);
    assert.match(listed, /#1 +success +custom +main/);
    const restarted = ok(await runlog(['build', 'restart', 'acme/web', '1', '--param', 'GREETING=again']));
    assert.match(restarted, /Build #2: pending/);
    assert.match(restarted, /Parent: +#1/);
    assert.match(restarted, /GREETING=again/);
    const json = JSON.parse(ok(await runlog(['build', 'info', 'acme/web', '2', '--json'])));
    assert.equal(json.parent, 1);
    // --from-step: the restart-step route (POST .../builds/{n}/restart?stage=&step=).
    const fromStep = ok(await runlog(['build', 'restart', 'acme/web', '1', '--from-step', '1/1']));
    assert.match(fromStep, /Build #3: /);
    assert.match(fromStep, /Parent: +#1/);
    const badStep = await runlog(['build', 'restart', 'acme/web', '1', '--from-step', 'first']);
    assert.equal(badStep.code, 2);
    assert.match(badStep.stderr, /--from-step expects <stage>\/<step>/);
  });

  test('build approve, cancel and promote', async () => {
    ok(await runlog(['repo', 'update', 'acme/web', '--protected']));
    const blocked = ok(await runlog(['build', 'create', 'acme/web', '--config', '.drone.yml']));
    ok(await runlog(['repo', 'update', 'acme/web', '--protected=false']));
    const number = Number(/Build #(\d+): blocked/.exec(blocked)?.[1]);
    assert.ok(number > 0, blocked);
    assert.match(ok(await runlog(['build', 'approve', 'acme/web', String(number), '1'])), /: (pending|running|success)/);
    const again = await runlog(['build', 'approve', 'acme/web', String(number)]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not blocked|already finished/);

    await writeFile(join(cwd, 'slow.yml'), PIPELINE.replace('sleep 1', 'sleep 30'));
    const slow = Number(/Build #(\d+)/.exec(ok(await runlog(['build', 'create', 'acme/web', '--config', 'slow.yml'])))?.[1]);
    // A running build is killed once its runner stopped the step: the answer may still say running.
    assert.match(ok(await runlog(['build', 'cancel', 'acme/web', String(slow)])), new RegExp(`Build #${slow}: (running|killed)`));
    const deadline = Date.now() + 20_000;
    let info = '';
    // Wait on the build's own line: its stage's line says killed first.
    while (!new RegExp(`Build #${slow}: killed`).test(info) && Date.now() < deadline) info = ok(await runlog(['build', 'info', 'acme/web', String(slow)]));
    assert.match(info, new RegExp(`Build #${slow}: killed`));

    // Drone runs a pipeline without a trigger on every event, promote included.
    const promoted = ok(await runlog(['build', 'promote', 'acme/web', '1', 'production', '--param', 'VERSION=1.2']));
    assert.match(promoted, /Event: +promote to production/);
    assert.match(promoted, /Parent: +#1/);
    assert.match(promoted, /VERSION=1\.2/);
  });

  test('errors say what to do, with exit 1 for the server and 2 for the command line', async () => {
    const noToken = await runlog(['build', 'create', 'acme/web', '--config', '.drone.yml'], { RUNLOG_TOKEN: '' });
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /no token given: set RUNLOG_TOKEN or --token/);
    const down = await runlog(['build', 'ls', 'acme/web'], { RUNLOG_SERVER: 'http://127.0.0.1:9' });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /is the server running at http:\/\/127\.0\.0\.1:9\? set RUNLOG_SERVER/);
    const usage = await runlog(['build', 'info', 'acme/web', 'first']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /expected a build number/);
    assert.equal((await runlog(['build', 'frobnicate', 'acme/web'])).code, 2);
    assert.equal((await runlog(['repo', 'add', 'acme/web', '--trusted=perhaps'])).code, 2);
    const noConfig = await runlog(['build', 'create', 'acme/web', '--config', 'missing.yml']);
    assert.equal(noConfig.code, 2);
    assert.match(noConfig.stderr, /cannot read missing\.yml: ENOENT/);
    const noStep = await runlog(['build', 'logs', 'acme/web', '1', '1', '9']);
    assert.equal(noStep.code, 1);
    assert.match(noStep.stderr, /step 1\/9 of build acme\/web#1 not found \(404\)/);
  });
});
