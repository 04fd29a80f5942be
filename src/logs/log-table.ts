import { bigint, index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Step output, append-only and ordered by byte offset. Log lines are not events (they
 * would swamp the log); what matters for audit — a step's log size and sha256 — is in its
 * `StepFinished`, so pruning chunks later still leaves proof of what ran.
 */
export const logChunks = pgTable(
  'log_chunks',
  {
    buildId: uuid('build_id').notNull(),
    stage: integer('stage').notNull(),
    step: integer('step').notNull(),
    /** Byte offset of this chunk in the step's stored log (UTF-8). */
    offset: bigint('offset', { mode: 'number' }).notNull(),
    /** Bytes in `data` (UTF-8). */
    size: integer('size').notNull(),
    data: text('data').notNull(),
    created: timestamp('created', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'log_chunks_pk', columns: [table.buildId, table.stage, table.step, table.offset] }),
    index('log_chunks_created_idx').on(table.created),
  ],
);
