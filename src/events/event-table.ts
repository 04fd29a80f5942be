// The tables of the event log, as drizzle sees them. drizzle-kit generates the migrations in
// drizzle/ from this file; the store reads and writes through these definitions.
import { sql } from 'drizzle-orm';
import { bigint, bigserial, check, customType, index, integer, jsonb, pgTable, text, timestamp, unique } from 'drizzle-orm/pg-core';

/**
 * Postgres `xid8`: a 64-bit transaction id that never wraps. Carried as a decimal string in
 * TypeScript because it does not fit a JS number and bigint does not survive JSON.
 */
export const xid8 = customType<{ data: string; driverData: string | number | bigint }>({
  dataType: () => 'xid8',
  fromDriver: (value) => String(value),
  toDriver: (value) => value,
});

export const events = pgTable(
  'events',
  {
    // Taken at insert time, so it is NOT commit order; readers order by
    // (transaction_id, global_position) and only below the snapshot's xmin.
    globalPosition: bigserial('global_position', { mode: 'bigint' }).primaryKey(),
    transactionId: xid8('transaction_id').notNull().default(sql`pg_current_xact_id()`),
    streamId: text('stream_id').notNull(),
    streamVersion: integer('stream_version').notNull(),
    type: text('type').notNull(),
    data: jsonb('data').notNull(),
    metadata: jsonb('metadata').notNull().default({}),
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (table) => [
    check('events_stream_version_positive', sql`${table.streamVersion} > 0`),
    // The optimistic-concurrency guard of last resort: two writers can never both own a version.
    unique('events_stream_version_unique').on(table.streamId, table.streamVersion),
    // The catch-up cursor: keyset reads walk this index.
    index('events_transaction_position_idx').on(table.transactionId, table.globalPosition),
  ],
);

/**
 * Where each follower of the log (projections, dispatcher) has got to. A checkpoint is the
 * (transaction_id, global_position) pair of the last event applied; writers move it in the
 * same transaction as their effects. '0' / 0 means "nothing applied yet".
 */
export const checkpoints = pgTable('checkpoints', {
  name: text('name').primaryKey(),
  transactionId: xid8('transaction_id').notNull().default(sql`'0'::xid8`),
  globalPosition: bigint('global_position', { mode: 'bigint' }).notNull().default(sql`0`),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
