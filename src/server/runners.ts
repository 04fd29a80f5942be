import { desc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../events/database.ts';
import type { RunnerRef } from '../events/build-events.ts';
import type { RunnerReport } from '../rpc/protocol.ts';
import { runners } from './runners-table.ts';

/**
 * The `runners` table's writes and reads: a runner's report replaces its row; a claim only
 * moves `lastSeen` (a runner that claims is alive even between reports).
 */
export async function recordRunnerReport(database: Executor, report: RunnerReport, now: Date): Promise<void> {
  const row = {
    id: report.runner.id,
    name: report.runner.name,
    os: report.platform.os,
    arch: report.platform.arch,
    variant: report.platform.variant,
    kernel: report.platform.kernel,
    engine: report.engine,
    labels: report.labels,
    capacity: report.capacity,
    stages: report.stages,
    workspaces: report.workspaces,
    version: report.version,
    startedAt: new Date(report.startedAt),
    lastSeen: now,
  };
  const { id, ...set } = row;
  await database.db.insert(runners).values(row).onConflictDoUpdate({ target: runners.id, set });
}

export async function touchRunner(database: Executor, runner: RunnerRef, now: Date): Promise<void> {
  await database.db.update(runners).set({ lastSeen: now }).where(eq(runners.id, runner.id));
}

export const listRunners = (database: Executor) => database.db.select().from(runners).orderBy(desc(runners.lastSeen));

/**
 * The runner that keeps the workspace of `buildId`'s stage `stage`, and its key, by the
 * runners' last reports; undefined when none does (expired, runner gone or restarted).
 * A runner not seen for `staleAfterMs` is taken for gone.
 */
export async function findKeptWorkspace(
  database: Executor,
  where: { buildId: string; stage: number },
  now: Date,
  staleAfterMs = 120_000,
): Promise<{ runner: RunnerRef; key: string } | undefined> {
  const match = JSON.stringify([{ buildId: where.buildId, stage: where.stage }]);
  const rows = await database.db
    .select()
    .from(runners)
    .where(sql`${runners.workspaces} @> ${match}::jsonb and ${runners.lastSeen} > ${new Date(now.getTime() - staleAfterMs).toISOString()}::timestamptz`)
    .orderBy(desc(runners.lastSeen));
  for (const row of rows) {
    const kept = row.workspaces.find((w) => w.buildId === where.buildId && w.stage === where.stage && Date.parse(w.expiresAt) > now.getTime());
    if (kept) return { runner: { id: row.id, name: row.name }, key: kept.key };
  }
  return undefined;
}

/** A row as `GET /api/runners` shows it (snake_case, like Drone's API). */
export function runnerJson(row: typeof runners.$inferSelect, now: Date) {
  return {
    id: row.id,
    name: row.name,
    platform: { os: row.os, arch: row.arch, variant: row.variant, kernel: row.kernel },
    engine: row.engine,
    labels: row.labels,
    capacity: row.capacity,
    stages: row.stages.map((s) => ({ build_id: s.buildId, stage: s.stage, attempt: s.attempt })),
    workspaces: row.workspaces
      .filter((w) => Date.parse(w.expiresAt) > now.getTime())
      .map((w) => ({ key: w.key, build_id: w.buildId, stage: w.stage, expires_at: Math.floor(Date.parse(w.expiresAt) / 1000) })),
    version: row.version,
    started: Math.floor(row.startedAt.getTime() / 1000),
    last_seen: Math.floor(row.lastSeen.getTime() / 1000),
  };
}
