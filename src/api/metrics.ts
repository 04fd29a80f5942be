// `GET /metrics` in Prometheus' text format (version 0.0.4), read from the views at scrape
// time: builds by status, queued stages, stage durations, runners holding stages, and the
// HTTP requests this process answered. Needs the admin token (Prometheus: `authorization`).
import { sql } from 'drizzle-orm';
import type { Database } from '../events/database.ts';
import type { HttpCounters } from './request-log.ts';

const BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export async function renderMetrics(database: Database, counters: HttpCounters): Promise<string> {
  const [statuses, [queue], durations, [runners]] = await Promise.all([
    database.query<{ status: string; n: string }>(sql`select status, count(*)::text as n from builds group by status order by status`),
    database.query<{ n: string }>(sql`select count(*)::text as n from queue`),
    database.query<{ seconds: string }>(sql`select extract(epoch from (stopped - started))::float8::text as seconds from stages where started is not null and stopped is not null`),
    database.query<{ n: string }>(sql`select count(distinct runner_id)::text as n from leases where expires_at > now()`),
  ]);
  const lines: string[] = [];
  const family = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

  family('runlog_builds', 'gauge', 'Builds by status.');
  for (const row of statuses) lines.push(`runlog_builds{status="${label(row.status)}"} ${Number(row.n)}`);
  family('runlog_queue_depth', 'gauge', 'Stages queued and ready, waiting for a runner.');
  lines.push(`runlog_queue_depth ${Number(queue?.n ?? 0)}`);
  family('runlog_stage_duration_seconds', 'histogram', 'How long finished stages ran.');
  const seconds = durations.map((row) => Number(row.seconds)).filter((value) => Number.isFinite(value));
  for (const bound of BUCKETS) lines.push(`runlog_stage_duration_seconds_bucket{le="${bound}"} ${seconds.filter((value) => value <= bound).length}`);
  lines.push(`runlog_stage_duration_seconds_bucket{le="+Inf"} ${seconds.length}`);
  lines.push(`runlog_stage_duration_seconds_sum ${seconds.reduce((sum, value) => sum + value, 0)}`);
  lines.push(`runlog_stage_duration_seconds_count ${seconds.length}`);
  family('runlog_runners', 'gauge', 'Runners holding a live lease on a stage.');
  lines.push(`runlog_runners ${Number(runners?.n ?? 0)}`);
  family('runlog_http_requests_total', 'counter', 'HTTP requests answered by this process, by route pattern, method and status.');
  for (const [key, count] of [...counters].sort()) {
    const [route, method, status] = key.split('\u0000');
    lines.push(`runlog_http_requests_total{route="${label(route!)}",method="${method}",status="${status}"} ${count}`);
  }
  return `${lines.join('\n')}\n`;
}
