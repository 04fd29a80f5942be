import { integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** A stage a runner holds, as its last report said. */
export type RunnerStage = { buildId: string; stage: number; attempt: number };
/** A workspace a runner keeps for a restart from a step, until `expiresAt`. */
export type KeptWorkspace = { key: string; buildId: string; stage: number; expiresAt: string };

/**
 * The runners the server has heard from (`GET /api/runners`): one row per runner id,
 * replaced by each report (a runner's periodic report over the RPC, the embedded runner's
 * own, a claim touching `lastSeen`). Not events and not a projection: like `leases`, it
 * is live state — what a runner is and holds right now — and a report every few seconds
 * has no place in the audit log. `workspaces` is also where a restart looks for the
 * runner that keeps a failed stage's workspace.
 */
export const runners = pgTable('runners', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  os: text('os').notNull(),
  arch: text('arch').notNull(),
  variant: text('variant').notNull().default(''),
  kernel: text('kernel').notNull().default(''),
  /** 'docker' | 'exec' */
  engine: text('engine').notNull(),
  labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
  capacity: integer('capacity').notNull(),
  stages: jsonb('stages').$type<RunnerStage[]>().notNull().default([]),
  workspaces: jsonb('workspaces').$type<KeptWorkspace[]>().notNull().default([]),
  version: text('version').notNull().default(''),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
  lastSeen: timestamp('last_seen', { withTimezone: true, mode: 'date' }).notNull(),
});
