// The place of a side-effect follower (system webhooks, commit statuses) in the log, stored in
// the `checkpoints` table under the follower's name. Unlike a projection's, it moves only
// after the batch's effects were sent (at least once), and a first start begins at the log's
// end rather than its beginning: a follower added to a server with history must not replay it
// to the outside world.
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import type { Checkpoint } from './checkpoint.ts';
import type { Database } from './database.ts';
import type { EventStore, StoredEvent } from './event-store.ts';
import { checkpoints } from './event-table.ts';

/**
 * Fixes where a first start begins — the log's end now — before the server takes requests,
 * so the first changes it sees (a repo enabled right after start) are sent, not skipped by a
 * follower that looked at the end a moment too late. A stored place is kept.
 */
export async function markFollowerStart(database: Database, store: EventStore, name: string): Promise<void> {
  const end = await store.lastCheckpoint();
  if (!end) return; // an empty log: the follower starts at its beginning anyway
  await database.query(sql`
    insert into ${checkpoints} (name, transaction_id, global_position, updated_at)
    values (${name}, ${end.transactionId}::xid8, ${end.globalPosition}::bigint, now())
    on conflict (name) do nothing`);
}

/** The stored place; null when none (the log was empty at `markFollowerStart`: start at its beginning). */
export async function readFollowerCheckpoint(database: Database, name: string): Promise<Checkpoint | null> {
  const [row] = await database.query<{ tx: string; pos: string }>(
    sql`select transaction_id::text as tx, global_position::text as pos from ${checkpoints} where name = ${name}`,
  );
  return row ? { transactionId: row.tx, globalPosition: row.pos } : null;
}

export async function writeFollowerCheckpoint(database: Database, name: string, checkpoint: Checkpoint): Promise<void> {
  await database.query(sql`
    insert into ${checkpoints} (name, transaction_id, global_position, updated_at)
    values (${name}, ${checkpoint.transactionId}::xid8, ${checkpoint.globalPosition}::bigint, now())
    on conflict (name) do update set transaction_id = excluded.transaction_id, global_position = excluded.global_position, updated_at = now()`);
}

export interface FollowerOptions {
  readonly name: string;
  readonly signal: AbortSignal;
  readonly pollIntervalMs?: number;
  /** Acts on a batch; moves the place itself (`writeFollowerCheckpoint`) once the effects happened. */
  readonly onBatch: (batch: readonly StoredEvent[], checkpoint: Checkpoint) => Promise<void>;
  /** A failed batch or read: reported, then following starts again from the stored place after 1 s. */
  readonly onError: (error: unknown) => void;
}

/** Follows the log from the follower's stored place until `signal` aborts, surviving failures. */
export async function runFollower(database: Database, store: EventStore, options: FollowerOptions): Promise<void> {
  const { signal } = options;
  while (!signal.aborted) {
    try {
      await store.follow({
        after: await readFollowerCheckpoint(database, options.name),
        signal,
        ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
        onBatch: options.onBatch,
      });
    } catch (error) {
      if (signal.aborted) break;
      options.onError(error);
      await sleep(1000, undefined, { signal }).catch(() => {});
    }
  }
}
