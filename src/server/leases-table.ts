import { index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Live claims of stages (DESIGN.md "Dispatch"): one row per claimed stage, written with
 * the claim and pushed forward by the runner's heartbeats. Not events: a heartbeat every
 * few seconds would swamp the log; what matters for audit — a lease that lapsed — becomes
 * `StageLeaseExpired` when the reaper acts on it.
 */
export const leases = pgTable(
  'leases',
  {
    buildId: uuid('build_id').notNull(),
    stage: integer('stage').notNull(),
    attempt: integer('attempt').notNull(),
    leaseToken: text('lease_token').notNull(),
    runnerId: text('runner_id').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (table) => [primaryKey({ name: 'leases_pk', columns: [table.buildId, table.stage] }), index('leases_expires_at_idx').on(table.expiresAt)],
);
