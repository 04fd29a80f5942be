/**
 * Webhook intake: requests/s of signed GitHub push webhooks to `POST /hook` that each create
 * a build (answered 201), next to `GET /healthz` on the same server in the same run (the HTTP + database
 * floor), and their ratio. The body is @octokit/webhooks-examples' branch push, signed with
 * the repo's webhook secret (X-Hub-Signature-256); the repo's forge is a fake GitHub API on
 * loopback (as test/forge/hook.int.test.ts has it) answering the contents API with the
 * `.drone.yml`, the compare API with the changed files, and taking the commit statuses the
 * server reports back. Each hook pays for: the repo row, the HMAC check, those forge reads
 * (the config once, cached by sha), the build's events; status posts run beside. Postgres when
 * RUNLOG_TEST_DATABASE_URL is set, else an in-memory PGlite; no runner, so builds stay queued
 * and only intake is measured. autocannon, 10 connections, 5 s each.
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { sql } from 'drizzle-orm';
import { openPglite, openPostgres } from '../src/events/database.ts';
import { signBody } from '../src/forge/hook-signature.ts';
import { startServer } from '../src/server/runtime.ts';
import { dropDatabase, freshDatabaseUrl } from '../test/support/postgres.ts';

const TOKEN = 'bench-intake-token';
const SECRET = 'bench-intake-webhook-secret-0123456789';
const PIPELINE = 'kind: pipeline\ntype: exec\nname: default\nclone:\n  disable: true\nsteps:\n- name: a\n  commands: [true]\n';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples/api.github.com/index.json') as { name: string; examples: unknown[] }[];
/** A push to refs/heads/master of Codertocat/Hello-World (the one the hook tests build from). */
const PUSH = JSON.stringify(examples.find((e) => e.name === 'push')!.examples[4]);

function measure(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon({ connections: 10, duration: 5, ...options }, (error: Error | null, result: autocannon.Result) => (error ? reject(error) : resolve(result))));
}

/** GitHub's contents, compare and statuses APIs, as much of them as a push and its build need. */
async function fakeGithub() {
  let calls = 0;
  let statuses = 0;
  const server = createServer((request, response) => {
    const path = request.url ?? '';
    // The server reports each build's status back (commit-status.ts): taken, as GitHub would, and counted apart.
    if (request.method === 'POST' && path.includes('/statuses/')) {
      statuses += 1;
      return response.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    }
    calls += 1;
    if (path.includes('/contents/.drone.yml')) return response.writeHead(200, { 'content-type': 'text/plain' }).end(PIPELINE);
    if (path.includes('/compare/')) return response.writeHead(200, { 'content-type': 'application/json' }).end('{"files":[{"filename":"README.md"}]}');
    response.writeHead(404).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => calls,
    statuses: () => statuses,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function run(): Promise<void> {
  const url = process.env.RUNLOG_TEST_DATABASE_URL ? await freshDatabaseUrl('runlog_bench_intake') : undefined;
  const database = url ? await openPostgres(url) : await openPglite();
  const forge = await fakeGithub();
  const server = await startServer({ database, adminToken: TOKEN, port: 0, hostname: '127.0.0.1', log: () => {} });
  try {
    const activated = await fetch(`${server.url}/api/repos/Codertocat/Hello-World`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ webhook_secret: SECRET, forge: 'github', forge_url: forge.url, forge_token: 'bench-forge-token' }),
    });
    if (!activated.ok) throw new Error(`activating the repo: ${activated.status} ${await activated.text()}`);
    const headers = { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signBody('github', PUSH, SECRET) };
    // One by hand first: the bench measures builds made, not refusals.
    const first = await fetch(`${server.url}/hook`, { method: 'POST', headers, body: PUSH });
    const answer = (await first.json()) as { message: string; build?: { status: string } };
    if (first.status !== 201 || answer.build?.status !== 'pending') throw new Error(`the push made no build: ${first.status} ${answer.message}`);

    const builds = async () => Number((await database.query<{ n: string }>(sql`select count(*) as n from events where type = 'BuildCreated'`))[0]!.n);
    const health = await measure({ url: `${server.url}/healthz` });
    const before = await builds();
    const hooks = await measure({ url: `${server.url}/hook`, method: 'POST', headers, body: PUSH });
    const made = (await builds()) - before;
    const healthRate = health.requests.average;
    const hookRate = hooks.requests.average;
    const failed = hooks.non2xx + hooks.errors;
    console.log(`  database                   ${database.kind}`);
    console.log(`  GET /healthz               ${healthRate.toFixed(0).padStart(7)} req/s  p99 ${health.latency.p99} ms`);
    console.log(
      `  POST /hook (signed push)   ${hookRate.toFixed(0).padStart(7)} req/s  p99 ${hooks.latency.p99} ms  (${(hookRate / healthRate).toFixed(2)} of /healthz; ${made} builds made${failed ? `, ${failed} not 2xx` : ''}; config/compare reads ${forge.calls()}, status posts ${forge.statuses()})`,
    );
  } finally {
    await server.close();
    await forge.close();
    if (url) await dropDatabase(url);
  }
}
