import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createExecEngine } from '../../src/runner/exec/engine.ts';
import { bareRepository, collector, engineContract, never, planStep, runAll, stageRun, stepOf } from './engine.contract.ts';

const root = mkdtempSync(join(tmpdir(), 'runlog-exec-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
const leftovers = async (runId: string) => (existsSync(join(root, runId)) ? [`folder ${join(root, runId)}`] : []);

engineContract({
  name: 'exec',
  engine: () => createExecEngine({ root, runner: 'exec-contract' }),
  image: '',
  leftovers: (run) => leftovers(run.runId),
  refusedStage: (run) => ({
    ...run,
    stage: { ...run.stage, services: [planStep({ name: 'db', kind: 'service', image: 'postgres' })] },
  }),
});

describe('exec engine', () => {
  it('refuses steps with an image and services, saying to use type: docker', async () => {
    const engine = createExecEngine({ root });
    const withImage = stageRun([{ name: 'build', image: 'golang:1.22', script: 'go build' }]);
    await assert.rejects(engine.setup(withImage, never), {
      message: 'exec pipelines run on the host: step build has image golang:1.22; use type: docker',
    });
    await assert.rejects(engine.runStep(withImage, stepOf(withImage, 'build'), () => {}, never), /use type: docker/);
    const withService = stageRun([{ name: 'a', script: 'true' }], { services: [{ name: 'redis', image: 'redis' }] });
    await assert.rejects(engine.setup(withService, never), /exec pipelines run on the host: service redis has image redis; use type: docker/);
    await engine.destroy(withImage);
    await engine.destroy(withService);
  });

  it('gives a step its own HOME and the host PATH, and nothing else of the runner\'s environment', async () => {
    process.env.RUNLOG_TEST_LEAK = 'leaked';
    const engine = createExecEngine({ root });
    const run = stageRun([{ name: 'env', script: 'echo "${RUNLOG_TEST_LEAK:-none}"\ncase "$HOME" in "$(dirname "$(dirname "$DRONE_WORKSPACE")")"/*) echo home-in-stage;; esac\ncommand -v sh >/dev/null && echo has-path' }]);
    await engine.setup(run, never);
    try {
      const [env] = await runAll(engine, run, ['env']);
      assert.equal(env.text, 'none\nhome-in-stage\nhas-path\n');
    } finally {
      delete process.env.RUNLOG_TEST_LEAK;
      await engine.destroy(run);
    }
  });

  it('sweep ends the processes and removes the folders a dropped engine left', async () => {
    const sweepRoot = mkdtempSync(join(tmpdir(), 'runlog-exec-sweep-'));
    const run = stageRun([{ name: 'hold', detach: true, script: 'echo up\nsleep 60' }]);
    const out = collector();
    {
      const lost = createExecEngine({ root: sweepRoot });
      await lost.setup(run, never);
      await lost.runStep(run, stepOf(run, 'hold'), out.output, never);
    }
    await out.waitFor('up');
    const sleeping = () => execFileSync('ps', ['-eo', 'pid,args']).toString().split('\n').filter((line) => line.includes(sweepRoot));
    assert.ok(sleeping().length > 0, 'the detached step runs');
    const removed = await createExecEngine({ root: sweepRoot }).sweep();
    assert.ok(removed.some((what) => what.startsWith('process group')), removed.join(', '));
    assert.equal(existsSync(join(sweepRoot, run.runId)), false);
    for (let i = 0; i < 20 && sleeping().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(sleeping(), []);
    rmSync(sweepRoot, { recursive: true, force: true });
  });

  describe('clone over HTTP with netrc credentials', () => {
    let repo: ReturnType<typeof bareRepository>;
    let server: Server;
    let url: string;
    before(async () => {
      repo = bareRepository();
      server = gitHttpServer(dirname(new URL(repo.url).pathname), { login: 'bot', password: 'hunter2' });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo.git`;
    });
    after(() => {
      server.close();
      repo.cleanup();
    });

    it('clones with the repo\'s netrc, and the password never reaches the log', async () => {
      const engine = createExecEngine({ root });
      const run = stageRun([{ name: 'clone', kind: 'clone' }, { name: 'look', script: 'cat a.txt\n[ -e "$HOME/.netrc" ] || echo no-netrc-for-steps' }]);
      run.clone = { url, commit: repo.second, ref: 'refs/heads/main', depth: 1, netrc: { machine: '127.0.0.1', login: 'bot', password: 'hunter2' } };
      await engine.setup(run, never);
      try {
        const [clone, look] = await runAll(engine, run, ['clone', 'look']);
        assert.equal(clone.exit.exitCode, 0, clone.text);
        assert.ok(!clone.text.includes('hunter2'));
        assert.equal(look.text, 'two\nno-netrc-for-steps\n');
      } finally {
        await engine.destroy(run);
      }
    });

    it('fails without credentials instead of waiting for a prompt', async () => {
      const engine = createExecEngine({ root });
      const run = stageRun([{ name: 'clone', kind: 'clone' }]);
      run.clone = { url, commit: repo.second, ref: 'refs/heads/main', depth: 1 };
      await engine.setup(run, never);
      try {
        const [clone] = await runAll(engine, run, ['clone']);
        assert.notEqual(clone.exit.exitCode, 0);
        assert.match(clone.text, /Authentication failed|could not read Username|401/);
      } finally {
        await engine.destroy(run);
      }
    });
  });
});

/** git's smart HTTP protocol through git-http-backend (CGI), behind Basic auth. */
function gitHttpServer(projectRoot: string, credentials: { login: string; password: string }): Server {
  const expected = `Basic ${Buffer.from(`${credentials.login}:${credentials.password}`).toString('base64')}`;
  const backend = join(execFileSync('git', ['--exec-path']).toString().trim(), 'git-http-backend');
  return createServer((request, response) => {
    if (request.headers.authorization !== expected) {
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
      return;
    }
    const target = new URL(request.url ?? '/', 'http://localhost');
    const cgi = spawn(backend, [], {
      env: {
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: target.pathname,
        QUERY_STRING: target.search.slice(1),
        REQUEST_METHOD: request.method ?? 'GET',
        CONTENT_TYPE: request.headers['content-type'] ?? '',
        REMOTE_USER: credentials.login,
        GIT_PROTOCOL: String(request.headers['git-protocol'] ?? ''),
        HTTP_CONTENT_ENCODING: String(request.headers['content-encoding'] ?? ''),
      },
    });
    request.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void response.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const [name, ...rest] = line.split(':');
        const value = rest.join(':').trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else response.setHeader(name, value);
      }
      response.writeHead(status);
      response.write(head.subarray(end + 4));
    });
    cgi.on('close', () => response.end());
  });
}
