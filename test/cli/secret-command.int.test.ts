import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { run } from '../../src/cli/secret.ts';

// `runlog secret` speaks Drone's secrets API (`name`, `data`, `pull_request`). Until the
// server's secret routes are on main, a loopback server records what the command sends and
// answers as Drone does; the command's side is what this file proves.
type Seen = { method: string; url: string; authorization?: string; body: string };

describe('runlog secret (against a loopback server that answers as Drone)', () => {
  let server: Server;
  let url: string;
  let dir: string;
  const seen: Seen[] = [];
  const stored = new Map<string, { name: string; pull_request: boolean }>();

  const read = (request: IncomingMessage) => new Promise<string>((resolve) => {
    let text = '';
    request.on('data', (chunk) => (text += chunk));
    request.on('end', () => resolve(text));
  });

  before(async () => {
    server = createServer(async (request, response) => {
      const body = await read(request);
      seen.push({ method: request.method!, url: request.url!, authorization: request.headers.authorization, body });
      const send = (status: number, json?: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(json === undefined ? '' : JSON.stringify(json));
      };
      if (request.headers.authorization !== 'Bearer secret-token') return send(401, { message: 'invalid token' });
      const match = /^\/api\/repos\/acme\/web\/secrets(?:\/([^/?]+))?$/.exec(request.url!);
      if (!match) return send(404, { message: 'repository not found' });
      if (request.method === 'POST') {
        const secret = JSON.parse(body) as { name: string; pull_request: boolean };
        stored.set(secret.name, { name: secret.name, pull_request: secret.pull_request });
        return send(200, stored.get(secret.name));
      }
      if (request.method === 'GET') return send(200, [...stored.values()]);
      if (request.method === 'DELETE') return stored.delete(decodeURIComponent(match[1] ?? '')) ? send(204) : send(404, { message: 'secret not found' });
      send(405, { message: 'method not allowed' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    dir = await mkdtemp(join(tmpdir(), 'runlog-secret-'));
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  async function secret(args: string[], token = 'secret-token') {
    let out = '';
    const stdout = new Writable({ write: (chunk, _encoding, done) => ((out += chunk), done()) });
    const errors: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => (errors.push(text), true)) as typeof process.stderr.write;
    try {
      const code = await run(args, { stdout, env: { RUNLOG_SERVER: url, RUNLOG_TOKEN: token, RUNLOG_DATA: dir } });
      return { code, stdout: out, stderr: errors.join('') };
    } finally {
      process.stderr.write = write;
    }
  }

  test('add sends Drone\'s JSON (the value from --data or @file) and never prints the value', async () => {
    const added = await secret(['add', 'acme/web', '--name', 'docker_password', '--data', 'hunter2', '--allow-pull-request']);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout, 'added secret docker_password to acme/web\n');
    assert.deepEqual(JSON.parse(seen.at(-1)!.body), { name: 'docker_password', data: 'hunter2', pull_request: true });
    assert.equal(seen.at(-1)!.authorization, 'Bearer secret-token');
    await writeFile(join(dir, 'key.pem'), 'PRIVATE KEY\n');
    assert.equal((await secret(['add', 'acme/web', '--name', 'ssh_key', '--data', `@${join(dir, 'key.pem')}`])).code, 0);
    assert.deepEqual(JSON.parse(seen.at(-1)!.body), { name: 'ssh_key', data: 'PRIVATE KEY\n', pull_request: false });
  });

  test('ls lists names, never values; rm removes by name', async () => {
    const listed = await secret(['ls', 'acme/web']);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, /^NAME +PULL REQUESTS\ndocker_password +allowed\nssh_key +withheld\n$/);
    assert.doesNotMatch(listed.stdout, /hunter2/);
    const removed = await secret(['rm', 'acme/web', '--name', 'ssh_key']);
    assert.equal(removed.code, 0);
    assert.equal(seen.at(-1)!.method, 'DELETE');
    assert.equal(seen.at(-1)!.url, '/api/repos/acme/web/secrets/ssh_key');
    const again = await secret(['rm', 'acme/web', 'ssh_key']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /secret not found \(404\)/);
  });

  test('bad command lines exit 2 and say what is missing; a refused token exits 1', async () => {
    const noData = await secret(['add', 'acme/web', '--name', 'x']);
    assert.equal(noData.code, 2);
    assert.match(noData.stderr, /--data/);
    const noName = await secret(['add', 'acme/web', '--data', 'v']);
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /--name/);
    assert.equal((await secret(['ls', 'acme'])).code, 2);
    const missingFile = await secret(['add', 'acme/web', '--name', 'x', '--data', '@/nonexistent/file']);
    assert.equal(missingFile.code, 2);
    assert.match(missingFile.stderr, /ENOENT/);
    const refused = await secret(['ls', 'acme/web'], 'wrong');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused: invalid token/);
  });
});
