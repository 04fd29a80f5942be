/**
 * Webhook intake: requests/s that create a build, next to `GET /healthz` on the same server
 * in the same run (the HTTP + database floor), and their ratio. Until `POST /hook` lands the
 * intake is the API's build-creating route (`POST /api/repos/{o}/{n}/builds`, one event
 * append + read-after-write per request); switching is the `intake` object below. Postgres
 * when RUNLOG_TEST_DATABASE_URL is set, else an in-memory PGlite; no runner, so builds stay
 * queued and only intake is measured. autocannon, 10 connections, 5 s each.
 */
import autocannon from 'autocannon';
import { openPglite, openPostgres } from '../src/events/database.ts';
import { startServer } from '../src/server/runtime.ts';
import { dropDatabase, freshDatabaseUrl } from '../test/support/postgres.ts';

const TOKEN = 'bench-intake-token';
const PIPELINE = 'kind: pipeline\ntype: exec\nname: default\nclone:\n  disable: true\nsteps:\n- name: a\n  commands: [true]\n';

function measure(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon({ connections: 10, duration: 5, ...options }, (error: Error | null, result: autocannon.Result) => (error ? reject(error) : resolve(result))));
}

export async function run(): Promise<void> {
  const url = process.env.RUNLOG_TEST_DATABASE_URL ? await freshDatabaseUrl('runlog_bench_intake') : undefined;
  const database = url ? await openPostgres(url) : await openPglite();
  const server = await startServer({ database, adminToken: TOKEN, port: 0, hostname: '127.0.0.1', log: () => {} });
  try {
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    await fetch(`${server.url}/api/repos/acme/web`, { method: 'POST', headers, body: '{}' });
    const intake = { method: 'POST' as const, path: '/api/repos/acme/web/builds', headers, body: JSON.stringify({ config: PIPELINE }), ok: 200 };
    const health = await measure({ url: `${server.url}/healthz` });
    const hooks = await measure({ url: `${server.url}${intake.path}`, method: intake.method, headers: intake.headers, body: intake.body });
    const healthRate = health.requests.average;
    const hookRate = hooks.requests.average;
    const failed = hooks.non2xx + hooks.errors;
    console.log(`  database                                ${database.kind}`);
    console.log(`  GET /healthz                            ${healthRate.toFixed(0).padStart(7)} req/s  p99 ${health.latency.p99} ms`);
    console.log(`  ${intake.method} ${intake.path.padEnd(35)} ${hookRate.toFixed(0).padStart(7)} req/s  p99 ${hooks.latency.p99} ms  (${(hookRate / healthRate).toFixed(2)} of /healthz${failed ? `, ${failed} not ${intake.ok}` : ''})`);
  } finally {
    await server.close();
    if (url) await dropDatabase(url);
  }
}
